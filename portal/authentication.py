"""API authentication by personal token: ``Authorization: Bearer <token>`` (or ``Token``)."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from portal.models import ApiToken
from portal.tokens import hash_secret, token_touch
from tenants import access_memory

KEYWORDS = ("bearer", "token")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Finds the token by the hash of the presented secret and refuses it when it cannot serve.

    Messages say what to do next: a script's operator reads them in a CI log.
    """

    keyword = "Bearer"

    def authenticate(self, request) -> tuple[Any, Any] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header: send 'Authorization: Bearer <token>'.")
            )
        try:
            secret = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        key_hash = hash_secret(secret)
        generation = access_memory.generation()
        token = access_memory.recall(("token", key_hash), generation, lambda: _token(key_hash))
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _(
                    "Token %(prefix)s… was revoked on %(when)s; "
                    "create a new one at /account/tokens/."
                )
                % {"prefix": token.prefix, "when": _when(token.revoked_at)}
            )
        if token.expires_at is not None and token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                _("Token %(prefix)s… expired on %(when)s; create a new one at /account/tokens/.")
                % {"prefix": token.prefix, "when": _when(token.expires_at)}
            )
        if not token.owner.is_active:
            raise exceptions.AuthenticationFailed(_("The owner of this token is disabled."))
        token_touch(token)
        access_memory.remember_generation(token.owner, generation)
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def _token(key_hash: str) -> ApiToken | None:
    """The token with this hash and its owner, whose model permissions are read now so that a
    remembered owner answers ``has_perm`` without a query."""
    token = ApiToken.objects.select_related("owner").filter(key_hash=key_hash).first()
    if token is not None:
        token.owner.get_all_permissions()
    return token


class RememberingModelBackend(ModelBackend):
    """Django's model backend, whose signed-in user (and their model permissions) is remembered
    between requests until access changes anywhere (``tenants.access_memory``): a page no
    longer spends three queries on who is asking. Sessions still hold only the user's id.

    A user name or client address locked after failed sign-ins (``portal.lockout``) is refused
    before the password is checked, whichever form or endpoint gave it, and whichever backend
    would have checked it (this one comes first). With ``PORTAL_LOCAL_SIGN_IN`` off it checks
    no password itself.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        from portal.lockout import locked_until

        if request is not None and username and locked_until(username, request) is not None:
            raise PermissionDenied("locked")  # stops every other backend too
        if not settings.PORTAL_LOCAL_SIGN_IN:
            return None  # local accounts are off: only the directory's passwords count
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        from portal.sso.users import remembered_user

        return remembered_user(user_id)


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i e")


def _basic_username(parts: list[bytes]) -> str:
    """The user name of a ``Basic`` header ("" if it is malformed: DRF refuses it anyway)."""
    try:
        return base64.b64decode(parts[1]).decode().partition(":")[0] if len(parts) == 2 else ""
    except (ValueError, UnicodeDecodeError):
        return ""


class ThrottledBasicAuthentication(authentication.BasicAuthentication):
    """Username and password, only where a token is exchanged for them, rate-limited per address.

    The limit is checked before the password, so failed guesses count too (DRF's throttles run
    after authentication and would never see them).
    """

    def authenticate(self, request) -> tuple[Any, Any] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"basic":
            return None
        from portal.api.throttling import CredentialsRateThrottle

        throttle = CredentialsRateThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(throttle.wait())
        from portal.lockout import lock_message, locked_until

        try:
            username = (
                base64.b64decode(parts[1]).decode().partition(":")[0] if len(parts) == 2 else ""
            )
        except (ValueError, UnicodeDecodeError):
            username = ""
        until = locked_until(username, request)
        if until is not None:
            wait = (until - timezone.now()).total_seconds()
            raise exceptions.Throttled(wait, detail=lock_message(until))
        found = super().authenticate(request)
        from portal.two_factor import has_second_factor, second_factor_required

        if found is not None and (has_second_factor(found[0]) or second_factor_required(found[0])):
            # A password alone must not mint what a second factor protects.
            raise exceptions.AuthenticationFailed(
                _(
                    "Your account signs in with a second factor: create tokens in the browser, "
                    "under Keys & tokens."
                )
            )
        return found
