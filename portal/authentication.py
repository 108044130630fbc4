"""API authentication by personal token: ``Authorization: Bearer <token>`` (or ``Token``)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from rest_framework import authentication, exceptions

from portal.models import ApiToken
from portal.tokens import hash_secret, token_touch

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
                "Malformed Authorization header: send 'Authorization: Bearer <token>'."
            )
        try:
            secret = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = (
            ApiToken.objects.select_related("owner").filter(key_hash=hash_secret(secret)).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"Token {token.prefix}… was revoked on {_when(token.revoked_at)}; "
                "create a new one at /account/tokens/."
            )
        if token.expires_at is not None and token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                f"Token {token.prefix}… expired on {_when(token.expires_at)}; "
                "create a new one at /account/tokens/."
            )
        if not token.owner.is_active:
            raise exceptions.AuthenticationFailed("The owner of this token is disabled.")
        token_touch(token)
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i e")


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
        return super().authenticate(request)
