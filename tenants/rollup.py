"""Keeping the quota-usage rollup (``AllocationUsage``) up to date.

The dashboard shows usage for any number of allocations; computing it on every page view cost
grouped sums over every live server and request in flight. Instead the figures are kept: the
services that move usage call ``usage_rollup_refresh_on_commit`` for the allocation concerned,
and the reconciler, after each run, recomputes its region's rows that no change refreshed for a
while (``usage_rollup_refresh_stale``).

A refresh recomputes an allocation's row exactly, with the same usage sources quota enforcement
uses, so the rollup never drifts: it is at worst as old as the last change not yet committed
plus the refresh itself. Should a refresh fail (it runs after the change committed and never
undoes it), or a change bypass the services, a reconciler run repairs the row within
``RECHECK_AFTER``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.iterables import batched
from tenants.models import Allocation, AllocationUsage
from tenants.quotas import DIMENSION_KEYS, DIMENSIONS, QuotaUsage, usage_by_allocation

log = logging.getLogger(__name__)

#: Allocations refreshed per statement (and per short transaction).
REFRESH_BATCH = 500
#: The reconciler recomputes rows older than this: every row is checked against live data at
#: least this often, whatever bypassed the services, at a fraction of a full recompute per run.
RECHECK_AFTER = timedelta(minutes=15)
#: First half of the advisory lock that serialises refreshes of one allocation (second: its id).
_LOCK_SPACE = 0x5553_4147  # "USAG"
_PENDING_ATTR = "_portal_usage_rollup_pending"


def usage_from_row(allocation: Allocation, row: AllocationUsage) -> list[QuotaUsage]:
    """An allocation's usage as its rollup row keeps it, beside its own limits."""
    return [QuotaUsage(d, getattr(row, d.key), getattr(allocation, d.key)) for d in DIMENSIONS]


def usage_kept(
    allocations: Iterable[Allocation],
) -> dict[int, tuple[list[QuotaUsage], datetime | None]]:
    """Each allocation's usage from its rollup row, with the time the row was computed.

    For lists: a row read beside the allocation (``select_related("usage")``) replaces five
    grouped sums over the live servers, networks, addresses, volumes and requests of the page's
    allocations. One without a row yet (made outside the services, not yet reconciled), or read
    without its row, is computed live with the others (never a query per allocation), with
    ``None`` for its time: never shown as empty.
    """
    # The allocation's side of the relation tells a row read with it from one never read.
    relation = Allocation._meta.get_field("usage")
    rows = {a.pk: (a, relation.get_cached_value(a, None)) for a in allocations}
    missing = [a for a, row in rows.values() if row is None]
    live = usage_by_allocation(missing) if missing else {}
    return {
        pk: (live[pk], None) if row is None else (usage_from_row(a, row), row.refreshed_at)
        for pk, (a, row) in rows.items()
    }


def fullest_of(usage: Iterable[QuotaUsage]) -> float:
    """The highest share of any quota in use; a zero quota counts as a quota of one."""
    return max((u.used / max(u.limit, 1) for u in usage), default=0.0)


def usage_rollup_refresh(allocation_ids: Iterable[int]) -> int:
    """Recompute the rollup rows of ``allocation_ids`` from live data; returns rows written.

    Each batch holds per-allocation advisory locks (taken in id order) while it reads and
    writes, so two refreshes of one allocation run one after the other and the later one reads
    a snapshot taken after the earlier one's changes: the last write is never the older figure.
    """
    ids = sorted(set(allocation_ids))
    written = 0
    for batch in batched(ids, REFRESH_BATCH):
        with transaction.atomic():
            connection = transaction.get_connection()
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # Two int4 keys: the space and the id folded into 31 bits (a clash between
                    # two allocations only makes them wait for each other).
                    cursor.execute(
                        "SELECT count(pg_advisory_xact_lock(%s, (id %% 2147483647)::int4)) "
                        "FROM unnest(%s::bigint[]) id",
                        [_LOCK_SPACE, batch],
                    )
            allocations = list(Allocation.objects.filter(pk__in=batch).only(*DIMENSION_KEYS))
            usage = usage_by_allocation(allocations)
            now = timezone.now()
            rows = [
                AllocationUsage(
                    allocation_id=a.pk,
                    **{u.dimension.key: u.used for u in usage[a.pk]},
                    fullest=fullest_of(usage[a.pk]),
                    refreshed_at=now,
                )
                for a in allocations
            ]
            AllocationUsage.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["allocation"],
                update_fields=[*DIMENSION_KEYS, "fullest", "refreshed_at"],
            )
            written += len(rows)
    return written


def usage_rollup_refresh_stale(
    allocations: QuerySet[Allocation], *, older_than: timedelta = RECHECK_AFTER
) -> int:
    """Refresh the rows of ``allocations`` not refreshed for ``older_than`` (or missing).

    Rows that moved lately were refreshed after their change; the others are recomputed once
    in a while to catch what no service saw (a row edited by hand, a refresh that failed).
    """
    since = timezone.now() - older_than
    stale = allocations.filter(Q(usage__isnull=True) | Q(usage__refreshed_at__lt=since))
    return usage_rollup_refresh(stale.order_by().values_list("pk", flat=True))


def usage_rollup_refresh_on_commit(allocation_id: int, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Refresh the allocation's rollup row once the current transaction commits.

    Calls within one transaction are gathered into one refresh. The refresh runs after the
    change is durable and must not fail it: an error is logged and left to the reconciler.
    """
    connection = connections[using]
    pending: set[int] | None = getattr(connection, _PENDING_ATTR, None)
    if pending is None:
        pending = set()
        setattr(connection, _PENDING_ATTR, pending)
    pending.add(allocation_id)
    # Every call registers a callback (a rolled-back transaction drops its own); the first to
    # run refreshes all pending ids, the others find nothing left to do.
    transaction.on_commit(partial(_refresh_pending, using), using=using)


def _refresh_pending(using: str) -> None:
    connection = connections[using]
    pending: set[int] = getattr(connection, _PENDING_ATTR, set())
    if not pending:
        return
    ids = sorted(pending)
    pending.clear()
    try:
        usage_rollup_refresh(ids)
    except Exception:
        log.exception("usage rollup refresh of %s failed; the reconciler will repair it", ids)
