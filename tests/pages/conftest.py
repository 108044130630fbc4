"""Fixtures for the page tests: the provisioning ``shop`` plus helpers to fill it."""

from __future__ import annotations

import pytest

from provisioning import services
from provisioning.models import Kind, ResourceRequest, Server
from tests.factories import make_user, server_spec
from tests.provisioning import conftest as provisioning_fixtures
from tests.provisioning.conftest import Shop

WHY = "Needed for the exercise next week."

#: The provisioning tests' small world, re-used as is.
shop = provisioning_fixtures.shop


def submit_server(shop: Shop, *, user=None, secret: bool = False, **spec) -> ResourceRequest:
    allocation, network = (shop.high, shop.high_net) if secret else (shop.low, shop.low_net)
    return services.request_submit(
        user=user or shop.requester, kind=Kind.SERVER, allocation=allocation,
        spec=server_spec(network, **spec), justification=WHY,
    )  # fmt: skip


def make_server(allocation, name: str = "web", **fields) -> Server:
    fields = {"backend_id": f"b-{name}", "tag": "t", "flavor_name": "m1.small", "vcpus": 2,
              "ram_mb": 2048, "status": "ACTIVE", **fields}  # fmt: skip
    return Server.objects.create(allocation=allocation, name=name, **fields)


@pytest.fixture
def low_only(shop):
    """An approver of the shop's tenant cleared for the unclassified domain only."""
    return make_user(
        "uma", memberships={shop.tenant: "approver"}, domains=(shop.unclass,), sites=(shop.site,)
    )


@pytest.fixture
def stranger(shop):
    """Cleared for everything at the site, member of no tenant."""
    return make_user("stan", domains=(shop.unclass, shop.secret), sites=(shop.site,))
