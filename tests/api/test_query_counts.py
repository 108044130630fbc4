"""List endpoints cost the same number of queries for 10 rows as for 100."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.audit import audit_record
from provisioning.models import ResourceRequest
from tests.api.conftest import make_server
from tests.factories import NetworkFactory

pytestmark = pytest.mark.django_db


def _fill(shop, start: int, count: int) -> None:
    for i in range(start, start + count):
        network = NetworkFactory(
            allocation=shop.low, name=f"n{i}", cidr=f"10.{i % 250}.{i // 250}.0/24"
        )
        server = make_server(shop.low, f"s{i}")
        server.networks.add(network)
        audit_record(
            actor=shop.requester,
            action="test.fill",
            object_repr=f"e{i}",
            tenant=shop.tenant,
            region=shop.low.region,
        )
        ResourceRequest.objects.create(
            kind="network",
            allocation=shop.low,
            requester=shop.requester,
            justification="Filling the list for the query count.",
            spec={"name": f"r{i}", "cidr": "10.0.0.0/24"},
            pending_stage="tenant",
        )


def _queries(client_for, user, url: str) -> int:
    # A fresh user object each time: the access layer caches permission lookups on it.
    client = client_for(get_user_model().objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 500})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("url", "who"),
    [
        ("/api/v1/requests/", "requester"),
        ("/api/v1/servers/", "requester"),
        ("/api/v1/networks/", "requester"),
        ("/api/v1/approvals/", "approver"),
        ("/api/v1/audit-events/", "requester"),
    ],
)
def test_list_query_count_is_constant(shop, client_for, url, who):
    user = getattr(shop, who)
    _fill(shop, 100, 10)
    few = _queries(client_for, user, url)
    _fill(shop, 200, 100)
    many = _queries(client_for, user, url)
    assert many == few, f"{url}: {few} queries for 10 rows, {many} for 110"
    assert len(client_for(user).get(url, {"page_size": 500}).json()["results"]) >= 100
