"""Showback at scale: a month of 100,000 resources, read as the operator and as one unit.

    python -m benchmarks showback --resources 100000 --allocations 2000

Builds its own database (``portal_bench_showback``): allocations, then a month of usage spans
written by ``INSERT ... SELECT generate_series`` (every resource lives the whole month; a third
of the servers are resized mid-month and a fifth stopped for two days, so each has 2-3 spans),
then computes the month's days (``showback_day_compute``, timed per day) and reads the month:

- the operator, everything, by tenant and by allocation, from the days computed (the bound: 1 s);
- one unit (a member of one tenant);
- the same operator month read from the spans alone, as if no day had been computed (what the
  days save).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime

from benchmarks.common import percentile, report, setup_django, timed

MONTH = "2026-10"
FIRST, AFTER = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
BOUND_MS = 1000.0


def _build(resources: int, allocations: int) -> None:
    from django.db import connection

    from provisioning.models import RateCard
    from tenants.models import Allocation, Tenant
    from tests.factories import CloudRegionFactory, SecurityDomainFactory, SiteFactory

    sites = [SiteFactory() for _ in range(5)]
    domains = [SecurityDomainFactory() for _ in range(3)]
    regions = [CloudRegionFactory(site=s, domain=d) for s in sites for d in domains]
    # Each unit holds capacity in every region: allocation i is unit i // 15 in region i % 15.
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"Unit {i:04d}", slug=f"unit-{i}")
        for i in range(-(-allocations // len(regions)))
    )
    Allocation.objects.bulk_create(
        Allocation(tenant=tenants[i // len(regions)], region=regions[i % len(regions)])
        for i in range(allocations)
    )
    ids = list(Allocation.objects.values_list("pk", flat=True))
    RateCard.objects.create(name="2026", valid_from=date(2026, 1, 1), vcpu_hour="0.01",
                            ram_gib_hour="0.005", volume_gib_hour="0.0002",
                            floating_ip_hour="0.004", stopped_share="0.25")  # fmt: skip
    RateCard.objects.create(name="From the 16th", valid_from=date(2026, 10, 16),
                            vcpu_hour="0.012", ram_gib_hour="0.005", volume_gib_hour="0.0002",
                            floating_ip_hour="0.004", stopped_share="0.25")  # fmt: skip
    servers, volumes = resources * 6 // 10, resources * 3 // 10
    addresses = resources - servers - volumes
    params = {
        "first": FIRST,
        "after": AFTER,
        "ids": ids,
        "n": len(ids),
        "mid": datetime(2026, 10, 15, 12, tzinfo=UTC),
        "stop": datetime(2026, 10, 8, tzinfo=UTC),
        "start": datetime(2026, 10, 10, tzinfo=UTC),
    }
    columns = "kind, resource_id, allocation_id, vcpus, ram_mb, gb, running, started_at, ended_at"
    alloc = "(%(ids)s::bigint[])[1 + (i %% %(n)s)]"
    with connection.cursor() as cursor:
        # Servers: resized at mid-month (one in three), else stopped two days (one in five).
        cursor.execute(
            f"""
            INSERT INTO provisioning_usagespan ({columns})
            SELECT 'server', i, {alloc}, 2, 4096, 20, true, %(first)s,
                   CASE WHEN i %% 3 = 0 THEN %(mid)s WHEN i %% 5 = 0 THEN %(stop)s END
            FROM generate_series(1, {servers}) i
            UNION ALL
            SELECT 'server', i, {alloc}, 4, 8192, 20, true, %(mid)s, NULL::timestamptz
            FROM generate_series(1, {servers}) i WHERE i %% 3 = 0
            UNION ALL
            SELECT 'server', i, {alloc}, 2, 4096, 20, false, %(stop)s, %(start)s
            FROM generate_series(1, {servers}) i WHERE i %% 3 <> 0 AND i %% 5 = 0
            UNION ALL
            SELECT 'server', i, {alloc}, 2, 4096, 20, true, %(start)s, NULL::timestamptz
            FROM generate_series(1, {servers}) i WHERE i %% 3 <> 0 AND i %% 5 = 0
        """,
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO provisioning_usagespan ({columns})
            SELECT 'volume', i, {alloc}, 0, 0, 50 + i %% 200, true, %(first)s, NULL::timestamptz
            FROM generate_series(1, {volumes}) i
            UNION ALL
            SELECT 'floatingip', i, {alloc}, 0, 0, 0, true, %(first)s, NULL::timestamptz
            FROM generate_series(1, {addresses}) i
        """,
            params,
        )
        cursor.execute("ANALYZE provisioning_usagespan")


def bench_showback(args: argparse.Namespace) -> None:
    setup_django(database_url=os.environ.get(
        "BENCH_SHOWBACK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_showback"
    ))  # fmt: skip

    from provisioning.models import ShowbackDay, UsageSpan
    from provisioning.services.showback import showback_day_compute
    from provisioning.showback import showback_report
    from tenants.models import Allocation, Tenant

    started = time.perf_counter()
    _build(args.resources, args.allocations)
    spans = UsageSpan.objects.count()
    print(f"showback: {args.resources:,} resources ({spans:,} spans), {args.allocations:,} "
          f"allocations, built in {time.perf_counter() - started:.1f} s")  # fmt: skip

    day_times = []
    for day in range(1, 32):
        t = time.perf_counter()
        showback_day_compute(date(2026, 10, day))
        day_times.append(time.perf_counter() - t)
    report("computing one day (31 days)", day_times)
    print(f"  {ShowbackDay.objects.count():,} day rows for the month")
    everything = Allocation.objects.all()
    days = ShowbackDay.objects.all()
    now = datetime(2026, 11, 15, tzinfo=UTC)

    operator = timed("operator, month by tenant",
                     lambda: showback_report(days, everything, month=MONTH, now=now),
                     args.repeat)  # fmt: skip
    timed("operator, month by allocation",
          lambda: showback_report(days, everything, month=MONTH, grouping="allocation", now=now),
          args.repeat)  # fmt: skip
    tenant = Tenant.objects.order_by("pk").first()
    mine = Allocation.objects.filter(tenant=tenant)
    timed("one unit, month by allocation",
          lambda: showback_report(days.filter(allocation__in=mine), mine, month=MONTH,
                                  grouping="allocation", now=now), args.repeat)  # fmt: skip
    ShowbackDay.objects.all().delete()
    spans_only = timed("operator, month from the spans alone",
                       lambda: showback_report(days, everything, month=MONTH, now=now),
                       max(args.repeat // 5, 2))  # fmt: skip
    p95 = percentile([s * 1000 for s in operator], 95)
    print(f"  operator month p95 {p95:.0f} ms against the bound of {BOUND_MS:.0f} ms: "
          f"{p95 / BOUND_MS:.2f}x; the days save "
          f"{statistics.median(spans_only) / statistics.median(operator):.0f}x")  # fmt: skip


def add_arguments(sub) -> None:
    showback = sub.add_parser("showback", help="a month of showback over 100,000 resources")
    showback.add_argument("--resources", type=int, default=100_000)
    showback.add_argument("--allocations", type=int, default=2000)
    showback.add_argument("--repeat", type=int, default=20)


COMMANDS = {"showback": bench_showback}
