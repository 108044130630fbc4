"""Availability and latency figures from the probes' hourly rollups, for any period.

Availability is the share of probes a service answered well; the region as a whole counts as
up for a probe only when every one of its services answered. Periods with no probe (the portal
itself down) are neither up nor down: the figures say how much of the period was measured.

Latency percentiles come from histograms: each hour keeps how many answers fell in each
bucket of ``LATENCY_BOUNDS`` (upper bounds growing by a fifth, 1 ms to 2 minutes), so hours add
up into any period; a percentile is read by interpolating inside its bucket, within a fifth of
the exact figure (``tests/provisioning/test_availability.py`` holds it to that).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

#: Upper bounds (ms) of the latency buckets; one more bucket holds anything slower.
LATENCY_BOUNDS: tuple[float, ...] = tuple(
    round(1.2**i, 3) for i in range(math.ceil(math.log(120_000) / math.log(1.2)) + 1)
)


def bucket_of(latency_ms: float) -> int:
    """The index of the bucket ``latency_ms`` is counted in."""
    return bisect.bisect_left(LATENCY_BOUNDS, latency_ms)


def add_to_histogram(buckets: list[int], latency_ms: float) -> list[int]:
    """``buckets`` with one more answer of ``latency_ms`` (grown to the needed length)."""
    index = bucket_of(latency_ms)
    if len(buckets) <= index:
        buckets = [*buckets, *([0] * (index + 1 - len(buckets)))]
    buckets[index] += 1
    return buckets


def merge_histograms(histograms: Iterable[list[int]]) -> list[int]:
    merged: list[int] = []
    for buckets in histograms:
        if len(merged) < len(buckets):
            merged.extend([0] * (len(buckets) - len(merged)))
        for i, count in enumerate(buckets):
            merged[i] += count
    return merged


def percentile_of(buckets: list[int], fraction: float) -> float | None:
    """The ``fraction`` (0.5, 0.95) percentile of the answers counted in ``buckets``, in ms,
    interpolated inside its bucket; None when nothing was counted."""
    total = sum(buckets)
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            low = LATENCY_BOUNDS[index - 1] if index else 0.0
            high = LATENCY_BOUNDS[index] if index < len(LATENCY_BOUNDS) else LATENCY_BOUNDS[-1]
            return round(low + (high - low) * max(rank - seen, 0) / count, 1)
        seen += count
    return LATENCY_BOUNDS[-1]


@dataclass
class Availability:
    """One service (or the whole region) over a period."""

    probes: int = 0
    failures: int = 0
    #: Probes a full period at the probing frequency would hold: what "measured" compares to.
    expected: int = 0
    buckets: list[int] = field(default_factory=list)

    @property
    def percent(self) -> Decimal | None:
        """Share of probes answered well, to three decimals; None when nothing was measured."""
        if not self.probes:
            return None
        share = Decimal(self.probes - self.failures) * 100 / Decimal(self.probes)
        return share.quantize(Decimal("0.001"))

    @property
    def measured_percent(self) -> Decimal | None:
        if not self.expected:
            return None
        return (Decimal(min(self.probes, self.expected)) * 100 / self.expected).quantize(
            Decimal("0.1")
        )

    @property
    def p50_ms(self) -> float | None:
        return percentile_of(self.buckets, 0.50)

    @property
    def p95_ms(self) -> float | None:
        return percentile_of(self.buckets, 0.95)

    def meets(self, target: Decimal) -> bool | None:
        return None if self.percent is None else self.percent >= target


def expected_probes(start: datetime, end: datetime, every: timedelta) -> int:
    """How many probes a period holds at one per ``every``."""
    return max(int((end - start) / every), 0)


# --- reading the rollups ------------------------------------------------------------------


@dataclass
class RegionAvailability:
    """A region over a period: each service's figures (``region``: the whole region), its
    incidents in the period, and whether it met its contractual target."""

    region: object
    services: dict[str, Availability]
    incidents: list = field(default_factory=list)

    @property
    def whole(self) -> Availability:
        return self.services.get("region") or Availability()

    @property
    def target(self) -> Decimal:
        return self.region.availability_target

    @property
    def meets_target(self) -> bool | None:
        return self.whole.meets(self.target)

    @property
    def region_incidents(self) -> list:
        """Incidents of the whole region (a service's own are in ``incidents`` too)."""
        return [i for i in self.incidents if i.service == "region"]

    @property
    def downtime(self) -> timedelta:
        """Time in incidents of the whole region within the period."""
        return sum((i.within for i in self.region_incidents), timedelta())


def availability_of(
    regions: list,
    start: datetime,
    end: datetime,
    *,
    latency: bool | tuple[str, ...] = True,
    incidents: bool = True,
    every: timedelta | None = None,
) -> list[RegionAvailability]:
    """Figures of ``regions`` over [start, end): two or three queries whatever the period.

    ``latency``: also read the histograms (one row per region, service and hour) for p50/p95,
    of every service or of those named; a status page reads all of a day's, a monthly report
    the whole regions' of a month.
    """
    from django.conf import settings
    from django.db.models import Q, Sum

    from provisioning.models import AvailabilityHour, Incident

    every = every or timedelta(seconds=settings.PORTAL_PROBE_EVERY)
    ids = [r.pk for r in regions]
    expected = expected_probes(start, end, every)
    found: dict[int, dict[str, Availability]] = {pk: {} for pk in ids}
    hours = AvailabilityHour.objects.filter(region_id__in=ids, hour__gte=_hour(start), hour__lt=end)
    totals = hours.values("region_id", "service").annotate(p=Sum("probes"), f=Sum("failures"))
    for row in totals:
        found[row["region_id"]][row["service"]] = Availability(
            probes=row["p"], failures=row["f"], expected=expected
        )
    if latency:
        read = hours if latency is True else hours.filter(service__in=latency)
        histograms: dict[tuple[int, str], list[list[int]]] = {}
        for region_id, service, buckets in read.values_list(
            "region_id", "service", "latency_buckets"
        ):
            histograms.setdefault((region_id, service), []).append(buckets)
        for (region_id, service), many in histograms.items():
            found[region_id][service].buckets = merge_histograms(many)
    by_region: dict[int, list] = {pk: [] for pk in ids}
    if incidents:
        overlapping = Incident.objects.filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=start), region_id__in=ids, started_at__lt=end
        ).order_by("-started_at", "-id")
        by_id = {r.pk: r for r in regions}
        for incident in overlapping:
            incident.region = by_id[incident.region_id]
            incident.within = min(incident.ended_at or end, end) - max(incident.started_at, start)
            by_region[incident.region_id].append(incident)
    return [RegionAvailability(r, found[r.pk], by_region[r.pk]) for r in regions]


def _hour(moment: datetime) -> datetime:
    """The hour ``moment`` falls in: a period starting mid-hour counts that hour's probes."""
    return moment.replace(minute=0, second=0, microsecond=0)
