"""Working-time SLAs: targets that count the domain's working hours at each site, less the
site's public holidays, in the report (page, CSV, API) and in the deadlines; the figures
reconcile with the raw timeline, recomputed here minute by minute."""

from __future__ import annotations

import importlib
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from portal.models import OutboxMessage
from provisioning import services
from provisioning.models import Kind, RequestState, RequestTransition, ResourceRequest, SlaFact
from provisioning.services.calendars import sla_clocks_changed
from provisioning.services.deadlines import deadlines_sweep
from provisioning.sla import Period, late_page, sla_report
from provisioning.sla_facts import refresh
from provisioning.working_time import WorkingCalendar, calendar_of
from tests.factories import make_portal_role, make_user, server_spec

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."
BRUSSELS = ZoneInfo("Europe/Brussels")
WHIT_MONDAY = date(2025, 6, 9)  # a Belgian public holiday


def _at(day: date, hour: int, minute: int = 0, zone=BRUSSELS) -> datetime:
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


def _minutes_worked(since: datetime, until: datetime, *, zone: str, country: str,
                    days: str = "12345", start=time(8), end=time(18)) -> float:  # fmt: skip
    """The independent count: walk the minutes and keep those inside working hours on a
    working day that is not a public holiday (the ``holidays`` library asked directly)."""
    closed = holidays.country_holidays(country, years=range(since.year, until.year + 1))
    tz, worked, moment = ZoneInfo(zone), 0, since
    while moment < until:
        local = moment.astimezone(tz)
        if (str(local.isoweekday()) in days and local.date() not in closed
                and start <= local.time() < end):  # fmt: skip
            worked += 1
        moment += timedelta(minutes=1)
    return worked * 60.0


@pytest.mark.parametrize(("zone", "country"), [("Europe/Brussels", "BE"),
                                               ("Europe/Amsterdam", "NL"),
                                               ("Europe/Lisbon", "PT")])  # fmt: skip
def test_the_meter_agrees_with_walking_the_minutes(zone, country):
    calendar = WorkingCalendar(zone, frozenset({1, 2, 3, 4, 5}), time(8), time(18), country)
    rng = random.Random(f"{zone}-2025")
    year = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(40):
        since = year + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        until = since + timedelta(minutes=rng.randrange(0, 12 * 24 * 60))
        assert calendar.between(since, until) == _minutes_worked(
            since, until, zone=zone, country=country
        ), (since, until)


def test_weekends_nights_and_holidays_do_not_count():
    calendar = WorkingCalendar("Europe/Brussels", frozenset({1, 2, 3, 4, 5}), time(8), time(18),
                               "BE")  # fmt: skip
    friday, tuesday = date(2025, 6, 6), date(2025, 6, 10)
    # Friday 16:00 to Tuesday 10:00: 2 h on Friday, Whit Monday closed, 2 h on Tuesday.
    assert calendar.between(_at(friday, 16), _at(tuesday, 10)) == 4 * 3600
    # The same span a week later, with no holiday: Monday counts its 10 h.
    week = timedelta(days=7)
    assert calendar.between(_at(friday, 16) + week, _at(tuesday, 10) + week) == 14 * 3600
    # Night and a whole weekend: nothing.
    assert calendar.between(_at(friday, 19), _at(date(2025, 6, 7), 23)) == 0
    # Without a country, holidays are working days like any other.
    plain = WorkingCalendar("Europe/Brussels", frozenset({1, 2, 3, 4, 5}), time(8), time(18))
    assert plain.between(_at(friday, 16), _at(tuesday, 10)) == 14 * 3600
    # The day's hours are the site's own: 08:00 in Lisbon is 09:00 in Brussels; and 10 June,
    # Portugal Day, is a holiday there.
    lisbon = WorkingCalendar("Europe/Lisbon", frozenset({1, 2, 3, 4, 5}), time(8), time(18), "PT")
    wednesday = date(2025, 6, 11)
    assert lisbon.between(_at(wednesday, 8), _at(wednesday, 9)) == 0
    assert lisbon.between(_at(wednesday, 9), _at(wednesday, 10)) == 3600
    assert lisbon.between(_at(tuesday, 9), _at(tuesday, 17)) == 0


