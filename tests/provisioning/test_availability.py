"""Availability probes: what a probe measures on a real (simulated) cloud over HTTP, how runs
become rollups, states and incidents, and who sees them."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import OutboxMessage
from portal.singleflight import _key as single_flight_key
from provisioning.availability import (
    LATENCY_BOUNDS,
    add_to_histogram,
    availability_of,
    percentile_of,
)
from provisioning.cloud.probe import ServiceCheck
from provisioning.models import AvailabilityHour, Incident, ProbeCheck, ServiceStatus
from provisioning.services.availability import (
    probe_checks_purge,
    probe_record,
    probe_region,
)
from provisioning.tasks import periodic_probe
from tests.factories import CloudRegionFactory, SiteFactory, make_portal_role, make_user

pytestmark = pytest.mark.django_db

OK = [ServiceCheck(s, True, 10.0) for s in ("identity", "compute", "network", "image")]


def _down(service: str = "compute", error: str = "HTTP 503") -> list[ServiceCheck]:
    return [c if c.service != service else ServiceCheck(service, False, 3.0, error) for c in OK]


# --- the figures -------------------------------------------------------------------------


def test_percentiles_from_histograms_are_within_a_fifth_of_the_exact_figure():
    rng = random.Random(7)
    for _ in range(20):
        latencies = [rng.lognormvariate(3, 1.2) for _ in range(rng.randint(5, 3000))]
        buckets: list[int] = []
        for latency in latencies:
            buckets = add_to_histogram(buckets, latency)
        ordered = sorted(latencies)
        for fraction in (0.5, 0.95):
            exact = ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]
            estimate = percentile_of(buckets, fraction)
            assert abs(estimate - exact) <= exact * 0.2 + 1, (fraction, exact, estimate)
    assert percentile_of([], 0.5) is None
    assert LATENCY_BOUNDS[-1] >= 120_000


def test_a_run_is_recorded_per_service_and_for_the_whole_region(shop):
    region = shop.low.region
    at = timezone.now().replace(minute=30)
    probe_record(region, at, OK)
    probe_record(region, at + timedelta(minutes=1), _down())
    hour = AvailabilityHour.objects.get(region=region, service="region")
    assert (hour.probes, hour.failures) == (2, 1)
    assert hour.hour == at.replace(minute=0, second=0, microsecond=0)
    compute = AvailabilityHour.objects.get(region=region, service="compute")
    assert (compute.probes, compute.failures, sum(compute.latency_buckets)) == (2, 1, 1)
    network = AvailabilityHour.objects.get(region=region, service="network")
    assert (network.probes, network.failures) == (2, 0)
    whole = ProbeCheck.objects.filter(region=region, service="region").order_by("at")
    assert [c.ok for c in whole] == [True, False]
    assert whole[1].error == "compute: HTTP 503"
    assert whole[0].latency_ms == 40.0  # the run's total


def test_an_incident_opens_after_failures_in_a_row_and_closes_on_the_next_answer(shop, settings):
    settings.PORTAL_PROBE_INCIDENT_AFTER = 2
    region, start = shop.low.region, timezone.now() - timedelta(minutes=10)
    probe_record(region, start, _down())
    assert not Incident.objects.exists()  # one failure is a blip, not an incident
    status = ServiceStatus.objects.get(region=region, service="compute")
    assert (status.ok, status.failures_in_a_row, status.failing_since) == (False, 1, start)
    for minute in (1, 2, 3):
        probe_record(region, start + timedelta(minutes=minute), _down(error=f"try {minute}"))
    (incident,) = Incident.objects.filter(service="compute")
    whole = Incident.objects.get(service="region")
    assert incident.started_at == start  # dated from the first failure of the run
    assert (incident.ended_at, incident.failed_probes, incident.last_error) == (None, 4, "try 3")
    back = start + timedelta(minutes=4)
    probe_record(region, back, OK)
    incident.refresh_from_db()
    whole.refresh_from_db()
    assert incident.ended_at == back and whole.ended_at == back
    assert incident.duration_seconds == 240
    status.refresh_from_db()
    assert (status.ok, status.failures_in_a_row, status.failing_since) == (True, 0, None)
    # The next outage is a new incident, never a reopened one.
    probe_record(region, back + timedelta(minutes=1), _down())
    probe_record(region, back + timedelta(minutes=2), _down())
    assert Incident.objects.filter(service="compute").count() == 2


def test_the_figures_reconcile_with_the_raw_checks(shop, settings):
    """Availability over a period, from the rollups, equals a recount of the checks."""
    settings.PORTAL_PROBE_EVERY = 60
    region = shop.low.region
    rng = random.Random(3)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    for minute in range(5 * 60):
        checks = _down() if rng.random() < 0.07 else OK
        probe_record(region, start + timedelta(minutes=minute), checks)
    (figures,) = availability_of([region], start, start + timedelta(hours=5))
    checks = ProbeCheck.objects.filter(region=region, service="region")
    ok = checks.filter(ok=True).count()
    assert figures.whole.probes == checks.count() == 300
    assert figures.whole.percent == (Decimal(ok) * 100 / 300).quantize(Decimal("0.001"))
    assert figures.whole.measured_percent == Decimal("100.0")
    assert figures.services["network"].percent == Decimal("100.000")
    downtime = sum(
        (
            (i.ended_at or start + timedelta(hours=5)) - i.started_at
            for i in figures.incidents
            if i.service == "region"
        ),
        timedelta(),
    )
    assert figures.downtime == downtime


def test_old_checks_are_purged_and_the_rollups_stay(shop, settings):
    settings.PORTAL_PROBE_RETENTION_DAYS = 30
    region, now = shop.low.region, timezone.now()
    probe_record(region, now - timedelta(days=31), _down())
    probe_record(region, now - timedelta(days=1), OK)
    assert probe_checks_purge(now) == 5
    assert ProbeCheck.objects.filter(at__lt=now - timedelta(days=30)).count() == 0
    assert ProbeCheck.objects.count() == 5
    assert AvailabilityHour.objects.filter(region=region, service="region").count() == 2


# --- probing a cloud over HTTP ------------------------------------------------------------


@pytest.fixture
def sim_regions(cloudsim_clean, settings):
    """Two regions of the simulated cloud, as clouds.yaml names them."""
    settings.CLOUDS_YAML = str(cloudsim_clean.clouds_yaml)
    settings.PORTAL_PROBE_TIMEOUT = 0.5
    site = SiteFactory(name="Lisbon", slug="lisbon")
    one = CloudRegionFactory(site=site, slug="sim-one", cloud_name="sim-admin")
    two = CloudRegionFactory(site=site, slug="sim-two", cloud_name="sim-admin-r2")
    return cloudsim_clean, one, two


def test_a_probe_asks_for_a_token_and_lists_on_every_service(sim_regions):
    sim, one, _two = sim_regions
    sim.control.clear_counts()
    checks = probe_region(one.pk)
    assert [(c.service, c.ok) for c in checks] == [
        ("identity", True), ("compute", True), ("network", True), ("image", True),
        ("block-storage", True),
    ]  # fmt: skip
    assert all(c.latency_ms > 0 for c in checks)
    counts = sim.control.counts()
    assert counts.get("identity.token.create") == 1  # a new token each probe
    status = {s.service: s.ok for s in ServiceStatus.objects.filter(region=one)}
    assert status == dict.fromkeys(
        ["region", "identity", "compute", "network", "image", "block-storage"], True
    )


def test_a_region_down_is_measured_and_becomes_an_incident(sim_regions, settings):
    settings.PORTAL_PROBE_INCIDENT_AFTER = 2
    sim, one, two = sim_regions
    sim.control.outage("RegionTwo")
    for _ in range(2):
        checks = probe_region(two.pk)
    assert {c.service: c.ok for c in checks} == {
        "identity": True, "compute": False, "network": False, "image": False,
        "block-storage": False,
    }  # fmt: skip
    assert "503" in next(c.error for c in checks if c.service == "compute")
    assert Incident.objects.get(region=two, service="region").ended_at is None
    assert all(c.ok for c in probe_region(one.pk))  # the other region is up
    sim.control.end_outage("RegionTwo")
    probe_region(two.pk)
    assert Incident.objects.get(region=two, service="region").ended_at is not None
    assert not Incident.objects.filter(region=one).exists()


def test_a_hung_cloud_costs_its_probe_a_bounded_time(sim_regions):
    """A cloud that stopped answering: each call gives up at the probe's timeout."""
    sim, _one, two = sim_regions
    sim.control.outage("RegionTwo", mode="hang", seconds=3)
    started = time.monotonic()
    checks = probe_region(two.pk)
    took = time.monotonic() - started
    assert not any(c.ok for c in checks if c.service != "identity")
    assert "did not answer" in next(c.error for c in checks if c.service == "network")
    # Four services, each at most version discovery + one call at 0.5 s, far below the hang.
    assert took < 4 * 2 * 0.5 + 1.5


