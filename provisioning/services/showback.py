"""Keeping the showback's records: usage spans as resources change, and each day's totals.

``spans_observe`` is called where the portal writes what it saw of a server, a volume or a
floating IP (the worker's mirror, the reconciler's sync, a deletion), in the same transaction:
it compares each resource's billable state (size, a server running or stopped, alive) with its
open span and closes and opens spans where they differ. It is idempotent, so the daily
``spans_reconcile`` can observe everything again to catch what a path did not report.

``showback_days_compute`` turns the spans into one row per allocation and day (UTC) once the
day is over; a month's showback then reads at most 31 rows per allocation. Today, not yet
computed, is read from the spans as it stands (``usage_between``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from provisioning.models import FloatingIp, Server, ShowbackDay, UsageSpan, Volume
from tenants.models import Allocation

log = logging.getLogger(__name__)

Kind = UsageSpan.Kind
MODELS = {Kind.SERVER: Server, Kind.VOLUME: Volume, Kind.FLOATING_IP: FloatingIp}
#: Nova's states of a server that holds its resources but does not run.
STOPPED = frozenset({"SHUTOFF", "SUSPENDED", "PAUSED", "SHELVED", "SHELVED_OFFLOADED"})
#: The figures of a day, as ``ShowbackDay`` holds them.
FIGURES = ("vcpu_hours", "ram_gib_hours", "stopped_vcpu_hours", "stopped_ram_gib_hours",
           "volume_gib_hours", "floating_ip_hours")  # fmt: skip
#: How far back the first computation goes when nothing was computed yet.
FIRST_DAYS_BACK = 400


def _state(kind: str, row) -> tuple[int, int, int, bool] | None:
    """(vcpus, ram_mb, gb, running) of a live resource; None once it is deleted."""
    return None if row.deleted_at is not None else _held(kind, row)


def _held(kind: str, row) -> tuple[int, int, int, bool]:
    """What the resource holds as its row says (a deleted one: what it held while it lived,
    a deleted server's status saying nothing of stopped)."""
    if kind == Kind.SERVER:
        return row.vcpus, row.ram_mb, row.boot_volume_gb, row.status not in STOPPED
    if kind == Kind.VOLUME:
        return 0, 0, row.size_gb, True
    return 0, 0, 0, True


def _span_state(span: UsageSpan) -> tuple[int, int, int, bool]:
    return span.vcpus, span.ram_mb, span.gb, span.running


def spans_observe(kind: str, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Bring the spans of these resources in line with their rows; returns spans written.

    A resource seen for the first time opens its first span at its creation (a resource that
    was created and deleted unseen gets the one closed span it had); a change closes the open
    span now and opens the next; a deletion closes it at the deletion. Three queries.
    """
    ids = list(ids)
    if not ids:
        return 0
    now = now or timezone.now()
    model = MODELS[Kind(kind)]
    rows = model.objects.filter(pk__in=ids)
    open_spans = {
        s.resource_id: s
        for s in UsageSpan.objects.filter(kind=kind, resource_id__in=ids, ended_at__isnull=True)
    }
    seen = set(
        UsageSpan.objects.filter(kind=kind, resource_id__in=ids)
        .values_list("resource_id", flat=True)
        .distinct()
    )
    closed: list[UsageSpan] = []
    opened: list[UsageSpan] = []
    for row in rows:
        state, span = _state(kind, row), open_spans.get(row.pk)
        ends = span is not None and (state is None or _span_state(span) != state)
        if ends:
            span.ended_at = max(row.deleted_at if state is None else now, span.started_at)
            closed.append(span)
        first = row.pk not in seen
        if state is None:
            if first and row.deleted_at > row.created_at:
                opened.append(_span(kind, row, _held(kind, row), row.created_at,
                                    ended=row.deleted_at))  # fmt: skip
            continue
        if span is None or ends:
            opened.append(_span(kind, row, state, row.created_at if first else now))
    with transaction.atomic():
        UsageSpan.objects.bulk_update(closed, ["ended_at"])
        # Two observers of one resource at once: the second's open span is the first's.
        UsageSpan.objects.bulk_create(opened, ignore_conflicts=True)
    return len(closed) + len(opened)


def _span(kind: str, row, state: tuple, started: datetime, *, ended=None) -> UsageSpan:
    vcpus, ram_mb, gb, running = state
    return UsageSpan(kind=kind, resource_id=row.pk, allocation_id=row.allocation_id, vcpus=vcpus,
                     ram_mb=ram_mb, gb=gb, running=running, started_at=started,
                     ended_at=ended)  # fmt: skip


def spans_reconcile(*, since: datetime | None = None, chunk: int = 2000) -> int:
    """Observe every live resource, and those deleted since ``since`` (default: two days):
    what a path that changed a resource without telling the spans is caught up by."""
    since = since or timezone.now() - timedelta(days=2)
    written = 0
    for kind, model in MODELS.items():
        ids = model.objects.filter(Q(deleted_at__isnull=True) | Q(deleted_at__gte=since))
        batch = []
        for pk in ids.values_list("pk", flat=True).order_by("pk").iterator(chunk_size=chunk):
            batch.append(pk)
            if len(batch) >= chunk:
                written += spans_observe(kind, batch)
                batch = []
        written += spans_observe(kind, batch)
    return written


# --- days -----------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start, start + timedelta(days=1)


USAGE_SQL = """
    SELECT s.allocation_id,
           sum(CASE WHEN s.kind = 'server' AND s.running THEN s.vcpus * s.h ELSE 0 END),
           sum(CASE WHEN s.kind = 'server' AND s.running THEN s.ram_mb / 1024.0 * s.h ELSE 0 END),
           sum(CASE WHEN s.kind = 'server' AND NOT s.running THEN s.vcpus * s.h ELSE 0 END),
           sum(CASE WHEN s.kind = 'server' AND NOT s.running
                    THEN s.ram_mb / 1024.0 * s.h ELSE 0 END),
           sum(s.gb * s.h),
           sum(CASE WHEN s.kind = 'floatingip' THEN s.h ELSE 0 END)
    FROM (
        SELECT kind, allocation_id, vcpus, ram_mb, gb, running,
               EXTRACT(EPOCH FROM LEAST(COALESCE(ended_at, %(until)s), %(until)s)
                                  - GREATEST(started_at, %(since)s)) / 3600.0 AS h
        FROM provisioning_usagespan
        WHERE started_at < %(until)s AND (ended_at IS NULL OR ended_at > %(since)s)
    ) s
    GROUP BY s.allocation_id
"""


def usage_between(since: datetime, until: datetime) -> dict[int, dict[str, float]]:
    """Per allocation, the hours of each figure from ``since`` to ``until``, from the spans."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(USAGE_SQL, {"since": since, "until": until})
            return {row[0]: dict(zip(FIGURES, map(float, row[1:]), strict=True))
                    for row in cursor.fetchall()}  # fmt: skip
    # SQLite (the demo): the same sums in Python over the spans of the period.
    usage: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0.0))
    spans = UsageSpan.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=since), started_at__lt=until
    )
    for span in spans.iterator(chunk_size=2000):
        hours = (min(span.ended_at or until, until) - max(span.started_at, since)).total_seconds()
        hours /= 3600
        figures = usage[span.allocation_id]
        if span.kind == Kind.SERVER:
            prefix = "" if span.running else "stopped_"
            figures[f"{prefix}vcpu_hours"] += span.vcpus * hours
            figures[f"{prefix}ram_gib_hours"] += span.ram_mb / 1024 * hours
        elif span.kind == Kind.FLOATING_IP:
            figures["floating_ip_hours"] += hours
        figures["volume_gib_hours"] += span.gb * hours
    return dict(usage)