@pytest.fixture
def working(shop, settings):
    """The unclassified domain counts working time (Mon-Fri 08-18) at a Belgian site."""
    settings.PORTAL_SLA_DECISION_SECONDS = 10 * 3600  # one working day
    settings.PORTAL_SLA_BUILD_SECONDS = 3600
    shop.site.country, shop.site.timezone = "BE", "Europe/Brussels"
    shop.site.save()
    shop.unclass.sla_clock = "working"
    shop.unclass.save()
    return shop


def _request_with(shop, moves: list[tuple[str, datetime]], allocation=None) -> ResourceRequest:
    """A request whose timeline is ``moves`` (state reached, when), written as a data load."""
    allocation = allocation or shop.low
    net = shop.low_net if allocation == shop.low else shop.high_net
    request = services.request_submit(user=shop.requester, kind=Kind.SERVER, allocation=allocation,
                                      spec=server_spec(net), justification=WHY)  # fmt: skip
    RequestTransition.objects.filter(request=request).update(at=moves[0][1])
    last = RequestState.PENDING_APPROVAL
    for state, at in moves[1:]:
        RequestTransition.objects.create(request=request, from_state=last, to_state=state, at=at)
        last = state
    ResourceRequest.objects.filter(pk=request.pk).update(state=last, created_at=moves[0][1])
    refresh([request.pk])
    return request


def _june(shop) -> list[ResourceRequest]:
    """June 2025's requests: across Whit Monday, a weekend, nights, and one still waiting."""
    day = date(2025, 6, 1)
    rng = random.Random("june")
    made = []
    for n in range(12):
        submitted = _at(day + timedelta(days=rng.randrange(0, 25)), rng.randrange(0, 24),
                        rng.randrange(0, 60))  # fmt: skip
        decided = submitted + timedelta(minutes=rng.randrange(30, 5 * 24 * 60))
        if n == 0:  # the holiday's own case: Friday 16:00 to Tuesday 10:00
            submitted, decided = _at(date(2025, 6, 6), 16), _at(date(2025, 6, 10), 10)
        built = decided + timedelta(minutes=1 + rng.randrange(0, 36 * 60))
        moves = [("pending_approval", submitted), ("approved", decided),
                 ("provisioning", decided + timedelta(seconds=5)),
                 ("completed", built)]  # fmt: skip
        made.append(_request_with(shop, moves if n != 11 else moves[:1]))
    return made


def test_the_report_counts_working_time_and_reconciles_with_the_timeline(working):
    requests = _june(working)
    as_of = _at(date(2025, 7, 15), 12)
    report = sla_report(ResourceRequest.objects.all(), period=Period.calendar_month("2025-06"),
                        now=as_of, late_limit=100)  # fmt: skip

    # Recomputed from the raw timeline, minute by minute, with nothing of the report's.
    decisions, builds, late = [], [], set()
    for request in requests:
        moves = {t.to_state: t.at for t in request.transitions.all()}
        submitted = moves["pending_approval"]
        if "approved" not in moves:
            waited = _minutes_worked(submitted, as_of, zone="Europe/Brussels", country="BE")
            if waited > 10 * 3600:
                late.add((request.pk, "decision", waited))
            continue
        decision = _minutes_worked(submitted, moves["approved"], zone="Europe/Brussels",
                                   country="BE")  # fmt: skip
        build = _minutes_worked(moves["approved"], moves["completed"], zone="Europe/Brussels",
                                country="BE")  # fmt: skip
        decisions.append(decision)
        builds.append(build)
        late |= {(request.pk, "decision", decision)} if decision > 10 * 3600 else set()
        late |= {(request.pk, "build", build)} if build > 3600 else set()

    [row] = report.rows
    assert row.requests == len(requests)
    assert (row.decision_stats.count, row.decision_stats.worst) == (11, max(decisions))
    assert (row.build_stats.count, row.build_stats.worst) == (11, max(builds))
    assert row.decision_breaches == sum(1 for _pk, t, _s in late if t == "decision")
    assert row.build_breaches == sum(1 for _pk, t, _s in late if t == "build")
    assert {(b.request.pk, b.target, b.took) for b in report.breaches} == late
    # The holiday's case: 4 working hours, within the day's target, though 90 h of calendar.
    holiday_case = SlaFact.objects.get(request=requests[0])
    assert holiday_case.decision_working_seconds == 4 * 3600
    assert holiday_case.decision_seconds == 90 * 3600
    assert requests[0].pk not in {pk for pk, t, _s in late if t == "decision"}
    # The late list pages the same breaches, in the same time.
    page, _next = late_page(ResourceRequest.objects.all(),
                            period=Period.calendar_month("2025-06"), limit=100)  # fmt: skip
    assert {(b.request.pk, b.target) for b in page} >= {
        (pk, t) for pk, t, _s in late if t == "build"
    }


