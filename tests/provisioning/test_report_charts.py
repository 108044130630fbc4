"""The reports' pictures: the weekly figures reconcile with the facts, the SVG is well formed,
accessible and escapes what it is given, and each chart has its table."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.urls import reverse

from provisioning import sla
from provisioning.charts import Series, bar_chart, line_chart
from provisioning.models import Kind, ResourceRequest, SlaFact
from provisioning.sla import Period, sla_trend
from tests.factories import set_timeline

pytestmark = pytest.mark.django_db

WHY = "Needed for the exercise next week."
SVG = "{http://www.w3.org/2000/svg}"


def _history(shop, n: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    for i in range(n):
        request = ResourceRequest.objects.create(
            kind=Kind.NETWORK, allocation=shop.low, requester=shop.requester,
            justification=WHY, spec={"name": f"net-{i}"},
        )  # fmt: skip
        submitted = rng.randint(60, 20 * 24 * 60)  # within the last 20 days
        decided = submitted - rng.randint(5, 600)
        built = decided - rng.randint(1, 60)
        moves = [("pending_approval", submitted), ("approved", decided),
                 ("provisioning", decided - 1), ("completed", max(built, 0))]  # fmt: skip
        set_timeline(request, moves)


def _by_hand(period: Period) -> dict:
    """The weekly percentiles recomputed from the facts, the way percentile_cont does."""
    weeks: dict = {}
    for fact in SlaFact.objects.filter(created_at__gte=period.since, created_at__lt=period.until):
        day = fact.created_at
        monday = (day - timedelta(days=day.weekday())).date()
        weeks.setdefault(monday, ([], []))
        if fact.decision_seconds is not None:
            weeks[monday][0].append(fact.decision_seconds)
        if fact.build_seconds is not None:
            weeks[monday][1].append(fact.build_seconds)
    return {
        monday: tuple(
            (sla._at(sorted(v), 0.5), sla._at(sorted(v), 0.9)) if v else (None, None)
            for v in values
        )
        for monday, values in weeks.items()
    }


@pytest.mark.parametrize("in_sql", [True, False])
def test_weekly_figures_reconcile_with_the_facts(shop, monkeypatch, in_sql):
    _history(shop, 40)
    if not in_sql:
        monkeypatch.setattr(sla, "_use_sql", lambda: False)
    period = Period.last_days(30)
    weeks = sla_trend(SlaFact.objects.all(), period)
    expected = _by_hand(period)
    assert sum(w.requests for w in weeks) == 40
    assert {w.week.date() for w in weeks} == set(expected)
    for w in weeks:
        (d50, d90), (b50, b90) = expected[w.week.date()]
        assert w.decision.p50 == pytest.approx(d50) and w.decision.p90 == pytest.approx(d90)
        assert w.build.p50 == pytest.approx(b50) and w.build.p90 == pytest.approx(b90)


def test_a_line_chart_is_well_formed_labelled_and_escaped():
    svg = line_chart(
        ["2026-11-02", "2026-11-09", "2026-11-16"],
        [Series("p50 <script>", [1.0, None, 3.0]), Series("p90", [2.0, 4.0, 5.0])],
        title="Decision time & more", description="Hours per week", unit="hours",
    )  # fmt: skip
    root = ET.fromstring(str(svg))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Decision time & more"
    assert root.find(f"{SVG}desc").get("id") == desc_id
    assert "<script>" not in str(svg) and "p50 &lt;script&gt;" in str(svg)
    # A gap in a series breaks its line; the other is one line of three points.
    lines = root.findall(f"{SVG}polyline")
    assert sorted(len(p.get("points").split()) for p in lines) == [1, 1, 3]
    assert root.find(f".//{SVG}*[@style]") is None  # no inline style: the CSP allows none


def test_a_bar_chart_marks_the_target_and_the_bars_below_it():
    svg = bar_chart([("Mons", 99.9), ("Oeiras", 97.0), ("The Hague", None)],
                    title="Availability", description="Per site", unit="per cent",
                    low=90, high=100, target=99.5)  # fmt: skip
    root = ET.fromstring(str(svg))
    fills = [r.get("fill") for r in root.findall(f"{SVG}rect")]
    assert len(fills) == 2 and fills[0] != fills[1]  # Oeiras below target: the other colour
    assert any(t.text == "—" for t in root.findall(f"{SVG}text"))  # no figure for The Hague
    assert any(line.get("stroke-dasharray") == "4 3" for line in root.findall(f"{SVG}line"))


def test_the_sla_page_draws_the_charts_with_their_tables(client, shop):
    _history(shop, 12)
    client.force_login(shop.approver)
    page = client.get(reverse("sla-report")).content.decode()
    assert 'hx-get="?part=weeks"' in page
    assert '<svg class="chart"' not in page  # the weekly figures come in a request of their own
    weeks = client.get(reverse("sla-report"), {"part": "weeks"}, HTTP_HX_REQUEST="true")
    fragment = weeks.content.decode()
    assert fragment.count('<svg class="chart"') == 2  # decision and build per week
    assert "The figures per week" in fragment and "<html" not in fragment


def test_the_availability_chart_appears_once_something_was_measured(client, shop):
    from django.utils import timezone

    from provisioning.cloud.probe import ServiceCheck
    from provisioning.services.availability import probe_record

    client.force_login(shop.approver)
    page = client.get(reverse("sla-report")).content.decode()
    assert "Availability per site" not in page
    probe_record(shop.low.region, timezone.now(), [ServiceCheck("compute", True, 9.0)])
    page = client.get(reverse("sla-report")).content.decode()
    assert page.count('<svg class="chart"') == 1 and "Availability per site" in page
    assert "The figures per site" in page
