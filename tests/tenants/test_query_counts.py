"""Lists cost the same number of queries for 10 allocations as for 1,000."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.models import Allocation, CloudRegion, Role
from tests.factories import (
    AllocationFactory,
    CloudRegionFactory,
    SecurityDomainFactory,
    SiteFactory,
    TenantFactory,
    make_user,
)

pytestmark = pytest.mark.django_db


def _populate(n: int):
    """n allocations across many tenants and regions, all visible to one user."""
    sites = [SiteFactory() for _ in range(5)]
    domains = [SecurityDomainFactory() for _ in range(3)]
    regions = [CloudRegionFactory(site=s, domain=d) for s in sites for d in domains]
    tenants = [TenantFactory() for _ in range(max(1, n // len(regions)) + 1)]
    rows = [
        Allocation(tenant=tenants[i // len(regions)], region=regions[i % len(regions)])
        for i in range(n)
    ]
    Allocation.objects.bulk_create(rows)
    return make_user(
        "counter",
        memberships=dict.fromkeys(tenants, Role.VIEWER),
        domains=tuple(domains),
        sites=tuple(sites),
    )


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "fetch",
    [
        pytest.param(lambda c: c.get("/api/v1/allocations/?page_size=500"), id="api-allocations"),
        pytest.param(lambda c: c.get("/api/v1/tenants/"), id="api-tenants"),
        pytest.param(lambda c: c.get("/api/v1/regions/"), id="api-regions"),
        pytest.param(lambda c: c.get(reverse("allocation-list")), id="page-allocations"),
        pytest.param(lambda c: c.get(reverse("dashboard")), id="page-dashboard"),
        pytest.param(lambda c: c.get(reverse("tenant-list")), id="page-tenants"),
    ],
)
def test_list_queries_do_not_grow_with_data(client, fetch):
    user = _populate(10)
    client.force_login(user)
    assert fetch(client).status_code == 200
    small = _count(lambda: fetch(client))

    more_tenants = [TenantFactory() for _ in range(70)]
    regions = list(CloudRegion.objects.values_list("pk", flat=True))
    Allocation.objects.bulk_create(
        Allocation(tenant=t, region_id=r) for t in more_tenants for r in regions[:14]
    )
    from tenants import services

    for tenant in more_tenants:
        services.membership_set(tenant=tenant, user=user, role=Role.VIEWER)
    assert Allocation.objects.restrict(user).count() >= 990

    large = _count(lambda: fetch(client))

    assert large == small


def test_can_is_one_query():
    allocation = AllocationFactory()
    user = make_user("one", memberships={allocation.tenant: Role.VIEWER})
    user.has_perm("tenants.operate_portal")  # warm the global permission cache
    from tenants.access import Action, can

    with CaptureQueriesContext(connection) as ctx:
        can(user, Action.VIEW, allocation)
    assert len(ctx.captured_queries) == 1