def test_a_domain_switched_to_working_time_is_counted_anew(shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 10 * 3600
    request = _request_with(shop, [("pending_approval", _at(date(2025, 6, 6), 16)),
                                   ("approved", _at(date(2025, 6, 10), 10))])  # fmt: skip
    fact = SlaFact.objects.get(request=request)
    assert fact.decision_working_seconds is None  # calendar time: 90 h, late
    report = sla_report(ResourceRequest.objects.all(), period=Period.calendar_month("2025-06"))
    assert report.rows[0].decision_breaches == 1

    shop.site.country = "BE"
    shop.site.save()
    shop.unclass.sla_clock = "working"
    shop.unclass.save()
    assert sla_clocks_changed(domain=shop.unclass, fields=["marking"]) is None  # not the clock
    _run(sla_clocks_changed(domain=shop.unclass, fields=["sla_clock"]))  # the facts follow
    fact.refresh_from_db()
    assert fact.decision_working_seconds == 4 * 3600
    report = sla_report(ResourceRequest.objects.all(), period=Period.calendar_month("2025-06"))
    assert report.rows[0].decision_breaches == 0


def _run(message_id: int) -> None:
    """Run an outbox message's task here, as the worker would."""
    message = OutboxMessage.objects.get(pk=message_id)
    module, name = message.task.rsplit(".", 1)
    getattr(importlib.import_module(module), name)(*message.args, **message.kwargs)


def test_editing_a_calendar_in_the_admin_counts_the_facts_anew(client, working, settings):
    request = _request_with(working, [("pending_approval", _at(date(2025, 6, 6), 16)),
                                      ("approved", _at(date(2025, 6, 10), 10))])  # fmt: skip
    assert SlaFact.objects.get(request=request).decision_working_seconds == 4 * 3600
    admin = make_user("root")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    client.force_login(admin)
    domain = working.unclass
    data = {k: ("" if v is None else v) for k, v in model_to_dict(domain).items()}
    data |= {"working_from": "09:00", "working_until": "18:00", "_save": "Save"}
    response = client.post(reverse("admin:tenants_securitydomain_change", args=[domain.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    [message] = OutboxMessage.objects.filter(task="provisioning.tasks.sla_clocks_refresh")
    _run(message.pk)
    # Friday 16-18 and Tuesday 09-10: 3 h now.
    assert SlaFact.objects.get(request=request).decision_working_seconds == 3 * 3600


def test_a_wait_still_running_is_late_by_working_time(working):
    submitted = _at(date(2025, 6, 6), 16)  # Friday before Whit Monday
    request = _request_with(working, [("pending_approval", submitted)])
    month = Period.calendar_month("2025-06")
    # Tuesday 13:00: 2 h on Friday + 5 h on Tuesday = 7 h < 10 h. On time, though 93 h passed.
    report = sla_report(ResourceRequest.objects.all(), period=month,
                        now=_at(date(2025, 6, 10), 13))  # fmt: skip
    assert report.rows[0].decision_breaches == 0
    # Wednesday 09:00: 2 + 10 + 1 = 13 h: late by 3 working hours.
    report = sla_report(ResourceRequest.objects.all(), period=month,
                        now=_at(date(2025, 6, 11), 9))  # fmt: skip
    [breach] = report.breaches
    assert (breach.request.pk, breach.still_waiting, breach.late_by) == (request.pk, True, 3 * 3600)


def test_deadlines_count_working_time(working, settings):
    settings.PORTAL_DEADLINE_REMINDERS = (0.5,)
    settings.PORTAL_ESCALATE_TO_OPERATORS_AT = 1.5
    request = _request_with(working, [("pending_approval", _at(date(2025, 6, 6), 16))])
    ResourceRequest.objects.filter(pk=request.pk).update(created_at=_at(date(2025, 6, 6), 16))
    # Friday 20:00: 2 working hours of 10. Whit Monday noon: still 2. Nothing due.
    assert deadlines_sweep(_at(date(2025, 6, 6), 20)) == 0
    assert deadlines_sweep(_at(WHIT_MONDAY, 12)) == 0
    # Tuesday 11:00: 5 h, half the target: the reminder.
    assert deadlines_sweep(_at(date(2025, 6, 10), 11)) == 1
    # Wednesday 08:00 is 12 h of working time: breached, the managers are told.
    assert deadlines_sweep(_at(date(2025, 6, 11), 8)) == 1


def test_the_page_csv_and_api_show_the_calendar(client, working):
    _june(working)
    operator = make_portal_role("olga", "operate_portal")
    client.force_login(operator)
    page = client.get(reverse("sla-report") + "?month=2025-06").content.decode()
    assert "Working time" in page and "08:00" in page and "18:00" in page
    assert "Pentecost Monday" in page and "9 June 2025" in page
    csv_text = b"".join(
        client.get(reverse("sla-report") + "?month=2025-06&format=csv").streaming_content
    ).decode()
    # Pentecost itself is a Sunday: no working time to take out.
    assert "Pentecost Monday" in csv_text and "Pentecost," not in csv_text
    api = client.get(reverse("api:report-sla") + "?month=2025-06").json()
    [calendar] = api["calendars"]
    assert calendar["domain"] == working.unclass.marking
    assert calendar["counts"] == "working"
    assert calendar["hours"] == {"days": [1, 2, 3, 4, 5], "from": "08:00", "until": "18:00"}
    assert {"site": "Mons", "date": "2025-06-09", "name": "Pentecost Monday"} in api["holidays"]


def test_calendar_of_follows_the_domain_and_the_site(shop):
    assert calendar_of(shop.site, shop.unclass) is None
    shop.unclass.sla_clock = "working"
    shop.unclass.working_days, shop.unclass.working_from = "1234", time(9)
    shop.site.country, shop.site.timezone = "PT", "Europe/Lisbon"
    calendar = calendar_of(shop.site, shop.unclass)
    assert calendar.weekdays == {1, 2, 3, 4} and calendar.start == time(9)
    assert (calendar.zone, calendar.country) == ("Europe/Lisbon", "PT")


def test_the_demo_database_path_counts_the_same(working, monkeypatch):
    """SQLite (the newcomer's demo) computes the report in Python: the same figures."""
    _june(working)
    month, as_of = Period.calendar_month("2025-06"), _at(date(2025, 7, 15), 12)

    def figures():
        report = sla_report(ResourceRequest.objects.all(), period=month, now=as_of,
                            late_limit=100)  # fmt: skip
        [row] = report.rows
        late = sorted((b.request.pk, b.target, round(b.took, 6)) for b in report.breaches)
        stats = (row.decision_stats, row.build_stats, row.decision_breaches, row.build_breaches)
        return stats, late

    in_sql = figures()
    monkeypatch.setattr("provisioning.sla._use_sql", lambda: False)
    assert figures() == in_sql
