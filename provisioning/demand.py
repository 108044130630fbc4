"""Demand kept per region and hour (``DemandHour``): counted as requests are filed, read by the
dashboard's trend, checked against the requests for the hours that are over.

The count is exact because it is written where the request is: ``count_filed`` runs in the
transaction that files it (``services.transitions.record_created``), so a rolled-back request
was never counted and a committed one always is. What bypasses the services (a shell, a restore,
rows moved in time by hand) is put right by ``recheck`` within the hour after, and ``rebuild``
counts everything again (the migration that brought the table, the demo's history, the
benchmark's world).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from provisioning.models import DemandHour, ResourceRequest

log = logging.getLogger(__name__)

#: Hours this recent are left to the counting at filing: a request filed at 10:59 whose
#: transaction commits after 11:00 would be missed by a recount of 10:00 taken in between.
SETTLED_AFTER = timedelta(hours=1)
#: How far back ``recheck`` looks: the dashboard's two weeks, and a day more.
RECHECK_DAYS = 15


def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def count_filed(request: ResourceRequest) -> None:
    """Count ``request`` in its region's hour, in the caller's transaction.

    One statement; two requests filed in the same region and hour take turns on the row until
    the first commits, which filing (no cloud call inside) makes a matter of milliseconds.
    """
    table = DemandHour._meta.db_table
    hour = connection.ops.adapt_datetimefield_value(hour_of(request.created_at))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (region_id, hour, requests) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (hour, region_id) DO UPDATE SET requests = {table}.requests + 1",
            [request.allocation.region_id, hour],
        )


def trend_by_region(since: datetime, split: datetime) -> dict[int, tuple[int, int]]:
    """Per region: requests filed from ``split`` on, and from ``since`` to ``split`` (both whole
    hours), over every allocation: for a reader who sees the whole estate."""
    rows = (
        DemandHour.objects.filter(hour__gte=since)
        .values("region")
        .annotate(
            recent=Sum("requests", filter=Q(hour__gte=split), default=0),
            before=Sum("requests", filter=Q(hour__lt=split), default=0),
        )
        .order_by()
    )
    return {row["region"]: (row["recent"], row["before"]) for row in rows}


def _counted(since: datetime | None, until: datetime | None) -> dict[tuple[int, datetime], int]:
    """(region, hour) -> requests, counted from the requests themselves."""
    requests = ResourceRequest.objects.order_by()
    if since is not None:
        requests = requests.filter(created_at__gte=since)
    if until is not None:
        requests = requests.filter(created_at__lt=until)
    rows = requests.values_list("allocation__region", TruncHour("created_at", tzinfo=UTC)).annotate(
        n=Count("pk")
    )
    return {(region, hour): n for region, hour, n in rows}


def recheck(*, now: datetime | None = None, days: int = RECHECK_DAYS) -> int:
    """Count the settled hours of the last ``days`` again and correct the rows that differ;
    returns how many were corrected (any is worth a warning: something filed around the
    services)."""
    until = hour_of((now or timezone.now()) - SETTLED_AFTER)
    since = until - timedelta(days=days)
    with transaction.atomic():
        counted = _counted(since, until)
        # No row lock: filing writes only the current hour, and settled hours are written by
        # this task alone (one at a time: ``single_flight``) or by ``rebuild``.
        rows = DemandHour.objects.filter(hour__gte=since, hour__lt=until)
        kept = {(row.region_id, row.hour): row for row in rows}
        wrong = [
            DemandHour(region_id=region, hour=hour, requests=n)
            for (region, hour), n in counted.items()
            if kept.get((region, hour)) is None or kept[(region, hour)].requests != n
        ]
        gone = [row.pk for key, row in kept.items() if key not in counted and row.requests]
        DemandHour.objects.bulk_create(
            wrong, update_conflicts=True, unique_fields=["hour", "region"],
            update_fields=["requests"],
        )  # fmt: skip
        DemandHour.objects.filter(pk__in=gone).update(requests=0)
    if wrong or gone:
        log.warning("demand rollup corrected", extra={"rows": len(wrong) + len(gone)})
    return len(wrong) + len(gone)


def rebuild() -> int:
    """Count every hour again from the requests; returns the rows written."""
    with transaction.atomic():
        DemandHour.objects.all().delete()
        rows = [
            DemandHour(region_id=region, hour=hour, requests=n)
            for (region, hour), n in _counted(None, None).items()
        ]
        DemandHour.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
