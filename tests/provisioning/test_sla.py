"""The SLA report: times from the timeline, breaches (open ones too), periods, groupings, the
page, the CSV, the API and the command, and need-to-know throughout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from provisioning import services
from provisioning.models import Kind, ResourceRequest
from provisioning.selectors import requests_visible_to
from provisioning.sla import Grouping, Period, sla_report
from provisioning.sla_facts import refresh
from provisioning.templatetags.durations import duration
from tests.factories import age_timeline, make_user, server_spec

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."


def _request(shop, allocation=None, **timeline_minutes):
    """A request whose timeline says it reached each state so many minutes ago."""
    allocation = allocation or shop.low
    net = shop.low_net if allocation == shop.low else shop.high_net
    request = services.request_submit(user=shop.requester, kind=Kind.SERVER, allocation=allocation,
                                      spec=server_spec(net), justification=WHY)  # fmt: skip
    return age_timeline(request, **timeline_minutes)


def _csv(response) -> str:
    """The CSV is streamed (see provisioning.views.reports.sla_csv)."""
    return b"".join(response.streaming_content).decode()


def test_times_and_breaches(shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 60 * 60
    settings.PORTAL_SLA_BUILD_SECONDS = 10 * 60
    # decided in 20 min, built in 5 min: on time
    _request(shop, pending_approval=100, approved=80, provisioning=79, completed=75)
    # decided in 90 min (late), built in 30 min (late)
    _request(shop, pending_approval=200, approved=110, provisioning=109, completed=80)
    # still waiting after 2 hours: late already
    _request(shop, pending_approval=120)

    report = sla_report(ResourceRequest.objects.all())

    [row] = report.rows
    assert row.requests == 3
    # (the durations themselves stay in the database: only their figures come back)
    assert (row.decision_stats.count, row.decision_stats.worst) == (2, 90 * 60)
    assert (row.build_stats.count, row.build_stats.worst) == (2, 30 * 60)
    assert (row.decision_breaches, row.build_breaches) == (2, 1)
    assert row.decision_stats.p50 == 55 * 60
    # The late requests, the most overdue first; the open one is measured up to now.
    assert [(b.target, round(b.late_by / 60), b.still_waiting) for b in report.breaches] == [
        ("decision", 60, True),
        ("decision", 30, False),
        ("build", 20, False),
    ]


def test_the_report_counts_only_what_the_reader_may_see(client, shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 60  # both requests are late
    _request(shop, shop.high, pending_approval=30)
    _request(shop, pending_approval=30)
    unclassified_only = make_user("low", memberships={shop.tenant: "viewer"},
                                  domains=(shop.unclass,), sites=(shop.site,))  # fmt: skip

    report = sla_report(requests_visible_to(unclassified_only))
    assert [r.domain for r in report.rows] == [shop.unclass]
    assert {b.request.allocation for b in report.breaches} == {shop.low}

    client.force_login(unclassified_only)
    page = client.get(reverse("sla-report")).content.decode()
    assert shop.unclass.marking in page and shop.secret.marking not in page
    csv_text = _csv(client.get(reverse("sla-report") + "?format=csv"))
    assert shop.secret.marking not in csv_text
    api = client.get(reverse("api:report-sla")).json()
    assert [row["group"] for row in api["rows"]] == [shop.unclass.marking]
    assert shop.secret.marking not in str(api)


def test_the_command_prints_every_domain(shop, capsys):
    _request(shop, shop.high, pending_approval=30)
    _request(shop, pending_approval=30)
    call_command("sla_report", "--days", "7")
    out = capsys.readouterr().out
    assert shop.unclass.marking in out and shop.secret.marking in out


def test_rows_per_site_or_tenant_merge_the_domains(shop):
    _request(shop, shop.high, pending_approval=30)
    _request(shop, pending_approval=30)

    by_site = sla_report(ResourceRequest.objects.all(), grouping=Grouping.SITE)
    by_tenant = sla_report(ResourceRequest.objects.all(), grouping=Grouping.TENANT)

    assert [(r.group, r.requests, r.domain) for r in by_site.rows] == [("Mons", 2, None)]
    assert [(r.group, r.requests) for r in by_tenant.rows] == [("Blue Unit", 2)]
    assert by_site.domains == {shop.unclass, shop.secret}  # the page's banner still knows


def test_a_calendar_month_counts_the_requests_submitted_in_it(shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    october = _request(shop, pending_approval=60 * 24 * 40)  # still waiting, for 40 days now
    _request(shop, pending_approval=30)  # this month
    ResourceRequest.objects.filter(pk=october.pk).update(
        created_at=datetime(2026, 10, 15, 12, tzinfo=UTC)
    )
    refresh([october.pk])  # written around the services: its SLA fact follows by hand

    report = sla_report(ResourceRequest.objects.all(), period=Period.calendar_month("2026-10"))

    [row] = report.rows
    assert row.requests == 1
    assert report.period.label == "October 2026"
    [breach] = report.breaches
    assert breach.request == october and breach.still_waiting  # late up to now, not to Oct 31
    assert breach.took > 39 * 86400


def test_december_ends_at_the_new_year():
    december = Period.calendar_month("2026-12")
    assert (december.since.isoformat(), december.until.isoformat()) == (
        "2026-12-01T00:00:00+00:00",
        "2027-01-01T00:00:00+00:00",
    )


@pytest.mark.parametrize("month", ["2026-13", "26-10", "0000-01", "October"])
def test_a_bad_month_is_refused_with_a_field_message(client, shop, month):
    client.force_login(shop.requester)

    page = client.get(reverse("sla-report"), {"month": month})
    api = client.get(reverse("api:report-sla"), {"month": month})
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("sla_report", "--month", month)

    assert page.status_code == 200
    assert "Give a month as YYYY-MM" in page.content.decode()
    assert page.context["report"].period.days == 30  # the default report, not an error page
    assert api.status_code == 400
    assert "month" in api.json()["fields"]


def test_api_report_by_tenant_with_the_late_requests(client, shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    settings.PORTAL_SLA_BUILD_SECONDS = 86400  # the approved one is building, not late
    late = _request(shop, pending_approval=120)
    _request(shop, pending_approval=100, approved=80)
    client.force_login(shop.approver)

    body = client.get(reverse("api:report-sla"), {"group_by": "tenant", "days": 7}).json()

    assert body["group_by"] == "tenant"
    assert body["period"]["days"] == 7
    assert body["decision_target_seconds"] == 3600
    [row] = body["rows"]
    assert (row["group"], row["requests"], row["decision_late"]) == ("Blue Unit", 2, 1)
    assert row["decision"]["count"] == 1 and row["decision"]["p50"] == 20 * 60
    [breach] = body["late_requests"]
    assert breach["request"] == late.pk
    assert breach["still_waiting"] is True
    assert round(breach["late_by_seconds"] / 60) == 60


def test_csv_lists_the_late_requests(client, shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    late = _request(shop, pending_approval=120)
    client.force_login(shop.approver)

    response = client.get(reverse("sla-report"), {"format": "csv", "group_by": "site"})

    assert 'filename="sla-30-days-by-site.csv"' in response["Content-Disposition"]
    lines = _csv(response).splitlines()
    assert lines[0].startswith("site,kind,requests")
    assert any(line.startswith(f"{late.pk},") and ",decision," in line for line in lines)


def test_the_report_costs_the_same_queries_for_more_requests(client, shop):
    client.force_login(shop.approver)
    url = reverse("api:report-sla")
    _request(shop, pending_approval=600, approved=500)  # building for 500 min: late
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(8):
        _request(shop, shop.high, pending_approval=600, approved=500)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


@pytest.mark.parametrize(("seconds", "text", "french"), [
    (None, "—", "—"), (1, "1 second", "1 seconde"), (42, "42 seconds", "42 secondes"),
    (95, "1 minute 35 seconds", "1 minute 35 secondes"), (7200, "2 hours", "2 heures"),
    (7380, "2 hours 3 minutes", "2 heures 3 minutes"),
    (3 * 86400 + 3600, "3 days 1 hour", "3 jours 1 heure"),
])  # fmt: skip
def test_durations_read_like_people_write_them(seconds, text, french):
    assert duration(seconds) == text
    with translation.override("fr"):
        assert duration(seconds) == french


def test_a_domain_with_targets_of_its_own_holds_its_requests_to_them(client, shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    shop.secret.sla_decision = timedelta(hours=4)  # a second stage: more time to decide
    shop.secret.save()
    secret = _request(shop, shop.high, pending_approval=120)  # 2 h: within its 4 h
    unclass = _request(shop, pending_approval=120)  # 2 h: over the default hour

    report = sla_report(ResourceRequest.objects.all())

    assert [b.request for b in report.breaches] == [unclass]
    assert [(d, dec.total_seconds(), b.total_seconds()) for d, dec, b in report.own_targets] == [
        (shop.secret, 4 * 3600, settings.PORTAL_SLA_BUILD_SECONDS)
    ]
    client.force_login(shop.approver)
    page = client.get(reverse("sla-report")).content.decode()
    assert "in SECRET, a decision within 4 hours" in page
    body = client.get(reverse("api:report-sla")).json()
    assert {t["domain"]: t["decision_seconds"] for t in body["targets"]} == {
        shop.unclass.marking: 3600,
        shop.secret.marking: 4 * 3600,
    }
    assert [late["request"] for late in body["late_requests"]] == [unclass.pk]
    assert secret.pk not in [late["request"] for late in body["late_requests"]]
