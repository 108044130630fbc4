"""Rate limits that read their rates at request time, so settings overrides take effect.

DRF's throttles copy ``DEFAULT_THROTTLE_RATES`` into a class attribute at import; these look the
rate up in the live API settings instead (tests tighten them with ``settings``).
"""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings


class _LiveRates:
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request) -> str:
        # The real client (portal.lockout): X-Forwarded-For counts only from a trusted proxy.
        from portal.lockout import client_address

        return client_address(request)


class PortalUserRateThrottle(_LiveRates, throttling.UserRateThrottle):
    """Per user (token or session), shared by every endpoint.

    A token an operator gave a rate of its own (``ApiToken.rate_limit``: an automation account's
    pipeline) is counted on its own at that rate, apart from its owner's other calls.
    """

    def allow_request(self, request, view) -> bool:
        own = _own_rate_token(request)
        if own is not None:
            self.rate = own.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        own = _own_rate_token(request)
        if own is not None:
            return self.cache_format % {"scope": "token", "ident": own.pk}
        return super().get_cache_key(request, view)


def _own_rate_token(request):
    from portal.models import ApiToken

    token = getattr(request, "auth", None)
    return token if isinstance(token, ApiToken) and token.rate_limit else None


class PortalAnonRateThrottle(_LiveRates, throttling.AnonRateThrottle):
    """Per address, for callers not signed in (the schema, failed credentials)."""


class CredentialsRateThrottle(_LiveRates, throttling.SimpleRateThrottle):
    """Per address, on exchanging a password for a token: slows down password guessing."""

    scope = "credentials"

    def get_cache_key(self, request, view) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
