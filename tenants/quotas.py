"""Quota dimensions of an allocation, and how much of each is in use.

Usage is contributed by the apps that hold resources (live servers, requests in flight): each
registers a *usage source* that answers for many allocations in one query, so reading usage
costs a fixed number of queries whatever the number of allocations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from django.utils.translation import gettext_lazy

from tenants.models import Allocation


@dataclass(frozen=True)
class QuotaDimension:
    key: str  # the Allocation field holding the limit
    label: str  # translated when read (gettext_lazy)
    unit: str = ""
    #: The cloud quotas this dimension is pushed to (names of provisioning.cloud.quota_set).
    cloud_quotas: tuple[str, ...] = ()


DIMENSIONS: tuple[QuotaDimension, ...] = (
    QuotaDimension("instances", gettext_lazy("Instances"), cloud_quotas=("instances",)),
    QuotaDimension("vcpus", gettext_lazy("vCPUs"), cloud_quotas=("cores",)),
    QuotaDimension("ram_mb", gettext_lazy("RAM"), "MiB", cloud_quotas=("ram_mb",)),
    # Every portal network has one subnet, so the subnet quota follows the network quota.
    QuotaDimension("networks", gettext_lazy("Networks"), cloud_quotas=("networks", "subnets")),
    QuotaDimension("routers", gettext_lazy("Routers"), cloud_quotas=("routers",)),
    QuotaDimension("floating_ips", gettext_lazy("Floating IPs"), cloud_quotas=("floating_ips",)),
    QuotaDimension("volumes", gettext_lazy("Volumes"), cloud_quotas=("volumes",)),
    QuotaDimension("gigabytes", gettext_lazy("Volume storage"), "GB", cloud_quotas=("gigabytes",)),
)
DIMENSION_KEYS = tuple(d.key for d in DIMENSIONS)


@dataclass(frozen=True)
class QuotaUsage:
    dimension: QuotaDimension
    used: int
    limit: int
    #: Of ``used``, what requests still waiting for a decision would take (when known).
    pending: int = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def percent(self) -> int:
        if self.limit == 0:
            return 100 if self.used else 0
        return min(round(100 * self.used / self.limit), 100)

    @property
    def level(self) -> str:
        """A coarse band for display: ok, warn (>= 75 %), full (>= 95 %)."""
        return "full" if self.percent >= 95 else "warn" if self.percent >= 75 else "ok"


#: A usage source takes allocation ids (and ``include_pending``: whether requests still waiting
#: for approval count) and returns {allocation_id: {dimension_key: used}}.
UsageSource = Callable[..., dict[int, dict[str, int]]]
_sources: list[UsageSource] = []


def register_usage_source(source: UsageSource) -> UsageSource:
    """Add a source of usage (live resources, requests in flight); usable as a decorator."""
    if source not in _sources:
        _sources.append(source)
    return source


def unregister_usage_source(source: UsageSource) -> None:
    if source in _sources:
        _sources.remove(source)


def usage_by_allocation(
    allocations: Iterable[Allocation], *, include_pending: bool = True
) -> dict[int, list[QuotaUsage]]:
    """Usage of every dimension for each allocation: one query per registered source.

    ``include_pending=False`` leaves out requests not yet approved: what approving one more
    request must fit beside.
    """
    allocations = list(allocations)
    ids = [a.pk for a in allocations]
    used: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DIMENSION_KEYS, 0))
    if ids:
        for source in _sources:
            for allocation_id, values in source(ids, include_pending=include_pending).items():
                for key, amount in values.items():
                    used[allocation_id][key] += amount
    return {
        a.pk: [QuotaUsage(d, used[a.pk][d.key], getattr(a, d.key)) for d in DIMENSIONS]
        for a in allocations
    }


def usage_with_pending(allocations: Iterable[Allocation]) -> dict[int, list[QuotaUsage]]:
    """``usage_by_allocation``, each figure also saying how much of it is only requested (still
    waiting for a decision): "6 / 10, 2 of them requested". Twice the queries: for detail
    pages, not lists."""
    allocations = list(allocations)
    committed = usage_by_allocation(allocations, include_pending=False)
    return {
        pk: [
            replace(u, pending=max(u.used - c.used, 0))
            for u, c in zip(rows, committed[pk], strict=True)
        ]
        for pk, rows in usage_by_allocation(allocations).items()
    }
