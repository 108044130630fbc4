"""Lockout after repeated failed sign-ins: per user name and per real client address.

Every way of giving a password goes through Django's ``authenticate()`` (the sign-in page, the
admin's, and the token endpoint's HTTP Basic), so the portal's backend
(``portal.authentication.RememberingModelBackend``) refuses a locked name or address before any
password is checked, and the ``user_login_failed`` signal counts failures wherever they happen.
The forms and the token endpoint ask first, to say *why* (a locked account is told so, with
when to try again; a wrong password is not).

The client address is the direct peer's, unless that peer is one of the configured trusted
proxies (``PORTAL_TRUSTED_PROXIES``): only then does ``X-Forwarded-For`` say who is behind it.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext

from portal.audit import audit_record
from portal.models import SignInFailures


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False)
               for net in settings.PORTAL_TRUSTED_PROXIES)  # fmt: skip


def client_address(request: HttpRequest | Any) -> str:
    """Who is really asking: the peer, or what trusted proxies in front of it say.

    ``X-Forwarded-For`` is read right to left, skipping the trusted proxies that appended to
    it; the first address that is not one of them is the client. A header sent by anyone else
    is ignored: it costs nothing to fake.
    """
    meta = getattr(request, "META", {})
    peer = meta.get("REMOTE_ADDR", "") or "unknown"
    if not _trusted(peer):
        return peer
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            return hop
    return peer


def _keys(username: str, request: Any) -> dict[str, int]:
    """Counter key -> failures that lock it."""
    keys = {f"addr:{client_address(request)}": settings.PORTAL_LOCKOUT_ADDRESS_FAILURES}
    if username:
        keys[f"user:{username.strip().lower()[:150]}"] = settings.PORTAL_LOCKOUT_USER_FAILURES
    return keys


def locked_until(username: str, request: Any) -> datetime | None:
    """When the lock on this name or address ends; None if neither is locked."""
    now = timezone.now()
    found = (
        SignInFailures.objects.filter(key__in=list(_keys(username, request)), locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    return found


def lock_message(until: datetime) -> str:
    minutes = max(math.ceil((until - timezone.now()).total_seconds() / 60), 1)
    return ngettext(
        "Too many failed sign-ins for this account or from this address. Try again in "
        "%(minutes)d minute, or ask an operator.",
        "Too many failed sign-ins for this account or from this address. Try again in "
        "%(minutes)d minutes, or ask an operator.",
        minutes,
    ) % {"minutes": minutes}


def failure_record(username: str, request: Any) -> None:
    """Count a failed sign-in against the name and the address; lock what reached its limit."""
    if request is None or locked_until(username, request) is not None:
        return  # already locked: tries while locked neither count nor lengthen the lock
    now = timezone.now()
    window = timedelta(seconds=settings.PORTAL_LOCKOUT_WINDOW_SECONDS)
    for key, limit in _keys(username, request).items():
        with transaction.atomic():
            row = _locked_row(key, now)
            if now - row.window_started_at > window:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            if row.failures >= limit:
                row.locked_until = now + timedelta(seconds=settings.PORTAL_LOCKOUT_SECONDS)
                audit_record(
                    actor=None, action="auth.lockout", object_type="sign-in", object_id=key,
                    object_repr=key,
                    after={"failures": row.failures, "until": row.locked_until.isoformat()},
                )  # fmt: skip
            row.save()


def _locked_row(key: str, now: datetime) -> SignInFailures:
    row = SignInFailures.objects.select_for_update(of=("self",)).filter(key=key).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return SignInFailures.objects.create(key=key, window_started_at=now)
    except IntegrityError:  # created by a concurrent failure meanwhile
        return SignInFailures.objects.select_for_update(of=("self",)).get(key=key)


def success_record(username: str) -> None:
    """A right password clears the name's count (the address keeps its own)."""
    SignInFailures.objects.filter(key=f"user:{username.strip().lower()[:150]}").delete()


class _SaysWhenLocked:
    """A sign-in form that says so when the account or the address is locked."""

    def clean(self) -> dict[str, Any]:
        until = locked_until(self.data.get("username", ""), self.request)
        if until is not None:
            raise ValidationError(lock_message(until), code="locked")
        return super().clean()


class LockoutAuthenticationForm(_SaysWhenLocked, AuthenticationForm):
    """The portal's sign-in form."""


class LockoutAdminAuthenticationForm(_SaysWhenLocked, AdminAuthenticationForm):
    """The admin's sign-in form."""


def on_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    failure_record(str(credentials.get("username", "")), request)


def on_logged_in(sender, request, user, **kwargs) -> None:
    success_record(user.get_username())
