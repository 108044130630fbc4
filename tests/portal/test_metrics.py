"""/metrics: who may read it, what it says, that Prometheus' own tools accept it, and that every
alert rule names a metric the portal really exposes."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from portal import tasks as portal_tasks
from portal.health import heartbeat_record
from portal.metrics import shared
from portal.metrics.collectors import collector
from portal.models import AuditEvent, OutboxMessage
from provisioning import services
from provisioning.models import Incident, Kind, ServiceStatus
from provisioning.services.deadlines import deadlines_sweep
from tests.factories import server_spec
from tests.metrics import samples

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "portal-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "portal-alerts.test.yml"


@pytest.fixture
def metrics_redis(redis_server, settings):
    """Cluster-wide counters kept in a Redis of the test's own, empty at the start."""
    import redis

    settings.PORTAL_METRICS_REDIS_URL = redis_server.url
    redis.Redis.from_url(redis_server.url).flushdb()
    collector.forget()
    yield redis_server
    collector.forget()


def scrape(client, **extra) -> str:
    collector.forget()
    answer = client.get("/metrics", **extra)
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=")
    return answer.content.decode()


def value(text: str, metric: str, **labels) -> float | None:
    return samples(text).get((metric, tuple(sorted(labels.items()))))


def test_only_the_allowed_networks_or_the_token_read_it(client, settings):
    settings.PORTAL_METRICS_TOKEN = "s3cret-scraper-token"
    assert client.get("/metrics").status_code == 200  # loopback, the default
    elsewhere = {"REMOTE_ADDR": "10.20.30.40"}
    refused = client.get("/metrics", **elsewhere)
    assert refused.status_code == 403 and b"portal_" not in refused.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scraper-token",
                      **elsewhere).status_code == 200  # fmt: skip
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess").status_code == 403
    settings.PORTAL_METRICS_ALLOW = ["10.20.0.0/16"]
    assert client.get("/metrics", **elsewhere).status_code == 200
    assert client.get("/metrics").status_code == 403


def test_answers_are_counted_per_view_not_per_path(client, shop):
    client.force_login(shop.requester)
    for _ in range(3):
        assert client.get("/servers/").status_code == 200
    assert client.get("/no/such/page/").status_code == 404
    text = scrape(client)

    assert value(text, "portal_http_requests_total", view="server-list", method="GET",
                 status="200") >= 3  # fmt: skip
    assert value(text, "portal_http_requests_total", view="unresolved", method="GET",
                 status="404") >= 1  # fmt: skip
    assert value(text, "portal_http_request_duration_seconds_count", view="server-list",
                 method="GET") >= 3  # fmt: skip
    assert "/servers/" not in text


def test_the_clusters_state_is_read_from_the_database(client, shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    waiting = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
        spec=server_spec(shop.low_net), justification="Needed for the exercise next week.",
    )  # fmt: skip
    services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
        spec=server_spec(shop.low_net, name="second"), justification="And a second one.",
    )  # fmt: skip
    type(waiting).objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    deadlines_sweep()
    region = shop.low.region
    now = timezone.now()
    ServiceStatus.objects.create(region=region, service="compute", at=now - timedelta(seconds=40),
                                 ok=False, latency_ms=1500.0)  # fmt: skip
    Incident.objects.create(region=region, service="compute", started_at=now)
    OutboxMessage.objects.create(task="portal.tasks.periodic_heartbeat",
                                 created_at=now - timedelta(minutes=5), not_before=now)  # fmt: skip
    heartbeat_record(hostname="worker-1")

    text = scrape(client)

    assert value(text, "portal_requests_open", state="pending_approval", kind="server") == 2
    assert value(text, "portal_sla_decisions_late", domain="unclass") == 1
    assert value(text, "portal_region_up", region=region.slug, service="compute") == 0
    assert value(text, "portal_region_probe_latency_seconds", region=region.slug,
                 service="compute") == 1.5  # fmt: skip
    assert value(text, "portal_region_probe_age_seconds", region=region.slug,
                 service="compute") >= 40  # fmt: skip
    assert value(text, "portal_incidents_open", region=region.slug) == 1
    assert value(text, "portal_sla_decisions_late", domain="secret") == 0  # zeros are kept
    assert value(text, "portal_outbox_messages") >= 1
    assert value(text, "portal_outbox_lag_seconds") >= 300
    assert value(text, "portal_heartbeat_age_seconds", name="schedule") < 60
    assert (
        value(text, "portal_audit_unsealed_events")
        == AuditEvent.objects.filter(seq__isnull=True).count()
    )
    assert value(text, "portal_health_check_ok", check="database", required="true") == 1
    assert value(text, "portal_metrics_source_up", source="requests") == 1


