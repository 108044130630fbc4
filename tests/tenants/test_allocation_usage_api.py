"""The allocations API: a list reads the usage kept up to date on every change, a single
allocation computes it live, and ``usage_as_of`` says which an answer holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from provisioning.models import Server
from tenants.models import Allocation, AllocationUsage, Role
from tenants.rollup import usage_kept, usage_rollup_refresh
from tests.factories import AllocationFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    kept, fresh = AllocationFactory(vcpus=40), AllocationFactory(vcpus=40)
    user = make_user(
        "usage-reader",
        memberships={kept.tenant: Role.VIEWER, fresh.tenant: Role.VIEWER},
        domains=(kept.region.domain, fresh.region.domain),
        sites=(kept.region.site, fresh.region.site),
    )
    for allocation, n in ((kept, 2), (fresh, 3)):
        for i in range(n):
            Server.objects.create(allocation=allocation, name=f"s{allocation.pk}-{i}",
                                  backend_id=f"b{allocation.pk}-{i}", tag="t", vcpus=4)  # fmt: skip
    usage_rollup_refresh([kept.pk])  # ``fresh`` has no kept row yet
    return user, kept, fresh


def vcpus(body: dict) -> int:
    return next(q["used"] for q in body["quotas"] if q["dimension"] == "vcpus")


def test_a_list_reads_the_kept_usage_and_says_as_of_when(client, world):
    user, kept, fresh = world
    # A change that bypassed the services: the kept row does not know of it yet.
    Server.objects.create(allocation=kept, name="late", backend_id="late", tag="t", vcpus=4)
    client.force_login(user)
    rows = {r["id"]: r for r in client.get("/api/v1/allocations/").json()["results"]}
    row = AllocationUsage.objects.get(pk=kept.pk)
    assert vcpus(rows[kept.pk]) == 8 == row.vcpus  # the kept figure, not the live 12
    assert parse_datetime(rows[kept.pk]["usage_as_of"]) == row.refreshed_at
    # No kept row: computed live, never shown as empty.
    assert vcpus(rows[fresh.pk]) == 12 and rows[fresh.pk]["usage_as_of"] is None


def test_one_allocation_is_computed_live(client, world):
    user, kept, _ = world
    Server.objects.create(allocation=kept, name="late", backend_id="late", tag="t", vcpus=4)
    client.force_login(user)
    body = client.get(f"/api/v1/allocations/{kept.pk}/").json()
    assert vcpus(body) == 12 and body["usage_as_of"] is None


def test_a_kept_page_costs_no_grouped_sum(client, world):
    user, _kept, fresh = world
    usage_rollup_refresh([fresh.pk])
    client.force_login(user)
    client.get("/api/v1/allocations/")
    with CaptureQueriesContext(connection) as seen:
        assert client.get("/api/v1/allocations/").status_code == 200
    sums = [q["sql"] for q in seen.captured_queries if "SUM(" in q["sql"].upper()]
    assert not sums, sums


def test_allocations_read_without_their_rows_are_computed_live_never_one_by_one(world):
    _user, kept, fresh = world
    allocations = list(Allocation.objects.filter(pk__in=[kept.pk, fresh.pk]))
    with CaptureQueriesContext(connection) as seen:
        usage = usage_kept(allocations)
    assert not [q for q in seen.captured_queries if "allocationusage" in q["sql"]]
    assert {pk: as_of for pk, (_, as_of) in usage.items()} == {kept.pk: None, fresh.pk: None}
    with_rows = list(Allocation.objects.select_related("usage").filter(pk__in=[kept.pk, fresh.pk]))
    assert usage_kept(with_rows)[kept.pk][1] == AllocationUsage.objects.get(pk=kept.pk).refreshed_at
