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


class PortalUserRateThrottle(_LiveRates, throttling.UserRateThrottle):
    """Per user (token or session), shared by every endpoint."""


class PortalAnonRateThrottle(_LiveRates, throttling.AnonRateThrottle):
    """Per address, for callers not signed in (the schema, failed credentials)."""


class CredentialsRateThrottle(_LiveRates, throttling.SimpleRateThrottle):
    """Per address, on exchanging a password for a token: slows down password guessing."""

    scope = "credentials"

    def get_cache_key(self, request, view) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
