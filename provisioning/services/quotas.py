"""Quota: what a request needs against what its allocation has left, checked under a row lock.

Usage counts live resources plus requests in flight (pending, approved, provisioning), so a
request holds its share from submission on; see ``provisioning.usage`` and ``quota_check``.
"""

from __future__ import annotations

from provisioning.models import ResourceRequest
from provisioning.plans import volume_type_impact
from provisioning.services.errors import QuotaExceeded
from tenants.models import Allocation
from tenants.quotas import DIMENSIONS, usage_by_allocation


def allocation_lock(allocation_id: int) -> Allocation:
    """Lock the allocation row: submits and approvals against it now run one at a time.

    Only the allocation's own row (``of``), and ``FOR NO KEY UPDATE``: rows that merely point at
    the allocation (a worker inserting a server, an audit event) take ``FOR KEY SHARE`` for their
    foreign-key check, which this lock does not block.
    """
    return (
        Allocation.objects.select_for_update(of=("self",), no_key=True)
        .select_related("region__site", "region__domain", "tenant")
        .get(pk=allocation_id)
    )


def quota_check(
    *,
    allocation: Allocation,
    needs: dict[str, int],
    approving: bool = False,
    volume_type: str = "",
) -> None:
    """Raise QuotaExceeded naming the first dimension ``needs`` does not fit in.

    At submit (``approving=False``) everything in flight counts, pending requests included, so
    nobody can queue more than the allocation holds. At approval only what is approved, being
    built or live counts beside the request: requests still waiting compete for what is left,
    and the first approved wins. Volumes of a ``volume_type`` the allocation limits are also
    checked against that type's own limits.
    """
    usage = usage_by_allocation([allocation], include_pending=not approving)[allocation.pk]
    for item, dimension in zip(usage, DIMENSIONS, strict=True):
        needed = needs.get(dimension.key, 0)
        if not needed:
            continue
        others = item.used
        if others + needed > item.limit:
            raise QuotaExceeded(
                allocation=allocation,
                dimension=dimension,
                used=others,
                limit=item.limit,
                needed=needed,
            )
    if volume_type and (needs.get("volumes") or needs.get("gigabytes")):
        for impact in volume_type_impact(allocation, volume_type, needs, approving=approving):
            if not impact.fits:
                raise QuotaExceeded(
                    allocation=allocation, dimension=impact.dimension, used=impact.used,
                    limit=impact.limit, needed=impact.needed,
                )  # fmt: skip


def needs_of(request: ResourceRequest) -> dict[str, int]:
    return {d.key: getattr(request, d.key) for d in DIMENSIONS}
