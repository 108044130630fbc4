"""Rate limits that count, and that read their rates at request time.

DRF's throttles copy ``DEFAULT_THROTTLE_RATES`` into a class attribute at import; these look the
rate up in the live API settings instead (tests tighten them with ``settings``).

DRF's throttles also keep a caller's history: one timestamp per request of the period, read,
changed and written back whole on every request. At a person's 1,200 a minute that is 10 kB a
request; at the 30,000 a minute an automation token may be given it is 270 kB, and concurrent
requests each write back the list they read, so some are never counted. These count instead
(``CountedWindowThrottle``): ten buckets a period, each an atomic counter in the cache, so a
request costs the same at any rate and none is lost.
"""

from __future__ import annotations

import math

from django.core.cache import cache as default_cache
from rest_framework import throttling
from rest_framework.settings import api_settings

#: Buckets a period is counted in: a request leaves the count up to a tenth of a period early.
BUCKETS = 10


class CountedWindowThrottle(throttling.SimpleRateThrottle):
    """``num_requests`` a ``duration``, counted in ``BUCKETS`` buckets of a tenth of it.

    A request first adds itself to its bucket (an atomic increment), then reads the nine before
    it: concurrent requests each see the others' increments, so together they never pass the
    limit. A refused request takes itself off again, so a caller that keeps asking while
    refused is let in as soon as the period allows. A bucket leaves the sum whole, a period
    after it began: a caller at its rate is never refused, and ``wait()`` is never more than
    the period. The price is that a bucket's requests leave up to a tenth of a period early, so
    a burst at the very end of one can be followed by as many again once it has left.
    """

    cache = default_cache

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        width = self.duration / BUCKETS
        self.bucket = math.floor(self.now / width)
        current = self._bucket_key(self.bucket)
        try:
            mine = self.cache.incr(current)
        except ValueError:  # the bucket's first request
            self.cache.add(current, 0, timeout=math.ceil(self.duration + width) + 1)
            mine = self.cache.incr(current)
        older = [self._bucket_key(self.bucket - back) for back in range(BUCKETS - 1, 0, -1)]
        found = self.cache.get_many(older)
        #: Oldest first, this request's bucket last (counting this request).
        self.counts = [int(found.get(key, 0)) for key in older] + [mine]
        if sum(self.counts) <= self.num_requests:
            return True
        self.counts[-1] -= 1
        self.cache.decr(current)
        return self.throttle_failure()

    def wait(self) -> float | None:
        """Seconds until the oldest buckets holding enough requests have left the period."""
        width = self.duration / BUCKETS
        excess = sum(self.counts) + 1 - self.num_requests
        for age, count in enumerate(self.counts):
            excess -= count
            if excess <= 0:
                leaves = (self.bucket - (BUCKETS - 1) + age + BUCKETS) * width
                return max(leaves - self.now, 0.0)
        return float(self.duration)

    def _bucket_key(self, bucket: int) -> str:
        return f"{self.key}:{self.duration}:{bucket}"


class _LiveRates:
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request) -> str:
        # The real client (portal.lockout): X-Forwarded-For counts only from a trusted proxy.
        from portal.lockout import client_address

        return client_address(request)


class PortalUserRateThrottle(_LiveRates, CountedWindowThrottle, throttling.UserRateThrottle):
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


class PortalAnonRateThrottle(_LiveRates, CountedWindowThrottle, throttling.AnonRateThrottle):
    """Per address, for callers not signed in (the schema, failed credentials)."""


class CredentialsRateThrottle(_LiveRates, CountedWindowThrottle):
    """Per address, on exchanging a password for a token: slows down password guessing."""

    scope = "credentials"

    def get_cache_key(self, request, view) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