def test_a_source_that_fails_is_reported_and_the_others_still_answer(client, settings):
    settings.PORTAL_HEALTH_TIMEOUT = 0.5
    from portal.celery import app

    before = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool = None
    try:
        text = scrape(client)
    finally:
        app.conf.broker_url = before
        app._pool = None
    assert value(text, "portal_metrics_source_up", source="queues") == 0
    assert value(text, "portal_metrics_source_up", source="outbox") == 1
    assert value(text, "portal_outbox_messages") is not None


def test_task_runs_and_request_moves_are_counted_across_processes(
    client,
    shop,
    metrics_redis,
    django_capture_on_commit_callbacks,
):
    portal_tasks.periodic_heartbeat.apply()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(
            user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
            spec=server_spec(shop.low_net), justification="Needed for the exercise next week.",
        )  # fmt: skip
    shared.task_waited("provisioning", 0.3)
    text = scrape(client)

    assert value(text, "portal_task_runs_total", task="portal.tasks.periodic_heartbeat",
                 outcome="success") == 1  # fmt: skip
    assert value(text, "portal_task_duration_seconds_count",
                 task="portal.tasks.periodic_heartbeat") == 1  # fmt: skip
    assert value(text, "portal_task_queue_wait_seconds_bucket", queue="provisioning",
                 le="0.25") == 0  # fmt: skip
    assert value(text, "portal_task_queue_wait_seconds_bucket", queue="provisioning",
                 le="0.5") == 1  # fmt: skip
    assert value(text, "portal_request_transitions_total", kind="server",
                 state="pending_approval") == 1  # fmt: skip


def test_a_redis_that_does_not_answer_costs_a_count_not_the_task(settings):
    settings.PORTAL_METRICS_REDIS_URL = "redis://127.0.0.1:1/0"
    assert portal_tasks.periodic_heartbeat.apply().successful()


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(portal_[a-z_]+)\b", expr))


def test_every_alert_names_a_metric_the_portal_exposes(client, shop, metrics_redis):
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert len(rules) >= 10
    # Enough activity that every family has samples.
    client.force_login(shop.requester)
    client.get("/servers/")
    portal_tasks.periodic_heartbeat.apply()
    shared.task_waited("default", 0.1)
    services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
        spec=server_spec(shop.low_net), justification="Needed for the exercise next week.",
    )  # fmt: skip
    shared.request_moved("server", "failed")
    ServiceStatus.objects.create(region=shop.low.region, service="compute", at=timezone.now(),
                                 ok=True, latency_ms=20.0)  # fmt: skip
    heartbeat_record(hostname="worker-1")
    exposed = {name for name, _ in samples(scrape(client))}

    for rule in rules:
        missing = metric_names(rule["expr"]) - exposed
        assert not missing, f"{rule['alert']} names {missing}, which /metrics does not expose"
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"]


needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian's prometheus package) is absent"
)


@needs_promtool
def test_prometheus_accepts_the_rules_and_they_fire_as_their_tests_say():
    for command in (["check", "rules", str(RULES)], ["test", "rules", str(RULE_TESTS)]):
        run = subprocess.run(["promtool", *command], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr


@needs_promtool
def test_prometheus_lints_the_exposition_clean(client, shop, metrics_redis):
    portal_tasks.periodic_heartbeat.apply()
    client.get("/accounts/login/")
    run = subprocess.run(["promtool", "check", "metrics"], input=scrape(client),
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
