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
