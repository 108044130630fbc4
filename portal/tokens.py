"""Personal API tokens: creating and revoking them, and finding the one a request presents.

The secret is ``ptk_`` followed by 40 URL-safe random characters. Only its sha256 is stored:
a copy of the database does not hand out working tokens. Looking a token up by hash is an
equality match on a unique index, so no per-request password hashing is needed (the secret has
240 bits of entropy; a slow hash protects low-entropy passwords, not random keys).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.models import ApiToken

TOKEN_PREFIX = "ptk_"
SHOWN_PREFIX_LENGTH = 12
MAX_TOKEN_DAYS = 365
#: last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *, user, name: str, expires_at: datetime | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it with its secret, which is never shown again."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Name the token after what will use it, e.g. 'ci-pipeline'.")]
    elif len(name) > 100:
        errors["name"] = [_("At most 100 characters.")]
    if expires_at is not None:
        now = timezone.now()
        if expires_at <= now:
            errors["expires_at"] = [_("The expiry must be in the future.")]
        elif expires_at > now + timedelta(days=MAX_TOKEN_DAYS):
            errors["expires_at"] = [
                _("A token can last at most %(days)d days.") % {"days": MAX_TOKEN_DAYS}
            ]
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
    with transaction.atomic():
        token = ApiToken.objects.create(
            owner=user,
            name=name,
            prefix=secret[:SHOWN_PREFIX_LENGTH],
            key_hash=hash_secret(secret),
            expires_at=expires_at,
            read_only=read_only,
        )
        audit_record(
            actor=user,
            action="token.create",
            obj=token,
            after={"name": name, "read_only": read_only, "expires_at": expires_at},
        )
    return token, secret


def token_revoke(*, user, token: ApiToken) -> ApiToken:
    """Revoke one of ``user``'s own tokens; revoking twice is harmless."""
    if token.owner_id != user.pk:
        # Callers look tokens up among the user's own; this guards a caller that did not.
        raise ValidationError(_("Only the owner of a token can revoke it."))
    with transaction.atomic():
        token = ApiToken.objects.select_for_update(of=("self",), no_key=True).get(pk=token.pk)
        if token.revoked_at is None:
            _revoke(token, actor=user, after={"name": token.name})
    return token


def _revoke(token: ApiToken, *, actor, after: dict) -> None:
    """Revoke a live token the caller holds locked, and audit who did it."""
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="token.revoke", obj=token, after=after)


def tokens_revoke_all(*, user, actor) -> list[str]:
    """Revoke every live token of ``user`` (leaving, disabled by the directory); returns their
    prefixes. Each is audited like a revocation by its owner, with who did it."""
    with transaction.atomic():
        tokens = list(
            ApiToken.objects.select_for_update(of=("self",), no_key=True)
            .filter(owner=user, revoked_at__isnull=True)
            .order_by("id")
        )
        for token in tokens:
            _revoke(token, actor=actor, after={"name": token.name, "owner": user.get_username()})
    return [token.prefix for token in tokens]


def tokens_of(user) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first: tokens are personal, even operators see only theirs."""
    return ApiToken.objects.filter(owner=user).order_by("-created_at", "-id")


#: When this process last wrote each token's ``last_used_at``: a token remembered between
#: requests (``portal.authentication``) carries the value it was read with.
_touched: dict[int, datetime] = {}


def token_touch(token: ApiToken) -> None:
    """Record use, at most once a minute, so a busy script does not write on every call."""
    now = timezone.now()
    last = max((t for t in (token.last_used_at, _touched.get(token.pk)) if t), default=None)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        _touched[token.pk] = now
