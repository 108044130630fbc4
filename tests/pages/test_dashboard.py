"""The dashboard is a summary of bounded size and cost, whatever the allocations behind it."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.views import DashboardView
from provisioning.models import ResourceRequest
from tenants import services as tenancy
from tenants.models import Allocation, CloudRegion, Role, Tenant
from tenants.rollup import usage_rollup_refresh
from tenants.selectors import DASHBOARD_ALLOCATIONS
from tests.factories import (
    CloudRegionFactory,
    SecurityDomainFactory,
    SiteFactory,
    make_portal_role,
    make_user,
)
from tests.pages.conftest import make_server, submit_server

pytestmark = pytest.mark.django_db

CARD = re.compile(r'<article class="card">\s*<h3><a href="/allocations/(\d+)/">')


def _cards(page: str) -> list[int]:
    return [int(pk) for pk in CARD.findall(page)]


class Portal:
    """Tenants with an allocation in each of 3 sites x 2 domains; the member holds some."""

    def __init__(self) -> None:
        self.sites = [SiteFactory(name=f"Site {i}") for i in range(3)]
        self.domains = [
            SecurityDomainFactory(name="Low", level=1, marking="LOW"),
            SecurityDomainFactory(name="High", level=2, marking="HIGH"),
        ]
        self.regions = [
            CloudRegionFactory(site=s, domain=d) for s in self.sites for d in self.domains
        ]
        self.member_tenants: list[Tenant] = []
        self.member = make_user("member", domains=tuple(self.domains), sites=tuple(self.sites))
        self.operator = make_portal_role("operator", "operate_portal")
        self.auditor = make_portal_role("auditor", "audit_portal")
        self.officer = make_user("officer", sites=tuple(self.sites))
        tenancy.security_officer_grant(grantee=self.officer, domain=self.domains[1])

    def grow(self, tenants: int, *, member_share: int = 2) -> None:
        """``tenants`` more tenants, one in ``member_share`` with the member as approver."""
        from tenants import services

        start = Tenant.objects.count()
        made = Tenant.objects.bulk_create(
            Tenant(name=f"Unit {start + i:04d}", slug=f"unit-{start + i:04d}")
            for i in range(tenants)
        )
        Allocation.objects.bulk_create(
            Allocation(tenant=t, region=r, instances=10) for t in made for r in self.regions
        )
        for tenant in made[::member_share]:
            services.membership_set(tenant=tenant, user=self.member, role=Role.APPROVER)
            self.member_tenants.append(tenant)
        usage_rollup_refresh(Allocation.objects.values_list("pk", flat=True))


@pytest.fixture
def portal(db) -> Portal:
    return Portal()


def _get(client, user) -> tuple[str, int]:
    client.force_login(user)
    client.get(reverse("dashboard"))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode(), len(queries)


@pytest.mark.parametrize("role", ["member", "officer", "operator", "auditor"])
def test_queries_and_size_do_not_grow_with_the_allocations(client, portal, role):
    portal.grow(4)  # 24 allocations: already more than the dashboard shows one by one
    small_page, small = _get(client, getattr(portal, role))
    portal.grow(100)  # 624
    large_page, large = _get(client, getattr(portal, role))

    assert large == small
    # session, user, 2 x permissions, whether they decide (the menu), one query per part of the
    # page (the region totals' demand trend is one), and for an officer the allocations they
    # oversee (remembered between requests; read here, where the test's uncommitted changes
    # keep the access memory off)
    assert large <= 19
    assert len(_cards(large_page)) == DASHBOARD_ALLOCATIONS
    assert len(large_page) < 100_000
    # Bounded: a few more digits in the totals, not a line per allocation.
    assert len(large_page) - len(small_page) < 2_000


def test_a_member_with_few_allocations_sees_each_of_them(client, shop):
    page, _ = _get(client, shop.requester)

    assert sorted(_cards(page)) == sorted([shop.low.pk, shop.high.pk])
    assert "Your allocations" in page
    assert 'id="region-totals"' in page


def test_the_fullest_allocations_are_shown_and_the_rest_is_one_link_away(client, portal):
    portal.grow(10)
    fullest = Allocation.objects.filter(tenant=portal.member_tenants[-1]).first()
    over = Allocation.objects.filter(tenant=portal.member_tenants[0]).last()
    for i in range(9):
        make_server(fullest, f"f{i}")
    for i in range(12):
        make_server(over, f"o{i}")
    usage_rollup_refresh([fullest.pk, over.pk])

    page, _ = _get(client, portal.member)

    cards = _cards(page)
    assert cards[:2] == [over.pk, fullest.pk]  # over quota first, then 90 % full
    assert (
        f"closest to their quota, of {Allocation.objects.restrict(portal.member).count()}" in page
    )
    assert f'href="{reverse("allocation-list")}"' in page
    assert re.search(r'aria-valuenow="12"', page)


def test_totals_sum_what_the_user_may_see_and_nothing_else(client, portal):
    portal.grow(6)
    stranger_allocation = Allocation.objects.exclude(tenant__in=portal.member_tenants).first()
    for i in range(5):
        make_server(stranger_allocation, f"s{i}")
    mine = Allocation.objects.filter(
        tenant=portal.member_tenants[0], region=stranger_allocation.region
    ).get()
    make_server(mine, "m0")
    usage_rollup_refresh([stranger_allocation.pk, mine.pk])

    page, _ = _get(client, portal.member)
    row = _region_row(page, stranger_allocation.region)
    assert "<td>3</td>" in row  # the member's 3 allocations in that region, of 6
    assert ">1 / 30</td>" in row  # their one server of 3 x 10 instances

    page, _ = _get(client, portal.operator)
    row = _region_row(page, stranger_allocation.region)
    assert "<td>6</td>" in row and ">6 / 60</td>" in row
    assert stranger_allocation.pk in _cards(page)
    assert stranger_allocation.pk not in _cards(_get(client, portal.member)[0])


def _region_row(page: str, region: CloudRegion) -> str:
    for row in re.findall(r"<tr>.*?</tr>", page, re.S):
        if f'<th scope="row">{region.site.name}</th>' in row and region.domain.name in row:
            return row
    raise AssertionError(f"no totals row for {region}")


def test_a_user_sees_nothing_of_tenants_they_do_not_belong_to(client, shop, stranger):
    submit_server(shop)
    page, _ = _get(client, stranger)

    assert _cards(page) == []
    assert "No allocations you can see" in page
    assert "Blue Unit" not in page
    assert 'aria-label="Classification: UNCLASSIFIED PORTAL"' in page


def test_the_banner_follows_the_most_sensitive_allocation_shown(client, shop, low_only):
    page, _ = _get(client, low_only)
    assert sorted(_cards(page)) == [shop.low.pk]
    assert f'aria-label="Classification: {shop.secret.marking}"' not in page

    page, _ = _get(client, shop.approver)
    assert shop.high.pk in _cards(page)
    assert f'aria-label="Classification: {shop.secret.marking}"' in page


def test_decisions_waiting_are_counted_up_to_a_cap(client, shop, monkeypatch):
    waiting = [submit_server(shop, name=f"web{i}") for i in range(3)]
    monkeypatch.setattr(DashboardView, "awaiting_cap", 2)

    page, _ = _get(client, shop.approver)

    assert "Waiting for your decision (2+)" in page
    shown = [page.index(f'href="{r.get_absolute_url()}"') for r in waiting]
    assert shown == sorted(shown)  # the longest waiting first
    monkeypatch.setattr(DashboardView, "awaiting_cap", 100)
    assert "Waiting for your decision (3)" in _get(client, shop.approver)[0]


def test_a_security_officer_sees_the_requests_of_their_domain_waiting_for_them(client, shop):
    from provisioning import services

    request = submit_server(shop, secret=True)
    services.request_approve(user=shop.approver, request=request)

    page, _ = _get(client, shop.officer)

    assert f'href="{request.get_absolute_url()}"' in page
    assert "Waiting for your decision (1)" in page
    assert f'aria-label="Classification: {shop.secret.marking}"' in page
    assert ResourceRequest.objects.get(pk=request.pk).pending_stage == "security"


def test_memory_is_shown_in_gib_with_its_unit(client, shop):
    """RAM quotas and flavors read as people say them, never raw MiB or "0 GiB"."""
    from portal.templatetags.portal_tags import quantity
    from provisioning.models import Flavor
    from tenants.quotas import DIMENSIONS

    ram = next(d for d in DIMENSIONS if d.key == "ram_mb")
    instances = next(d for d in DIMENSIONS if d.key == "instances")
    assert quantity(51200, ram) == "50 GiB" and quantity(18432, ram) == "18 GiB"
    assert quantity(1536, ram) == "1.5 GiB" and quantity(512, ram) == "512 MiB"
    assert quantity(6, instances) == "6" and quantity(0, ram) == "0 GiB"
    nano = Flavor(name="m1.nano", vcpus=1, ram_mb=128, disk_gb=1)
    assert str(nano) == "m1.nano (1 vCPU, 128 MiB)"
    client.force_login(shop.requester)
    page = client.get(f"/allocations/{shop.low.pk}/").content.decode()
    assert " GiB</span>" in page and " MiB</span>" not in page


def test_the_dashboard_offers_what_each_role_can_do(client, shop):
    """Requesters are not shown an empty decision queue, auditors no request buttons."""
    from tests.factories import make_portal_role

    client.force_login(shop.requester)
    page = client.get("/").content.decode()
    assert "Request servers" in page and "Waiting for your decision" not in page
    client.force_login(shop.approver)
    page = client.get("/").content.decode()
    assert "Waiting for your decision" in page and "Nothing waits for you." in page
    client.force_login(make_portal_role("aude", "audit_portal"))
    page = client.get("/").content.decode()
    assert "Request servers" not in page and "Waiting for your decision" not in page
    client.force_login(make_portal_role("oscar", "operate_portal"))
    page = client.get("/").content.decode()
    assert "Request servers" in page and "Waiting for your decision" in page


def test_quota_says_how_much_of_it_is_only_requested(client, shop):
    from tests.pages.conftest import submit_server

    submit_server(shop, name="waiting-one")  # pending: counts, and is said to be requested
    client.force_login(shop.requester)
    page = client.get(f"/allocations/{shop.low.pk}/").content.decode()
    assert "1 / " in page and "(1 of it requested, waiting for a decision)" in page
    tenant_page = client.get(f"/tenants/{shop.tenant.pk}/").content.decode()
    assert "of it requested, waiting for a decision" in tenant_page


def test_region_totals_show_demand_week_on_week_of_what_the_user_may_see(client, shop, stranger):
    from datetime import timedelta

    from django.utils import timezone

    from provisioning.selectors import Trend, request_trend_by_region

    now = timezone.now()
    for age_days in (1, 2, 3, 9):  # three this week, one the week before
        request = submit_server(shop)
        ResourceRequest.objects.filter(pk=request.pk).update(
            created_at=now - timedelta(days=age_days)
        )
    old = submit_server(shop)
    ResourceRequest.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=30))

    assert request_trend_by_region(shop.requester)[shop.low.region.pk] == Trend(3, 1)
    assert request_trend_by_region(stranger) == {}
    page, _ = _get(client, shop.requester)
    row = _region_row(page, shop.low.region)
    assert 'class="trend trend-up">3' in row and "(1)" in row


def test_the_approvals_entry_is_for_those_who_decide(client, shop, low_only, stranger):
    inbox = f'href="{reverse("approval-inbox")}"'
    operator = make_portal_role("olga", "operate_portal")
    for user, shown in ((shop.requester, False), (stranger, False), (shop.approver, True),
                        (low_only, True), (shop.officer, True), (operator, True)):  # fmt: skip
        client.force_login(user)
        page = client.get(reverse("server-list")).content.decode()
        assert (inbox in page) is shown, user.username
    # Remembered per access generation: a new role shows at the next page.
    tenancy.membership_set(tenant=shop.tenant, user=shop.requester, role=Role.APPROVER)
    client.force_login(shop.requester)
    assert inbox in client.get(reverse("server-list")).content.decode()
