"""Recording what the availability probes measured: checks, hourly rollups, the latest state of
each service, and incidents.

A probe run is recorded in one short transaction after the cloud has answered (no transaction
is held across a cloud call); runs of one region are serialised by ``single_flight`` in
``probe_region``, so the rollup and incident rows of a region have one writer at a time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.singleflight import single_flight
from provisioning import cloud
from provisioning.availability import add_to_histogram
from provisioning.cloud.probe import ServiceCheck, probe
from provisioning.models import AvailabilityHour, Incident, ProbeCheck, ProbedService, ServiceStatus
from tenants.models import CloudRegion

log = logging.getLogger(__name__)

#: Old checks deleted per statement by ``probe_checks_purge``.
PURGE_BATCH = 5000


def probe_every() -> timedelta:
    return timedelta(seconds=settings.PORTAL_PROBE_EVERY)


def regions_to_probe() -> list[int]:
    """Every enabled region: a region with no allocation yet is still a cloud under contract."""
    return list(CloudRegion.objects.filter(enabled=True).values_list("pk", flat=True))


def probe_region(region_id: int, *, due: datetime | None = None) -> list[ServiceCheck] | None:
    """Probe one region and record what it answered; None when nothing was probed: another
    run of this region is under way, the region is gone or disabled, or the run is stale.

    ``due``: when the schedule asked for this run. A run that could not start within one
    period (the broker was down, the workers busy) is dropped rather than run late in a burst
    with the others that waited: the gap shows as unmeasured time, not as extra probes.
    """
    now = timezone.now()
    if due is not None and now - due > probe_every():
        log.info("probe of region %s due at %s dropped: too late", region_id, due)
        return None
    with single_flight("probe", region_id) as mine:
        if not mine:
            return None
        region = CloudRegion.objects.filter(pk=region_id, enabled=True).first()
        if region is None:
            return None
        started = timezone.now()
        target = cloud.CloudTarget(
            cloud=region.cloud_name, api_timeout=settings.PORTAL_PROBE_TIMEOUT
        )
        checks = probe(target)
        probe_record(region, started, checks)
        return checks


def probe_record(region: CloudRegion, at: datetime, checks: list[ServiceCheck]) -> None:
    """Record one probe run of ``region`` begun ``at``: each service's check and the region's
    as a whole (up when every service answered; its latency the run's total)."""
    whole = ServiceCheck(
        ProbedService.REGION,
        bool(checks) and all(c.ok for c in checks),
        round(sum(c.latency_ms for c in checks), 3),
        next((f"{c.service}: {c.error}" for c in checks if not c.ok), "")[:300],
    )
    hour = at.replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        ProbeCheck.objects.bulk_create(
            ProbeCheck(region=region, service=c.service, at=at, ok=c.ok,
                       latency_ms=c.latency_ms, error=c.error)
            for c in [whole, *checks]
        )  # fmt: skip
        for check in [whole, *checks]:
            _rollup(region, hour, check)
            _follow(region, at, check)


def _rollup(region: CloudRegion, hour: datetime, check: ServiceCheck) -> None:
    row, _ = AvailabilityHour.objects.select_for_update(of=("self",), no_key=True).get_or_create(
        region=region, service=check.service, hour=hour
    )
    row.probes += 1
    if check.ok:
        row.latency_total_ms += check.latency_ms
        row.latency_buckets = add_to_histogram(list(row.latency_buckets), check.latency_ms)
    else:
        row.failures += 1
    row.save(update_fields=["probes", "failures", "latency_total_ms", "latency_buckets"])


def _follow(region: CloudRegion, at: datetime, check: ServiceCheck) -> None:
    """The service's latest state; an incident opened once it has failed
    ``PORTAL_PROBE_INCIDENT_AFTER`` probes in a row (dated from the first), closed by the next
    probe it answers."""
    status = ServiceStatus.objects.select_for_update(of=("self",), no_key=True).filter(
        region=region, service=check.service
    ).first() or ServiceStatus(region=region, service=check.service)
    status.at, status.ok, status.latency_ms, status.error = (
        at,
        check.ok,
        check.latency_ms,
        check.error,
    )
    if check.ok:
        status.failures_in_a_row, status.failing_since = 0, None
        Incident.objects.filter(region=region, service=check.service, ended_at=None).update(
            ended_at=at
        )
    else:
        status.failures_in_a_row += 1
        status.failing_since = status.failing_since or at
        if status.failures_in_a_row >= settings.PORTAL_PROBE_INCIDENT_AFTER:
            updated = Incident.objects.filter(
                region=region, service=check.service, ended_at=None
            ).update(failed_probes=status.failures_in_a_row, last_error=check.error)
            if not updated:
                Incident.objects.create(
                    region=region, service=check.service, started_at=status.failing_since,
                    failed_probes=status.failures_in_a_row, last_error=check.error,
                )  # fmt: skip
                log.warning("incident: %s %s down since %s: %s", region.slug, check.service,
                            status.failing_since, check.error)  # fmt: skip
    status.save()


def probe_checks_purge(now: datetime | None = None) -> int:
    """Delete checks older than ``PORTAL_PROBE_RETENTION_DAYS``, in batches; returns how many.
    The hourly rollups and the incidents stay: every figure over a period is read from them."""
    before = (now or timezone.now()) - timedelta(days=settings.PORTAL_PROBE_RETENTION_DAYS)
    removed = 0
    while True:
        ids = list(
            ProbeCheck.objects.filter(at__lt=before).values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            return removed
        removed += ProbeCheck.objects.filter(pk__in=ids).delete()[0]
