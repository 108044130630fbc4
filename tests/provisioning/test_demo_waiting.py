"""The demo's request left waiting: seeded once, past its target, escalated by the first check."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from portal.models import OutboxMessage
from provisioning.models import RequestState, ResourceRequest
from provisioning.services.deadlines import deadlines_sweep

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_request_that_escalates():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_waiting", stdout=io.StringIO())
    call_command("seed_demo_waiting", stdout=io.StringIO())  # once
    (request,) = ResourceRequest.objects.filter(spec__name="exercise-archive-net")
    assert request.state == RequestState.PENDING_APPROVAL
    assert deadlines_sweep() == 2  # past 1.5 times the target: the managers and the operators
    kinds = OutboxMessage.objects.filter(args__0__startswith="deadline_").values_list(
        "args__0", flat=True
    )
    assert sorted(kinds) == ["deadline_managers", "deadline_operators"]


def test_the_demo_june_report_leaves_out_a_belgian_holiday():
    from datetime import date

    from provisioning.management.commands.seed_demo_history import holiday_june
    from provisioning.sla import Period, sla_report

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_history", stdout=io.StringIO())
    call_command("seed_demo_history", stdout=io.StringIO())  # once
    assert holiday_june(date(2026, 12, 1)) == (2025, date(2025, 6, 9))  # Whit Monday
    # In June 2025 itself, the latest June gone by with one: 2022 (Whit Monday 6 June).
    assert holiday_june(date(2025, 6, 30)) == (2022, date(2022, 6, 6))
    report = sla_report(ResourceRequest.objects.all(), period=Period.calendar_month("2025-06"))
    [row] = report.rows
    # In working hours: 4 (Friday 16:00 to Tuesday 10:00 across Whit Monday, not 14), 6, 4,
    # 11 (across a weekend: late) and 24 (late).
    assert (row.requests, row.decision_stats.count, row.decision_breaches) == (5, 5, 2)
    assert (row.decision_stats.worst, row.decision_stats.p50) == (24 * 3600, 6 * 3600)
    assert [(h.site.slug, h.day) for h in report.holidays] == [("brussels", date(2025, 6, 9))]
    assert [d.slug for d in report.working_domains] == ["nato-restricted"]


def test_the_demo_units_see_last_months_showback():
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from provisioning.selectors import showback_days_visible_to
    from provisioning.showback import showback_report
    from tenants.selectors import allocations_visible_to

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_history", stdout=io.StringIO())
    call_command("seed_demo_history", stdout=io.StringIO())  # once
    last_month = (timezone.now().replace(day=1) - timezone.timedelta(days=1)).strftime("%Y-%m")
    alice = get_user_model().objects.get(username="alice")
    report = showback_report(showback_days_visible_to(alice), allocations_visible_to(alice),
                             month=last_month, grouping="allocation")  # fmt: skip
    labels = {r.label for r in report.rows}
    # Hers (CSC, Training); not Logistics', nor JFC's in SECRET.
    assert labels == {"Cyber Security Centre @ Brussels / NATO UNCLASSIFIED",
                      "Cyber Security Centre @ Mons / NATO RESTRICTED",
                      "Training and Exercises @ Oeiras / NATO UNCLASSIFIED"}  # fmt: skip
    assert report.priced and report.total.cost > 0
    assert report.total.figures["stopped_vcpu_hours"] == 4 * 2 * 24  # analysis-1, two days
