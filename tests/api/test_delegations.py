"""Out of office over the API: hand over, list, end; personal, refused at the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import Role
from tests.factories import make_user
from tests.provisioning import conftest as provisioning_fixtures

pytestmark = pytest.mark.django_db

#: The provisioning tests' small world, re-used as is.
shop = provisioning_fixtures.shop


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_hand_over_list_and_end(shop):
    vera = make_user("vera", memberships={shop.tenant: Role.REQUESTER}, domains=(shop.unclass,),
                     sites=(shop.site,))  # fmt: skip
    now = timezone.now()
    arno = _client(shop.approver)
    created = arno.post("/api/v1/delegations/", {
        "delegate": "vera", "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(), "reason": "Leave",
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["delegator"], body["delegate"], body["tenants"], body["in_effect"]) == (
        shop.approver.username, "vera", [shop.tenant.slug], True,
    )  # fmt: skip
    # The delegate sees it, and may not end it; a stranger does not see it.
    listed = _client(vera).get("/api/v1/delegations/").json()["results"]
    assert [d["id"] for d in listed] == [body["id"]]
    refused = _client(vera).post(f"/api/v1/delegations/{body['id']}/end/")
    assert refused.status_code == 403 and "Only the person" in refused.json()["message"]
    stranger = _client(make_user("sam"))
    assert stranger.get("/api/v1/delegations/").json()["results"] == []
    assert stranger.get(f"/api/v1/delegations/{body['id']}/").status_code == 404
    ended = arno.post(f"/api/v1/delegations/{body['id']}/end/")
    assert ended.status_code == 200
    assert ended.json()["in_effect"] is False and ended.json()["ended_at"]


def test_bad_hand_overs_answer_field_errors(shop):
    now = timezone.now()
    arno = _client(shop.approver)
    outsider = arno.post("/api/v1/delegations/", {
        "delegate": "nobody-here", "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    }, format="json")  # fmt: skip
    assert outsider.status_code == 400 and "delegate" in outsider.json()["fields"]
    backwards = arno.post("/api/v1/delegations/", {
        "delegate": shop.approver2.username, "starts_at": now.isoformat(),
        "ends_at": (now - timedelta(days=1)).isoformat(),
    }, format="json")  # fmt: skip
    assert backwards.status_code == 400 and "ends_at" in backwards.json()["fields"]
    missing = arno.post("/api/v1/delegations/", {}, format="json")
    assert set(missing.json()["fields"]) >= {"delegate", "starts_at", "ends_at"}