def showback_day_compute(day: date) -> int:
    """The day's rows again (idempotent: a day computed twice has the same rows)."""
    since, until = day_bounds(day)
    usage = usage_between(since, until)
    places = {
        a.pk: a
        for a in Allocation.objects.filter(pk__in=usage).select_related("region").only(
            "id", "tenant_id", "region__site_id", "region__domain_id"
        )
    }  # fmt: skip
    rows = [
        ShowbackDay(day=day, allocation_id=pk, tenant_id=places[pk].tenant_id,
                    site_id=places[pk].region.site_id, domain_id=places[pk].region.domain_id,
                    **figures)
        for pk, figures in usage.items()
        if any(figures.values())
    ]  # fmt: skip
    with transaction.atomic():
        ShowbackDay.objects.filter(day=day).delete()
        ShowbackDay.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def showback_days_compute(*, today: date | None = None) -> list[date]:
    """Every day not computed yet up to yesterday (UTC): after the last one computed, or from
    the first span (at most ``FIRST_DAYS_BACK`` days). Returns the days computed."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    last = ShowbackDay.objects.aggregate(last=Max("day"))["last"]
    if last is not None:
        first = last + timedelta(days=1)
    else:
        begun = UsageSpan.objects.aggregate(first=Min("started_at"))["first"]
        if begun is None:
            return []
        first = max(begun.astimezone(dt.UTC).date(), today - timedelta(days=FIRST_DAYS_BACK))
    days = []
    day = first
    while day < today:
        showback_day_compute(day)
        days.append(day)
        day += timedelta(days=1)
    if days:
        log.info("showback: computed %s day(s), %s to %s", len(days), days[0], days[-1])
    return days


def showback_refresh() -> list[date]:
    """The daily job: catch the spans up, then compute the days that ended."""
    spans_reconcile()
    return showback_days_compute()
