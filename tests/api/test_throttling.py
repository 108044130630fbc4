"""Rate limits: 429 with Retry-After in the one error shape, per user and per address."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "2/min", "credentials": "2/min"},
    }


def test_users_are_throttled_with_retry_after(shop, client_for, tight):
    client = client_for(shop.requester)
    for _ in range(3):
        assert client.get("/api/v1/sites/").status_code == 200
    response = client.get("/api/v1/allocations/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["code"] == "throttled" and body["fields"] == {}
    assert "throttled" in body["message"].lower()
    # Another user has their own budget.
    assert client_for(shop.approver).get("/api/v1/sites/").status_code == 200


def test_anonymous_callers_are_throttled_by_address(client, tight):
    for _ in range(2):
        assert client.get("/api/schema/?format=json").status_code in (200, 401, 403)
    response = client.get("/api/v1/not-a-thing/")
    assert response.status_code == 429
    assert response["Retry-After"]


def test_a_token_with_its_own_rate_is_counted_apart_at_that_rate(shop, tight):
    from rest_framework.test import APIClient

    from portal.models import ApiToken
    from portal.tokens import token_create
    from tests.api.conftest import make_token_client

    person = make_token_client(shop.requester)
    token, secret = token_create(user=shop.requester, name="pipeline")
    ApiToken.objects.filter(pk=token.pk).update(rate_limit="5/min")
    pipeline = APIClient()
    pipeline.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for _ in range(5):
        assert pipeline.get("/api/v1/sites/").status_code == 200
    assert pipeline.get("/api/v1/sites/").status_code == 429
    # The owner's own budget (3/min) was not spent by the pipeline's calls...
    for _ in range(3):
        assert person.get("/api/v1/sites/").status_code == 200
    assert person.get("/api/v1/sites/").status_code == 429
    # ...and the owner's token list shows the rate.
    from portal.api.tokens import TokenSerializer

    assert TokenSerializer(ApiToken.objects.get(pk=token.pk)).data["rate_limit"] == "5/min"


@pytest.mark.parametrize("rate", ["5/min", "30000/m", "500/s", "1000/day"])
def test_token_rates_are_validated(rate):
    from portal.models import validate_rate

    validate_rate(rate)
    for bad in ("5", "0/min", "5/fortnight", "-1/s", "5/min "):
        with pytest.raises(Exception, match="requests per period"):
            validate_rate(bad)


class _Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _throttle(rate: str, cache, clock: _Clock):
    """A counted throttle on one caller, with its own cache and clock."""
    from portal.api.throttling import CountedWindowThrottle

    class One(CountedWindowThrottle):
        def get_cache_key(self, request, view):
            return "throttle_test_one"

    One.rate, One.cache, One.timer = rate, cache, staticmethod(clock)
    return One


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    from tests.live import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("throttle-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["locmem", "redis"])
def own_cache(request):
    """The cache each throttle test counts in: a process's own, and a Redis as in production
    (its increments are atomic across processes)."""
    if request.param == "redis":
        from django.core.cache.backends.redis import RedisCache

        cache = RedisCache(request.getfixturevalue("private_redis").url, {"TIMEOUT": None})
    else:
        from django.core.cache.backends.locmem import LocMemCache

        cache = LocMemCache("throttle-tests", {"TIMEOUT": None})
    cache.clear()
    return cache


def test_a_period_is_counted_and_a_refused_request_is_not(own_cache):
    clock = _Clock(600.0)  # the start of a bucket (a minute's are 6 s wide)
    one = _throttle("3/min", own_cache, clock)
    assert [one().allow_request(None, None) for _ in range(3)] == [True] * 3
    clock.now += 30
    refused = one()
    for _ in range(5):  # asking while refused spends nothing
        assert refused.allow_request(None, None) is False
    assert refused.wait() == pytest.approx(30.0)
    clock.now += 29.9
    assert one().allow_request(None, None) is False
    clock.now += 0.1  # the bucket of the first three has left
    assert [one().allow_request(None, None) for _ in range(4)] == [True, True, True, False]


def test_the_wait_is_until_enough_of_the_oldest_buckets_have_left(own_cache):
    clock = _Clock(600.0)
    one = _throttle("4/min", own_cache, clock)
    one().allow_request(None, None)  # bucket 100, leaves at 660
    clock.now = 613.0
    for _ in range(3):  # bucket 102, leaves at 672
        assert one().allow_request(None, None)
    clock.now = 640.0
    refused = one()
    assert refused.allow_request(None, None) is False
    assert refused.wait() == pytest.approx(20.0)  # one request's room once bucket 100 leaves
    clock.now = 660.0
    assert one().allow_request(None, None) is True
    refused = one()
    assert refused.allow_request(None, None) is False
    assert refused.wait() == pytest.approx(12.0)


def test_a_caller_at_its_rate_is_never_refused_and_one_above_it_is_held_to_it(own_cache):
    clock = _Clock(1234.5)
    one = _throttle("10/min", own_cache, clock)
    for i in range(100):
        clock.now = 1234.5 + 6 * i
        assert one().allow_request(None, None), f"request {i} at the rate was refused"
    own_cache.clear()
    let_in = []
    for i in range(120):  # 12 a minute for ten minutes
        clock.now = 5000.0 + 5 * i
        if one().allow_request(None, None):
            let_in.append(clock.now)
    assert 95 <= len(let_in) < 120
    # The buckets counted always span the last nine tenths of a period at least.
    assert max(sum(1 for t in let_in if end - 54 < t <= end) for end in let_in) <= 10


def test_what_a_request_keeps_does_not_grow_with_the_rate(own_cache):
    """DRF's throttle kept one timestamp a request: 30,000 a minute were 270 kB a request."""
    clock = _Clock(600.0)
    one = _throttle("1000000/min", own_cache, clock)
    for i in range(3000):
        clock.now = 600.0 + i * 0.01
        assert one().allow_request(None, None)
    kept = own_cache.get_many([f"throttle_test_one:60:{b}" for b in range(90, 110)])
    assert len(kept) == 5  # 30 s of requests, in five buckets of 6 s
    assert all(type(count) is int for count in kept.values())
    assert sum(kept.values()) == 3000


def test_two_requests_that_read_at_once_never_both_take_the_last_place(own_cache):
    """Each request counts itself before it reads the others: of two that read at the same
    moment, one sees the other. A list read and written back whole (DRF's history) lets both
    in, each writing back the list it read."""
    import threading

    clock = _Clock(600.0)
    one = _throttle("50/min", own_cache, clock)
    assert all(one().allow_request(None, None) for _ in range(49))
    together = threading.Barrier(2, timeout=10)

    class ReadTogether:
        """The cache, where a read returns once the other request has read too."""

        def __getattr__(self, name):
            return getattr(own_cache, name)

        def get(self, *args, **kwargs):
            found = own_cache.get(*args, **kwargs)
            together.wait()
            return found

        def get_many(self, *args, **kwargs):
            found = own_cache.get_many(*args, **kwargs)
            together.wait()
            return found

    one.cache = ReadTogether()
    allowed: list[bool] = []
    threads = [
        threading.Thread(target=lambda: allowed.append(one().allow_request(None, None)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False, True]
    assert own_cache.get("throttle_test_one:60:100") == 50
