"""The demand kept per region and hour: counted as requests are filed, and what an operator's
dashboard trend reads instead of every request of two weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from provisioning import demand
from provisioning.models import DemandHour, ResourceRequest
from provisioning.selectors import Trend, request_trend_by_region
from tests.factories import make_portal_role
from tests.pages.conftest import submit_server

pytestmark = pytest.mark.django_db


def _kept() -> dict[tuple[int, datetime], int]:
    return {
        (row.region_id, row.hour): row.requests for row in DemandHour.objects.filter(requests__gt=0)
    }


def _moved_back(request: ResourceRequest, **ago) -> None:
    """Around the services, as a restore or a hand-edit would."""
    ResourceRequest.objects.filter(pk=request.pk).update(
        created_at=timezone.now() - timedelta(**ago)
    )


def test_filing_counts_the_request_in_its_region_and_hour(shop):
    submit_server(shop)
    submit_server(shop, name="db")
    submit_server(shop, secret=True)

    hour = demand.hour_of(timezone.now())
    assert _kept() == {(shop.low.region_id, hour): 2, (shop.high.region_id, hour): 1}


def test_a_request_whose_filing_rolled_back_was_never_counted(shop):
    with pytest.raises(RuntimeError), transaction.atomic():
        submit_server(shop)
        assert sum(_kept().values()) == 1
        raise RuntimeError("the rest of the caller's transaction failed")

    assert _kept() == {}


def test_the_hour_is_the_utc_hour_whatever_the_zone():
    paris = datetime(2026, 3, 29, 3, 59, 59, tzinfo=timezone.get_fixed_timezone(120))

    assert demand.hour_of(paris) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_an_operator_reads_the_kept_counts_and_they_agree_with_the_requests(
    client, shop, django_assert_max_num_queries
):
    operator = make_portal_role("olga", "operate_portal")
    auditor = make_portal_role("aude", "audit_portal")
    filed = [submit_server(shop, name=f"vm{n}", secret=n % 2 == 1) for n in range(6)]
    # Kept as filed: moved back afterwards, then counted again as the recheck would.
    for request, days in zip(filed, (1, 2, 3, 9, 10, 30), strict=True):
        _moved_back(request, days=days)
    demand.rebuild()

    expected = {shop.low.region_id: Trend(2, 1), shop.high.region_id: Trend(1, 1)}
    assert request_trend_by_region(operator) == expected
    assert request_trend_by_region(auditor) == expected
    # The requester counts their own allocations' requests: the same figures, by another road.
    assert request_trend_by_region(shop.requester) == expected
    with CaptureQueriesContext(connection) as queries:
        request_trend_by_region(operator)
    assert len(queries) == 1
    assert "provisioning_resourcerequest" not in queries[0]["sql"]


def test_the_operator_dashboard_shows_the_kept_demand(client, shop):
    operator = make_portal_role("olga", "operate_portal")
    for n in range(3):
        submit_server(shop, name=f"vm{n}")
    client.force_login(operator)

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("dashboard")).content.decode()

    assert 'class="trend trend-up">3' in page
    statements = [q["sql"] for q in queries]
    assert any("provisioning_demandhour" in sql for sql in statements)
    # No count of the requests by their date (what the trend read before).
    assert not any('"provisioning_resourcerequest"."created_at" >=' in sql for sql in statements)


def test_the_recheck_corrects_settled_hours_that_were_changed_around_the_services(shop):
    moved, kept_as_filed = submit_server(shop), submit_server(shop, name="db")
    _moved_back(moved, days=2)
    now = timezone.now()
    this_hour = demand.hour_of(now)

    assert demand.recheck(now=now) == 1  # the hour it was moved to; this hour is not settled
    assert _kept() == {
        (shop.low.region_id, demand.hour_of(moved.created_at - timedelta(days=2))): 1,
        (shop.low.region_id, this_hour): 2,  # left to the counting at filing until it settles
    }
    assert demand.recheck(now=now) == 0

    # Two hours on, this hour is settled, and counted again: the moved request leaves it.
    assert demand.recheck(now=now + timedelta(hours=2)) == 1
    assert _kept()[(shop.low.region_id, this_hour)] == 1
    assert kept_as_filed.created_at >= this_hour


def test_the_recheck_leaves_what_is_right_alone(shop):
    submit_server(shop)
    later = timezone.now() + timedelta(hours=3)

    assert demand.recheck(now=later) == 0
    assert sum(_kept().values()) == 1


def test_a_rebuild_counts_every_hour_from_the_requests(shop):
    for n, hours in enumerate((0, 5, 5, 400)):
        _moved_back(submit_server(shop, name=f"vm{n}"), hours=hours)
    DemandHour.objects.all().delete()

    assert demand.rebuild() == 3
    assert sorted(_kept().values()) == [1, 1, 2]


def test_the_hourly_task_rechecks_the_kept_demand(shop, settings):
    from provisioning.tasks import periodic_demand_recheck

    moved = submit_server(shop)
    _moved_back(moved, days=3)

    periodic_demand_recheck()

    assert (shop.low.region_id, demand.hour_of(timezone.now() - timedelta(days=3))) in _kept()
    assert settings.CELERY_BEAT_SCHEDULE["demand-recheck"]["task"] == periodic_demand_recheck.name