def test_a_region_is_never_probed_twice_at_once(sim_regions):
    """Another process (another database session) probing the region: this run steps aside."""
    _sim, one, _two = sim_regions
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [single_flight_key("probe"), one.pk])
        assert probe_region(one.pk) is None
        assert not ProbeCheck.objects.filter(region=one).exists()
        # Let go before the next run asks (a closed session's backend may outlive the close
        # for a moment, and its lock with it).
        with other.cursor() as cursor:
            key = [single_flight_key("probe"), one.pk]
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    finally:
        other.close()
    assert probe_region(one.pk) is not None


def test_a_late_run_is_dropped_not_run_in_a_burst(sim_regions, settings):
    settings.PORTAL_PROBE_EVERY = 60
    _sim, one, _two = sim_regions
    assert probe_region(one.pk, due=timezone.now() - timedelta(seconds=61)) is None
    assert not ProbeCheck.objects.exists()


def test_beat_fans_out_one_probe_per_enabled_region(shop):
    disabled = CloudRegionFactory(site=SiteFactory(slug="off"), enabled=False)
    periodic_probe()
    messages = OutboxMessage.objects.filter(task="provisioning.tasks.probe_region")
    probed = sorted(m.args[0] for m in messages)
    assert probed == sorted([shop.low.region.pk, shop.high.region.pk])
    assert disabled.pk not in probed
    assert all("due" in m.kwargs for m in messages)


