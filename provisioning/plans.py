"""What a request would build, where, and what it would do to the quota: shown before submit.

Read-only: planning validates the spec and compares the needs with current usage, but writes
nothing and takes no lock. The service re-checks everything under the allocation lock at submit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from provisioning.models import Kind, ResourceRequest
from provisioning.specs import ValidSpec, validate_spec
from tenants.models import Allocation
from tenants.quotas import DIMENSIONS, QuotaDimension, usage_by_allocation


@dataclass(frozen=True)
class QuotaImpact:
    dimension: QuotaDimension
    used: int
    needed: int
    limit: int

    @property
    def after(self) -> int:
        return self.used + self.needed

    @property
    def fits(self) -> bool:
        return self.after <= self.limit

    @property
    def over_by(self) -> int:
        return max(self.after - self.limit, 0)

    @property
    def percent_after(self) -> int:
        return 100 if not self.limit else min(round(100 * self.after / self.limit), 100)

    @property
    def message(self) -> str:
        unit = f" {self.dimension.unit}" if self.dimension.unit else ""
        return _(
            "%(resource)s %(used)s%(unit)s of %(limit)s%(unit)s used, this request needs "
            "%(needed)s%(unit)s."
        ) % {
            "resource": self.dimension.label,
            "used": self.used,
            "limit": self.limit,
            "needed": self.needed,
            "unit": unit,
        }


@dataclass
class Plan:
    allocation: Allocation
    kind: Kind
    valid: ValidSpec | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    impact: list[QuotaImpact] = field(default_factory=list)

    @property
    def over_quota(self) -> list[QuotaImpact]:
        return [i for i in self.impact if not i.fits]

    @property
    def ok(self) -> bool:
        return self.valid is not None and not self.errors and not self.over_quota

    @property
    def names(self) -> list[str]:
        """The names the servers (or the network) will carry."""
        if self.valid is None:
            return []
        spec = self.valid.spec
        count = spec.get("count", 1)
        if count == 1:
            return [spec["name"]]
        return [f"{spec['name']}-{i}" for i in range(1, count + 1)]


def quota_impact(allocation: Allocation, needs: dict[str, int]) -> list[QuotaImpact]:
    """Per dimension the request needs: usage now (all requests in flight), need, limit."""
    usage = usage_by_allocation([allocation])[allocation.pk]
    return [
        QuotaImpact(d, u.used, needs.get(d.key, 0), u.limit)
        for d, u in zip(DIMENSIONS, usage, strict=True)
        if needs.get(d.key, 0)
    ]


def volume_type_impact(
    allocation: Allocation, volume_type: str, needs: dict[str, int], *, approving: bool = False
) -> list[QuotaImpact]:
    """What ``needs`` does to the allocation's own limits of ``volume_type``: none without any.

    ``approving``: as the approval check counts, without the requests still pending.
    """
    from provisioning.models import VolumeTypeQuota
    from provisioning.usage import volume_type_usage

    limits = VolumeTypeQuota.objects.filter(allocation=allocation, volume_type=volume_type).first()
    if limits is None:
        return []
    volumes, gigabytes = volume_type_usage(
        allocation.pk, volume_type, include_pending=not approving
    )
    named = {"type": volume_type}
    return [
        QuotaImpact(QuotaDimension(f"volumes_{volume_type}", _("Volumes of type %(type)s") % named),
                    volumes, needs.get("volumes", 0), limits.volumes),
        QuotaImpact(QuotaDimension(f"gigabytes_{volume_type}",
                                   _("Storage of type %(type)s") % named, "GB"),
                    gigabytes, needs.get("gigabytes", 0), limits.gigabytes),
    ]  # fmt: skip


def attach_quota_impact(requests: Iterable[ResourceRequest]) -> list[ResourceRequest]:
    """Set ``quota_impact`` on each request, reading usage once for all their allocations.

    Pending requests are left out of usage, as the approval check does: what is approved, being
    built or live, beside which approving this request must fit.
    """
    requests = list(requests)
    allocations = {r.allocation_id: r.allocation for r in requests}.values()
    usage = usage_by_allocation(allocations, include_pending=False)
    for request in requests:
        by_key = {u.dimension.key: u for u in usage[request.allocation_id]}
        request.quota_impact = [
            QuotaImpact(d, by_key[d.key].used, needed, by_key[d.key].limit)
            for d in DIMENSIONS
            if (needed := getattr(request, d.key))
        ]
    return requests


def plan_request(
    *, allocation: Allocation, kind: Kind | str, spec: dict[str, Any], requester: Any = None
) -> Plan:
    plan = Plan(allocation=allocation, kind=Kind(kind))
    try:
        plan.valid = validate_spec(kind, spec, allocation, requester=requester)
    except ValidationError as err:
        plan.errors = err.message_dict
        return plan
    plan.impact = quota_impact(allocation, plan.valid.needs)
    if volume_type := plan.valid.spec.get("volume_type"):
        plan.impact += volume_type_impact(allocation, volume_type, plan.valid.needs)
    return plan


def preview_needs(*, allocation: Allocation, kind: Kind | str, data: dict[str, Any]) -> dict:
    """What a half-filled form would need, for the live preview: only the fields that count.

    Unlike ``plan_request`` it does not insist on a valid name or justification, so the preview
    answers as soon as the size of the request is known.
    """
    from provisioning.models import Flavor, Offering

    if Kind(kind) == Kind.NETWORK:
        return {"networks": 1, "routers": 1 if data.get("router") else 0}
    if Kind(kind) == Kind.VOLUME:
        size = _positive(data.get("size_gb"))
        return {"volumes": 1, "gigabytes": size} if size else {}
    if Kind(kind) != Kind.SERVER:
        return {}
    flavor_name = data.get("flavor") or ""
    if data.get("offering"):
        offering = Offering.objects.filter(slug=data["offering"], regions=allocation.region).first()
        flavor_name = offering.flavor_name if offering else ""
    flavor = Flavor.objects.filter(region=allocation.region, name=flavor_name, active=True).first()
    if flavor is None:
        return {}
    count = _positive(data.get("count") or 1)
    if not count:
        return {}  # nothing sensible asked yet: the form will say why
    needs = {"instances": count, "vcpus": count * flavor.vcpus, "ram_mb": count * flavor.ram_mb}
    if boot := _positive(data.get("boot_volume_gb")):
        needs.update(volumes=count, gigabytes=count * boot)
    return needs


def _positive(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0
