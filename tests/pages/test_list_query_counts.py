"""Every list costs a fixed number of queries, whatever it holds: pinned at two sizes.

A new query on a list is a decision (a join that should have been a select_related, a count
that should have been capped); the pinned numbers make it one.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from provisioning.models import ResourceRequest, SecurityGroup, SecurityGroupRule, Volume
from tests.api.conftest import make_server
from tests.factories import NetworkFactory

pytestmark = pytest.mark.django_db

#: (url, who, queries): pages for a signed-in person, API lists for a token-less forced login.
#: The header's "do they decide anywhere?" (the Approvals entry) is one of them.
#: Counted with nothing remembered (a change of access is pending in each test's transaction):
#: the first request after a change. What a warm request costs is pinned in
#: tests/tenants/test_access_memory.py.
LISTS = [
    ("/servers/", "requester", 11),
    ("/servers/?sort=-created&status=active", "requester", 11),
    ("/networks/", "requester", 11),
    ("/security-groups/", "requester", 11),
    ("/volumes/", "requester", 11),
    ("/volumes/?sort=-size&status=in-use", "requester", 11),
    ("/requests/", "requester", 11),  # + the bounded count its filters' pager shows
    ("/requests/?state=approved&kind=server&sort=state&q=web", "requester", 10),
    # + the hand-overs the approver holds (out of office), the quota impact's usage (one), and
    # the cards' allocations with their places (one, for the page's few)
    ("/approvals/", "approver", 17),
    ("/allocations/", "requester", 11),
    ("/tenants/", "requester", 9),
    ("/regions/", "requester", 13),  # + the capacity in use per region (sums, regions)
    ("/api/v1/servers/", "requester", 9),
    ("/api/v1/networks/", "requester", 8),
    ("/api/v1/security-groups/", "requester", 9),
    ("/api/v1/volumes/", "requester", 8),
    # The rows' places are read for the page at once, and remembered (provisioning.listing):
    # one query on a first view, none after.
    ("/api/v1/requests/", "requester", 8),
    # + the user's model permissions (whether they are an operator), which a token's owner and
    # a session's user have read with them and remembered; a forced login does not.
    ("/api/v1/approvals/", "approver", 8),
    # The allocations read without their kept usage here are computed live: one statement.
    ("/api/v1/allocations/", "requester", 8),
]


def _fill(shop, n: int) -> None:
    for i in range(n):
        allocation = shop.low if i % 2 else shop.high
        server = make_server(allocation, f"q{i}-{ResourceRequest.objects.count()}")
        attached = {"server": server, "status": "in-use"} if i % 3 else {"status": "available"}
        Volume.objects.create(
            allocation=allocation, name=f"v{i}-{server.pk}", backend_id=f"vol-{server.pk}",
            tag="t", size_gb=10, **attached,
        )  # fmt: skip
        NetworkFactory(allocation=allocation)
        group = SecurityGroup.objects.create(
            allocation=allocation, name=f"g{i}-{SecurityGroup.objects.count()}",
            backend_id=f"sg-{SecurityGroup.objects.count()}", tag="t",
        )  # fmt: skip
        SecurityGroupRule.objects.create(
            group=group, direction="ingress", protocol="tcp", port_min=22, port_max=22,
            remote_cidr="10.0.0.0/8",
        )  # fmt: skip
        ResourceRequest.objects.create(
            kind="network", allocation=shop.low, requester=shop.requester,
            justification="Filling the list.", spec={"name": f"r{i}", "cidr": "10.0.0.0/24"},
            pending_stage="tenant",
        )  # fmt: skip


def _queries(client, shop, url: str, who: str) -> int:
    user = get_user_model().objects.get(pk=getattr(shop, who).pk)  # no cached permissions
    if url.startswith("/api/"):
        client = APIClient()
        client.force_authenticate(user)
    else:
        client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


@pytest.mark.parametrize(("url", "who", "pinned"), LISTS)
def test_list_query_counts_are_pinned(client, shop, url, who, pinned):
    _fill(shop, 5)
    few = _queries(client, shop, url, who)
    _fill(shop, 60)
    many = _queries(client, shop, url, who)
    assert (few, many) == (pinned, pinned), f"{url}: {few} queries at 5 rows, {many} at 65"
