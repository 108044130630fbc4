"""Capacity in use per region: the quotas of the allocations one may see and their use, drawn
on the regions page with a table behind, at a fixed number of queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Role
from tenants.rollup import usage_rollup_refresh
from tenants.selectors import capacity_by_region
from tests.factories import AllocationFactory, TenantFactory, make_portal_role, make_user
from tests.pages.conftest import make_server

pytestmark = pytest.mark.django_db


def test_capacity_counts_what_the_reader_may_see(client, shop, django_assert_num_queries):
    make_server(shop.low, "a", vcpus=4)
    make_server(shop.low, "b", vcpus=6)
    green = AllocationFactory(tenant=TenantFactory(name="Green"), region=shop.low.region,
                              vcpus=100)  # fmt: skip
    make_server(green, "g", vcpus=50)
    usage_rollup_refresh([shop.low.pk, shop.high.pk, green.pk])
    member = make_user("bea", memberships={shop.tenant: Role.VIEWER},
                       domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip
    capacity_by_region(member)  # the access layer reads the member's grants once
    with django_assert_num_queries(2):  # then: the sums, the regions
        [low] = capacity_by_region(member)
    assert (low.region, low.vcpus, low.vcpus_used, low.vcpu_percent) == (
        shop.low.region,
        20,
        10,
        50.0,
    )
    operator = make_portal_role("olga", "operate_portal")
    by_region = {c.region: c for c in capacity_by_region(operator)}
    assert (by_region[shop.low.region].vcpus, by_region[shop.low.region].vcpus_used) == (120, 60)

    client.force_login(member)
    page = client.get(reverse("region-list")).content.decode()
    assert "Capacity in use" in page and "<svg" in page and "10 / 20 (50.0 %)" in page
