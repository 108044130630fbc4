"""The gauges read at scrape time from the database and the broker, and the counters kept in
Redis (``portal.metrics.shared``), as one Prometheus collector.

Every query here is bounded by something small: requests in flight (not the history), regions,
queues, the outbox and the unsealed tail of the audit log. The result is cached for
``PORTAL_METRICS_CACHE_SECONDS`` so several scrapers (one per web replica, or a second
Prometheus) cost one set of queries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, F, Min
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from portal.metrics import shared

log = logging.getLogger(__name__)


class PortalCollector:
    """What the cluster is doing, the same from every web process."""

    def __init__(self) -> None:
        self._cached: list[Metric] = []
        self._until = 0.0
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() >= self._until:
                self._cached = list(self._gather())
                self._until = time.monotonic() + settings.PORTAL_METRICS_CACHE_SECONDS
            return iter(self._cached)

    def forget(self) -> None:
        with self._lock:
            self._until = 0.0

    def _gather(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "portal_metrics_source_up",
            "1 when this source of metrics answered at the last scrape.",
            labels=["source"],
        )
        took = GaugeMetricFamily(
            "portal_metrics_source_seconds",
            "How long reading this source took at the last scrape.",
            labels=["source"],
        )
        for part in SOURCES:
            name = part.__name__.strip("_")
            started = time.perf_counter()
            try:
                families = list(part())
            except Exception as err:  # one source down must not hide the others
                log.warning("metrics: %s failed: %s", name, err)
                families = []
            yield from families
            up.add_metric([name], int(bool(families)))
            took.add_metric([name], time.perf_counter() - started)
        yield up
        yield took


def _readiness() -> Iterator[Metric]:
    from portal.health import readiness

    state = readiness(background=True)
    ok = GaugeMetricFamily(
        "portal_health_check_ok",
        "1 when the readiness check passes (required: database, migrations, broker).",
        labels=["check", "required"],
    )
    for check in state.checks:
        ok.add_metric([check.name, str(check.required).lower()], int(check.ok))
    yield ok
    yield GaugeMetricFamily(
        "portal_ready", "1 when every required check passes.", value=int(state.ready)
    )


def _queues() -> Iterator[Metric]:
    from portal.celery import app

    depth = GaugeMetricFamily(
        "portal_queue_messages",
        "Messages waiting in each Celery queue (not yet taken by a worker).",
        labels=["queue"],
    )
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.PORTAL_HEALTH_TIMEOUT)
        for queue in settings.CELERY_TASK_QUEUES:
            # A channel per queue: a broker closes the channel that asked for a queue it does
            # not have (no worker declared it yet), which holds no message either.
            with conn.channel() as channel:
                try:
                    count = channel.queue_declare(queue=queue.name, passive=True).message_count
                except conn.channel_errors:
                    count = 0
            depth.add_metric([queue.name], count)
    yield depth


def _requests() -> Iterator[Metric]:
    from provisioning.models import IN_FLIGHT, Kind, ResourceRequest

    open_ = GaugeMetricFamily(
        "portal_requests_open",
        "Requests not yet finished, per state and kind.",
        labels=["state", "kind"],
    )
    rows = (
        ResourceRequest.objects.filter(state__in=IN_FLIGHT)
        .values("state", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(row["state"], row["kind"]): row["n"] for row in rows}
    for state in IN_FLIGHT:
        for kind in Kind.values:
            open_.add_metric([state, kind], counts.get((state, kind), 0))
    yield open_
    moved = CounterMetricFamily(
        "portal_request_transitions",
        "Requests that entered each state, per kind, since the counters were kept.",
        labels=["kind", "state"],
    )
    for field, value in shared.read("request_transitions").items():
        kind, state = field.split("|", 1)
        moved.add_metric([kind, state], value)
    yield moved


def _sla() -> Iterator[Metric]:
    """Requests waiting for a decision past their domain's target: the deadline ladder's own
    record (``provisioning.services.deadlines``), so working time counts as the report does."""
    from provisioning.models import RequestState, ResourceRequest
    from provisioning.services.deadlines import MANAGERS, ladder
    from tenants.models import SecurityDomain

    breach = next(i for i, s in enumerate(ladder(), start=1) if s.whom == MANAGERS)
    late = GaugeMetricFamily(
        "portal_sla_decisions_late",
        "Requests waiting for a decision past their security domain's target.",
        labels=["domain"],
    )
    rows = (
        ResourceRequest.objects.filter(
            state=RequestState.PENDING_APPROVAL, deadline_step__gte=breach
        )
        .filter(deadline_stage=F("pending_stage"))
        .values("allocation__region__domain__slug")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["allocation__region__domain__slug"]: row["n"] for row in rows}
    for domain in SecurityDomain.objects.values_list("slug", flat=True):
        late.add_metric([domain], counts.get(domain, 0))  # a zero, not a missing series
    yield late


def _regions() -> Iterator[Metric]:
    from provisioning.models import Incident, ServiceStatus
    from tenants.models import CloudRegion

    up = GaugeMetricFamily(
        "portal_region_up",
        "1 when the last probe of the region's service answered.",
        labels=["region", "service"],
    )
    latency = GaugeMetricFamily(
        "portal_region_probe_latency_seconds",
        "How long the last probe of the region's service took.",
        labels=["region", "service"],
    )
    age = GaugeMetricFamily(
        "portal_region_probe_age_seconds",
        "Seconds since the region's service was last probed.",
        labels=["region", "service"],
    )
    now = timezone.now()
    statuses = ServiceStatus.objects.filter(region__enabled=True).values_list(
        "region__slug", "service", "ok", "latency_ms", "at"
    )
    for region, service, ok, ms, at in statuses:
        up.add_metric([region, service], int(ok))
        latency.add_metric([region, service], ms / 1000)
        age.add_metric([region, service], (now - at).total_seconds())
    yield from (up, latency, age)
    incidents = GaugeMetricFamily(
        "portal_incidents_open", "Incidents not yet ended, per region.", labels=["region"]
    )
    rows = (
        Incident.objects.filter(ended_at=None)
        .values("region__slug")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["region__slug"]: row["n"] for row in rows}
    for region in CloudRegion.objects.filter(enabled=True).values_list("slug", flat=True):
        incidents.add_metric([region], counts.get(region, 0))
    yield incidents


def _outbox() -> Iterator[Metric]:
    from portal.outbox import outbox_lag

    count, age = outbox_lag()
    yield GaugeMetricFamily(
        "portal_outbox_messages", "Tasks written but not yet given to the broker.", value=count
    )
    yield GaugeMetricFamily(
        "portal_outbox_lag_seconds",
        "Age of the oldest task not yet given to the broker (0 when none waits).",
        value=age,
    )


def _audit() -> Iterator[Metric]:
    from portal.models import AuditEvent

    tail = AuditEvent.objects.filter(seq__isnull=True).aggregate(n=Count("id"), oldest=Min("id"))
    oldest = (
        AuditEvent.objects.filter(pk=tail["oldest"]).values_list("occurred_at", flat=True).first()
        if tail["oldest"]
        else None
    )
    yield GaugeMetricFamily(
        "portal_audit_unsealed_events", "Audit events not yet chained.", value=tail["n"]
    )
    yield GaugeMetricFamily(
        "portal_audit_seal_lag_seconds",
        "Age of the oldest audit event not yet chained (0 when all are).",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
    )


def _heartbeats() -> Iterator[Metric]:
    from portal.models import Heartbeat

    age = GaugeMetricFamily(
        "portal_heartbeat_age_seconds",
        "Seconds since the background last showed it works (schedule: beat sent, a worker ran).",
        labels=["name"],
    )
    now = timezone.now()
    for name, at in Heartbeat.objects.values_list("name", "at"):
        age.add_metric([name], (now - at).total_seconds())
    yield age


def _tasks() -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "portal_task_runs",
        "Task runs by outcome (success, failure, retry), counted by every worker.",
        labels=["task", "outcome"],
    )
    for field, value in shared.read("task_runs").items():
        task, outcome = field.rsplit("|", 1)
        runs.add_metric([task, outcome], value)
    yield runs
    duration = HistogramMetricFamily(
        "portal_task_duration_seconds", "How long task runs took.", labels=["task"]
    )
    for task, (buckets, total) in shared.histogram(
        "task_seconds_bucket", "task_seconds_sum", shared.TASK_BUCKETS
    ).items():
        duration.add_metric([task], buckets, total)
    yield duration
    waited = HistogramMetricFamily(
        "portal_task_queue_wait_seconds",
        "How long tasks waited in their queue before a worker started them.",
        labels=["queue"],
    )
    for queue, (buckets, total) in shared.histogram(
        "queue_wait_bucket", "queue_wait_sum", shared.TASK_BUCKETS
    ).items():
        waited.add_metric([queue], buckets, total)
    yield waited


SOURCES = (
    _readiness, _queues, _requests, _sla, _regions, _outbox, _audit, _heartbeats, _tasks
)  # fmt: skip
collector = PortalCollector()
