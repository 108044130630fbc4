"""The inbox reads its cards' allocations and the delegations its user holds from what the
access layer remembers (``tenants.access_memory``), and shows every committed change of either
at the next page.

These tests commit (``transaction=True``): memory is used only between committed changes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from provisioning import services
from provisioning.listing import attach_allocations
from provisioning.models import Kind, Server
from provisioning.services.allocations import allocation_ensure_project
from tenants import access_memory
from tenants import services as tenancy
from tenants.delegations import delegation_create, delegations_to
from tenants.models import Allocation, Role
from tests.factories import make_user, server_spec
from tests.live import build_world
from tests.provisioning import conftest as provisioning_fixtures

pytestmark = pytest.mark.django_db(transaction=True)

shop = provisioning_fixtures.shop

WHY = "Needed for the exercise next week."


@pytest.fixture
def standing_in(shop):
    """Vera decides for Arno, away for a day, on a server Rita asked for."""
    vera = make_user(
        "vera", memberships={shop.tenant: Role.REQUESTER}, domains=(shop.unclass,),
        sites=(shop.site,),
    )  # fmt: skip
    request = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
        spec=server_spec(shop.low_net), justification=WHY,
    )  # fmt: skip
    now = timezone.now()
    delegation = delegation_create(
        delegator=shop.approver, delegate=vera, starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=23), reason="Leave",
    )  # fmt: skip
    return vera, request, delegation


def _inbox(client) -> tuple[str, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("approval-inbox"))
    assert response.status_code == 200
    return response.content.decode(), " ".join(q["sql"] for q in queries.captured_queries)


def _limit_shown(page: str, dimension: str) -> str:
    found = re.search(rf'<th scope="row">{dimension}</th><td>[^<]* / ([^<]*)</td>', page)
    assert found, page
    return found[1]


def test_a_warm_inbox_reads_neither_allocations_nor_delegations(client, shop, standing_in):
    vera, request, _delegation = standing_in
    client.force_login(vera)
    cold, cold_sent = _inbox(client)
    warm, warm_sent = _inbox(client)
    assert f'id="request-{request.pk}"' in warm and "You decide this for" in warm
    assert "tenants_allocation" in cold_sent and "tenants_delegation" in cold_sent
    assert "tenants_allocation" not in warm_sent and "tenants_delegation" not in warm_sent
    assert _cards(warm) == _cards(cold)


def _cards(page: str) -> str:
    """The page's cards, without the form tokens (new at each answer)."""
    cards = page[page.index('<ol class="inbox">') : page.index("</ol>")]
    return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", cards)


def test_a_changed_quota_is_shown_at_the_next_page(client, shop, standing_in):
    vera, _request, _delegation = standing_in
    client.force_login(vera)
    assert _limit_shown(_inbox(client)[0], "Instances") == "10"
    shop.low.instances = 12
    shop.low.save()
    assert _limit_shown(_inbox(client)[0], "Instances") == "12"


def _shown_time(value) -> str:
    """As the page shows it: in the portal's default time zone (the user has chosen none)."""
    zone = ZoneInfo(django_settings.PORTAL_DEFAULT_TIME_ZONE)
    return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M")


def test_a_changed_delegation_is_shown_at_the_next_page(client, shop, standing_in):
    vera, _request, delegation = standing_in
    client.force_login(vera)
    before = _shown_time(delegation.ends_at)
    assert f"away until {before}" in _inbox(client)[0]
    delegation.ends_at += timedelta(days=2)
    delegation.save(update_fields=["ends_at"])
    after = _shown_time(delegation.ends_at)
    assert f"away until {after}" in _inbox(client)[0]


def test_a_delegation_past_its_period_is_not_held_though_nothing_was_written(shop, standing_in):
    vera, _request, delegation = standing_in
    assert delegations_to(vera) == [delegation]  # now remembered
    with CaptureQueriesContext(connection) as queries:
        assert delegations_to(vera, now=delegation.ends_at) == []
        assert delegations_to(vera, now=delegation.starts_at - timedelta(seconds=1)) == []
        assert delegations_to(vera) == [delegation]
    assert "tenants_delegation" not in " ".join(q["sql"] for q in queries.captured_queries)


def test_a_project_written_without_a_save_is_seen_by_the_next_page(cloudsim_clean, settings):
    """``allocation_ensure_project`` writes the project with ``update()``, which sends no
    signal: it tells the access layer itself, or pages would show the allocation without it."""
    settings.CLOUDS_YAML = str(cloudsim_clean.clouds_yaml)
    world = build_world(cloud_name=cloudsim_clean.admin_cloud, project_prefix="memory")
    allocation, user = world["allocation"], world["requester"]
    Allocation.objects.filter(pk=allocation.pk).update(project_id="")
    access_memory.changed()
    server = Server.objects.create(allocation=allocation, name="s1", backend_id="b1", tag="t1")

    def shown() -> tuple[str, int]:
        row = Server.objects.get(pk=server.pk)
        with CaptureQueriesContext(connection) as queries:
            attach_allocations([row], user)
        return row.allocation.project_id, len(queries)

    assert shown() == ("", 2)  # the generation, the allocation
    assert shown() == ("", 0)  # remembered (the generation is kept on the user object)
    allocation_ensure_project(Allocation.objects.get(pk=allocation.pk))
    project_id, _queries = shown()
    assert project_id and project_id == Allocation.objects.get(pk=allocation.pk).project_id


def test_an_officers_domains_are_remembered_and_a_revoked_one_leaves_the_next_page(client, shop):
    """The security stage is decided over the allocations an officer oversees, read once and
    remembered; revoking the officer's grant shows at the next page."""
    request = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.high,
        spec=server_spec(shop.high_net), justification=WHY,
    )  # fmt: skip
    services.request_approve(user=shop.approver, request=request)
    client.force_login(shop.officer)
    cold, cold_sent = _inbox(client)
    warm, warm_sent = _inbox(client)
    assert f'id="request-{request.pk}"' in cold and _cards(warm) == _cards(cold)
    assert "tenants_allocation" in cold_sent
    assert "tenants_allocation" not in warm_sent and "guardian" not in warm_sent
    assert "userobjectpermission" not in warm_sent
    tenancy.security_officer_revoke(grantee=shop.officer, domain=shop.secret)
    assert f'id="request-{request.pk}"' not in _inbox(client)[0]
