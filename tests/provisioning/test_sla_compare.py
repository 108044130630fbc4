"""The SLA report's figures against a computation of our own, straight from the timeline.

The expected values are derived here in plain Python from ``RequestTransition`` rows, with the
rules of ``provisioning.sla``'s docstring (first submission, first decision, first approval, last
completion; still-waiting requests late up to now; each domain's own targets; a failed build is
failed, not late). Whatever the report reads (timelines, facts, rollups), the figures must agree.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning import services
from provisioning.models import Kind, RequestTransition, ResourceRequest
from provisioning.selectors import requests_visible_to
from provisioning.sla import Grouping, sla_report
from tests.factories import make_user, server_spec, set_timeline

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."

# (domain, kind, timeline as (state, minutes ago)), oldest move first.
TIMELINES = [
    ("low", "server", [("pending_approval", 100), ("approved", 80), ("provisioning", 79),
                       ("completed", 75)]),
    ("low", "server", [("pending_approval", 200), ("approved", 110), ("provisioning", 109),
                       ("completed", 80)]),
    ("low", "server", [("pending_approval", 120)]),
    ("low", "server", [("pending_approval", 300), ("rejected", 250)]),
    ("low", "server", [("pending_approval", 500), ("cancelled", 380)]),
    ("low", "server", [("pending_approval", 400), ("approved", 390), ("provisioning", 389),
                       ("failed", 300)]),
    ("low", "server", [("pending_approval", 1000), ("approved", 950), ("provisioning", 949),
                       ("failed", 900), ("approved", 800), ("provisioning", 799),
                       ("completed", 700)]),
    ("low", "server", [("pending_approval", 61), ("approved", 47)]),
    ("low", "network", [("pending_approval", 90), ("approved", 85), ("provisioning", 84),
                        ("completed", 83)]),
    ("low", "network", [("pending_approval", 30)]),
    ("high", "server", [("pending_approval", 301), ("approved", 101)]),
    ("high", "server", [("pending_approval", 601)]),
    ("high", "server", [("pending_approval", 251), ("approved", 249), ("provisioning", 248),
                        ("completed", 231)]),
    ("high", "network", [("pending_approval", 51), ("cancelled", 41)]),
    ("high", "network", [("pending_approval", 9000), ("approved", 8000),
                         ("provisioning", 7990), ("completed", 7000)]),
    ("low", "network", [("pending_approval", 60 * 24 * 40), ("approved", 60 * 24 * 39)]),
]  # fmt: skip


def _submit(shop, where: str, kind: str, n: int) -> ResourceRequest:
    allocation, net = (shop.low, shop.low_net) if where == "low" else (shop.high, shop.high_net)
    spec = server_spec(net) if kind == Kind.SERVER else {"name": "net", "cidr": f"10.9.{n}.0/24"}
    return services.request_submit(user=shop.requester, kind=kind, allocation=allocation,
                                   spec=spec, justification=WHY)  # fmt: skip


@pytest.fixture
def history(shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    settings.PORTAL_SLA_BUILD_SECONDS = 10 * 60
    shop.secret.sla_decision = timedelta(hours=4)
    shop.secret.save()
    return [
        set_timeline(_submit(shop, where, kind, n), moves)
        for n, (where, kind, moves) in enumerate(TIMELINES)
    ]


def expected(requests, *, grouping: Grouping, since, now, defaults):
    """Rows {(group label, kind): figures} and late [(pk, target, late_by, waiting)]."""
    timelines = defaultdict(list)
    for t in RequestTransition.objects.filter(request__in=requests).order_by("at", "id"):
        timelines[t.request_id].append((t.to_state, t.at))
    rows = defaultdict(lambda: {"requests": 0, "decision": [], "build": [], "decision_late": 0,
                                "build_late": 0, "failed": 0})  # fmt: skip
    late = []
    for request in requests.filter(created_at__gte=since).select_related(
        "allocation__tenant", "allocation__region__site", "allocation__region__domain"
    ):
        region = request.allocation.region
        label = {Grouping.DOMAIN: region.domain.marking, Grouping.SITE: region.site.name,
                 Grouping.TENANT: request.allocation.tenant.name}[grouping]  # fmt: skip
        decision_target = (region.domain.sla_decision or defaults[0]).total_seconds()
        build_target = (region.domain.sla_build or defaults[1]).total_seconds()
        moments = timelines[request.pk]

        def first(*states, moments=moments):
            return next((at for state, at in moments if state in states), None)

        submitted = first("pending_approval")
        decided = first("approved", "rejected", "cancelled")
        approved = first("approved")
        completed = max((at for s, at in moments if s == "completed"), default=None)
        row = rows[(label, request.kind)]
        row["requests"] += 1
        row["failed"] += request.state == "failed"
        if submitted:
            took = ((decided or now) - submitted).total_seconds()
            if decided:
                row["decision"].append(took)
            if took > decision_target:
                row["decision_late"] += 1
                late.append((request.pk, "decision", took - decision_target, decided is None))
        building = request.state in ("approved", "provisioning")
        if approved and (completed or building):
            took = ((completed or now) - approved).total_seconds()
            if completed:
                row["build"].append(took)
            if took > build_target:
                row["build_late"] += 1
                late.append((request.pk, "build", took - build_target, completed is None))
    late.sort(key=lambda entry: -entry[2])
    return rows, late


def _check_stats(stats, values: list[float]) -> None:
    assert stats.count == len(values)
    if not values:
        assert (stats.p50, stats.p90, stats.worst) == (None, None, None)
        return
    ordered = sorted(values)
    assert stats.p50 == pytest.approx(statistics.median(ordered), abs=0.01)
    assert stats.worst == pytest.approx(ordered[-1], abs=0.01)
    # The 90th percentile: between the two values around the 90 % position (nearest rank and
    # linear interpolation both land there).
    position = 0.9 * (len(ordered) - 1)
    low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
    assert low - 0.01 <= stats.p90 <= high + 0.01


def _compare(report, requests, *, grouping, defaults, now):
    rows, late = expected(
        requests, grouping=grouping, since=report.period.since, now=now, defaults=defaults
    )
    assert {(r.group, r.kind) for r in report.rows} == set(rows)
    for row in report.rows:
        want = rows[(row.group, row.kind)]
        assert (row.requests, row.decision_breaches, row.build_breaches, row.failed) == (
            want["requests"], want["decision_late"], want["build_late"], want["failed"]
        )  # fmt: skip
        _check_stats(row.decision_stats, want["decision"])
        _check_stats(row.build_stats, want["build"])
    got = [(b.request.pk, b.target, b.late_by, b.still_waiting) for b in report.breaches]
    assert [(pk, target, waiting) for pk, target, _, waiting in got] == [
        (pk, target, waiting) for pk, target, _, waiting in late
    ]
    for (_, _, got_by, _), (_, _, want_by, _) in zip(got, late, strict=True):
        assert got_by == pytest.approx(want_by, abs=5)  # "now" differs by the test's runtime


@pytest.mark.parametrize("grouping", list(Grouping))
def test_figures_equal_a_computation_from_the_timeline(history, grouping, settings):
    defaults = (timedelta(seconds=3600), timedelta(seconds=600))
    report = sla_report(ResourceRequest.objects.all(), grouping=grouping)
    _compare(report, ResourceRequest.objects.all(), grouping=grouping, defaults=defaults,
             now=timezone.now())  # fmt: skip
    assert len(report.rows) > 1 and len(report.breaches) > 5  # the fixture is varied enough


def test_figures_of_a_member_equal_the_computation_over_what_they_see(history, shop):
    defaults = (timedelta(seconds=3600), timedelta(seconds=600))
    low_only = make_user("low", memberships={shop.tenant: "viewer"}, domains=(shop.unclass,),
                         sites=(shop.site,))  # fmt: skip
    visible = requests_visible_to(low_only)
    report = sla_report(visible)
    _compare(report, visible, grouping=Grouping.DOMAIN, defaults=defaults, now=timezone.now())
    assert {r.group for r in report.rows} == {shop.unclass.marking}