# --- who sees what ------------------------------------------------------------------------


@pytest.fixture
def outage(shop, settings):
    """The shop's secret region down since ten minutes, with an error naming its endpoint."""
    settings.PORTAL_PROBE_INCIDENT_AFTER = 2
    start = timezone.now() - timedelta(minutes=10)
    for minute in range(10):
        probe_record(shop.low.region, start + timedelta(minutes=minute), OK)
        probe_record(
            shop.high.region, start + timedelta(minutes=minute),
            [ServiceCheck(s, False, 500.0, "https://secret-endpoint:8774 timed out")
             for s in ("identity", "compute", "network", "image")],
        )  # fmt: skip
    return shop


def test_the_status_page_shows_only_entitled_regions(client, outage):
    low_only = make_user(
        "uma", memberships={outage.tenant: "requester"}, domains=(outage.unclass,),
        sites=(outage.site,),
    )  # fmt: skip
    client.force_login(low_only)
    page = client.get(reverse("cloud-status")).content.decode()
    assert outage.low.region.slug in page
    assert outage.high.region.slug not in page
    assert "secret-endpoint" not in page
    assert "100.000 %" in page

    client.force_login(outage.requester)  # cleared for both domains
    page = client.get(reverse("cloud-status")).content.decode()
    assert outage.high.region.slug in page and "Down" in page
    assert "secret-endpoint" not in page  # what a cloud answers is for operators

    client.force_login(make_portal_role("olga", "operate_portal"))
    page = client.get(reverse("cloud-status")).content.decode()
    assert "secret-endpoint" in page
    assert "ongoing" in page


def test_the_status_page_costs_the_same_queries_for_more_regions(client, outage):
    operator = make_portal_role("olga", "operate_portal")

    def queries() -> int:
        client.force_login(operator)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("cloud-status")).status_code == 200
        return len(captured)

    before = queries()
    site = SiteFactory(slug="more")
    for _ in range(3):
        region = CloudRegionFactory(site=site)
        probe_record(region, timezone.now(), _down())
        probe_record(region, timezone.now(), _down())
    assert queries() == before


def test_the_api_says_the_same_and_hides_errors_from_all_but_operators(outage):
    client = APIClient()
    client.force_authenticate(outage.requester)
    body = client.get("/api/v1/status/").json()
    states = {r["region"]: r["state"] for r in body}
    assert states == {outage.low.region.slug: "up", outage.high.region.slug: "down"}
    high = next(r for r in body if r["region"] == outage.high.region.slug)
    assert high["day_percent"] == "0.000"
    assert {i["service"] for i in high["open_incidents"]} == {
        "region", "identity", "compute", "network", "image"
    }  # fmt: skip
    assert {s["error"] for s in high["services"]} == {None}
    incidents = client.get("/api/v1/incidents/", {"open": "true"}).json()["results"]
    assert {i["region"] for i in incidents} == {outage.high.region.slug}
    assert {i["last_error"] for i in incidents} == {None}

    client.force_authenticate(make_portal_role("olga", "operate_portal"))
    incidents = client.get("/api/v1/incidents/", {"region": outage.high.region.slug}).json()
    assert {i["last_error"] for i in incidents["results"]} == {
        "https://secret-endpoint:8774 timed out",
        "identity: https://secret-endpoint:8774 timed out",  # the whole region's: its first cause
    }
    assert client.get("/api/v1/incidents/", {"open": "false"}).json()["results"] == []


def test_the_sla_report_holds_each_region_to_its_target(outage):
    outage.low.region.availability_target = Decimal("99.9")
    outage.low.region.save()
    client = APIClient()
    client.force_authenticate(outage.requester)
    body = client.get("/api/v1/reports/sla/", {"days": 7}).json()
    figures = {a["region"]: a for a in body["availability"]}
    low, high = figures[outage.low.region.slug], figures[outage.high.region.slug]
    assert (low["availability_percent"], low["target_percent"], low["met"]) == (
        "100.000", "99.900", True,
    )  # fmt: skip
    assert (high["availability_percent"], high["met"], high["probes"]) == ("0.000", False, 10)
    assert high["incidents"] == 1 and high["down_seconds"] >= 540


def test_the_sla_csv_and_page_carry_the_availability(client, outage):
    client.force_login(outage.requester)
    page = client.get(reverse("sla-report"), {"days": 7}).content.decode()
    assert "Availability" in page and "0.000 %" in page
    lines = b"".join(client.get(reverse("sla-report"), {"days": 7, "format": "csv"})).decode()
    rows = [line for line in lines.splitlines() if line.startswith(outage.high.region.slug)]
    assert rows and ",0.000,99.500,False,10,10,1," in rows[0]
