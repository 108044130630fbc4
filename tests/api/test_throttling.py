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
