"""Reads of tenancy data that pass through the access layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet, Sum

from tenants.access import Action
from tenants.models import (
    Allocation,
    AllocationUsage,
    CloudRegion,
    Membership,
    SecurityDomain,
    Site,
    Tenant,
)
from tenants.quotas import DIMENSIONS, QuotaUsage
from tenants.rollup import fullest_of, usage_from_row, usage_kept


def sites_visible_to(user) -> QuerySet[Site]:
    return Site.objects.restrict(user, Action.VIEW)


def domains_visible_to(user) -> QuerySet[SecurityDomain]:
    return SecurityDomain.objects.restrict(user, Action.VIEW)


def regions_visible_to(user) -> QuerySet[CloudRegion]:
    return CloudRegion.objects.restrict(user, Action.VIEW).select_related("site", "domain")


def tenants_visible_to(user) -> QuerySet[Tenant]:
    return Tenant.objects.restrict(user, Action.VIEW).select_related("parent")


def allocations_visible_to(user, action: Action = Action.VIEW) -> QuerySet[Allocation]:
    return Allocation.objects.restrict(user, action).select_related(
        "tenant", "region__site", "region__domain"
    )


def memberships_of(user) -> QuerySet[Membership]:
    """The user's own memberships: everyone may see which tenants they belong to."""
    return Membership.objects.filter(user=user).select_related("tenant")


#: Allocations the dashboard shows with their quota bars: all of them up to this many, otherwise
#: this many of the fullest (the rest are one link away, on the allocations page).
DASHBOARD_ALLOCATIONS = 12
#: From this share of any quota in use an allocation counts as nearly full (the bars' "warn").
NEARLY_FULL = 0.75


@dataclass
class AllocationRow:
    allocation: Allocation
    usage: list[QuotaUsage]

    @property
    def fullest(self) -> float:
        return fullest_of(self.usage)


@dataclass
class RegionTotals:
    """What a user holds in one site x security domain: sums over their allocations there."""

    region: CloudRegion
    allocations: int
    nearly_full: int
    usage: list[QuotaUsage]


@dataclass
class DashboardAllocations:
    """A bounded summary of the allocations a user sees, whatever their number."""

    regions: list[RegionTotals] = field(default_factory=list)
    shown: list[AllocationRow] = field(default_factory=list)
    total: int = 0

    @property
    def all_shown(self) -> bool:
        return len(self.shown) == self.total

    @property
    def domains(self) -> set[SecurityDomain]:
        return {t.region.domain for t in self.regions} | {
            r.allocation.region.domain for r in self.shown
        }


def dashboard_allocations(user, limit: int = DASHBOARD_ALLOCATIONS) -> DashboardAllocations:
    """Totals per site x security domain and the allocations to show with bars: all of them
    when they are at most ``limit``, else the ``limit`` closest to (or over) their quota.

    Usage comes from the kept rollup (``AllocationUsage``), so the cost does not grow with the
    servers and requests behind it: one aggregate over the visible allocations, one read of
    their regions, one read of the rows shown (the fullest first, from the rollup's index). An
    allocation without a rollup row yet (made outside the services, not yet reconciled) is
    computed live if it is among those shown, never shown as empty.
    """
    allocations = Allocation.objects.restrict(user, Action.VIEW)
    result, without_row = _totals_by_region(allocations)
    if result.total and (result.total <= limit or without_row):
        shown = list(
            allocations.select_related("tenant", "region__site", "region__domain", "usage")
            .order_by(F("usage__fullest").desc(nulls_last=True), "pk")[:limit]
        )  # fmt: skip
        usage = usage_kept(shown)
        result.shown = [AllocationRow(a, usage[a.pk][0]) for a in shown]
        result.shown.sort(key=lambda r: -r.fullest)
    elif result.total:
        rows = (
            AllocationUsage.objects.restrict(user, Action.VIEW)
            .select_related("allocation__tenant", "allocation__region__site",
                            "allocation__region__domain")
            .order_by("-fullest", "allocation_id")[:limit]
        )  # fmt: skip
        result.shown = [AllocationRow(r.allocation, usage_from_row(r.allocation, r)) for r in rows]
    return result


def _totals_by_region(allocations: QuerySet[Allocation]) -> tuple[DashboardAllocations, bool]:
    """Sums of usage and quotas per region (two queries), and whether any allocation has no
    rollup row yet."""
    sums = {f"used_{d.key}": Sum(f"usage__{d.key}") for d in DIMENSIONS}
    sums |= {f"limit_{d.key}": Sum(d.key) for d in DIMENSIONS}
    per_region = list(
        allocations.order_by()
        .values("region")
        .annotate(
            n=Count("pk"),
            nearly_full=Count("pk", filter=Q(usage__fullest__gte=NEARLY_FULL)),
            without_row=Count("pk", filter=Q(usage__isnull=True)),
            **sums,
        )
    )
    result = DashboardAllocations(total=sum(row["n"] for row in per_region))
    if not per_region:
        return result, False
    regions = CloudRegion.objects.select_related("site", "domain").in_bulk(
        [row["region"] for row in per_region]
    )
    result.regions = sorted(
        (
            RegionTotals(
                region=regions[row["region"]],
                allocations=row["n"],
                nearly_full=row["nearly_full"],
                usage=[
                    QuotaUsage(d, int(row[f"used_{d.key}"] or 0), int(row[f"limit_{d.key}"] or 0))
                    for d in DIMENSIONS
                ],
            )
            for row in per_region
        ),
        key=lambda t: (t.region.site.name, t.region.domain.level),
    )
    return result, any(row["without_row"] for row in per_region)


@dataclass(frozen=True)
class RegionCapacity:
    """What the allocations one may see hold in a region, and how much of it is in use."""

    region: CloudRegion
    vcpus: int
    vcpus_used: int
    ram_mb: int
    ram_mb_used: int
    gigabytes: int
    gigabytes_used: int

    @property
    def vcpu_percent(self) -> float | None:
        return round(100 * self.vcpus_used / self.vcpus, 1) if self.vcpus else None


def capacity_by_region(user) -> list[RegionCapacity]:
    """Per region, the quotas of the allocations ``user`` may see and their use (the kept
    rollup): one query for the sums, one for the regions' names, whatever the allocations."""
    sums = (
        Allocation.objects.restrict(user, Action.VIEW)
        .order_by()
        .values("region")
        .annotate(vcpus=Sum("vcpus"), vcpus_used=Sum("usage__vcpus"), ram_mb=Sum("ram_mb"),
                  ram_mb_used=Sum("usage__ram_mb"), gigabytes=Sum("gigabytes"),
                  gigabytes_used=Sum("usage__gigabytes"))
    )  # fmt: skip
    rows = list(sums)
    regions = CloudRegion.objects.select_related("site", "domain").in_bulk(
        [r["region"] for r in rows]
    )
    return sorted(
        (RegionCapacity(regions[r.pop("region")], **{k: v or 0 for k, v in r.items()})
         for r in rows),
        key=lambda c: (c.region.site.name, c.region.domain.level),
    )  # fmt: skip
