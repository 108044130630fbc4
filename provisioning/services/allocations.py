"""Allocations drive the cloud: each maps to an OpenStack project whose quotas are the
allocation's, so the portal's limits and the cloud's agree.

The region's account (clouds.yaml) must be allowed to create projects and set quotas; the
portal then acts inside each project with that account re-scoped to it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from portal.audit import audit_record
from portal.outbox import enqueue
from portal.services import audited_delete, audited_save
from provisioning import cloud
from provisioning.cloud.base import CloudTarget, ProjectInfo
from tenants import access_memory
from tenants.models import Allocation
from tenants.quotas import DIMENSIONS


def project_name_for(allocation: Allocation) -> str:
    return allocation.project_name or f"{allocation.tenant.slug}-{allocation.region.slug}"


def allocation_ensure_project(allocation: Allocation) -> ProjectInfo | None:
    """Find (adopt) or create the allocation's project the first time it is needed.

    The cloud call runs with no transaction open; the project id is then written only if no
    one wrote one meanwhile (two workers adopting the same project agree on it anyway: the
    cloud finds it by name).
    """
    if allocation.project_id:
        return None
    name = project_name_for(allocation)
    project = cloud.project_find_or_create(
        CloudTarget(cloud=allocation.region.cloud_name),
        name=name,
        description=f"{allocation.tenant.name} in {allocation.region}",
    )
    with transaction.atomic():
        written = Allocation.objects.filter(pk=allocation.pk, project_id="").update(
            project_id=project.id, project_name=name
        )
        if written:
            # Allocations are remembered at the access generation (provisioning.listing); an
            # update() sends no signal, so say it changed.
            access_memory.changed()
            audit_record(
                actor=None, action="allocation.project", obj=allocation,
                after={"project_id": project.id, "project_name": name},
                tenant=allocation.tenant, region=allocation.region,
            )  # fmt: skip
    allocation.refresh_from_db(fields=["project_id", "project_name"])
    return project


def cloud_limits(allocation: Allocation) -> dict[str, int]:
    """The allocation's quotas in the cloud's names (see QuotaDimension.cloud_quotas).

    Each volume type of the region gets its own pair, ``volumes_<type>`` and
    ``gigabytes_<type>``: the allocation's limits for it, or -1 (none beyond the totals), so
    that a limit removed in the portal is removed in the cloud too.
    """
    from provisioning.models import VolumeType, VolumeTypeQuota

    limits = {
        name: getattr(allocation, dimension.key)
        for dimension in DIMENSIONS
        for name in dimension.cloud_quotas
    }
    own = {q.volume_type: q for q in VolumeTypeQuota.objects.filter(allocation=allocation)}
    types = VolumeType.objects.filter(region_id=allocation.region_id, active=True)
    for name in sorted({*types.values_list("name", flat=True), *own}):
        quota = own.get(name)
        limits[f"volumes_{name}"] = quota.volumes if quota else -1
        limits[f"gigabytes_{name}"] = quota.gigabytes if quota else -1
    return limits


def volume_type_quota_set(*, allocation: Allocation, volume_type: str, volumes: int,
                          gigabytes: int, actor) -> None:  # fmt: skip
    """Limit the allocation's volumes of one type (audited), and push it to the cloud."""
    from provisioning.models import VolumeTypeQuota

    with transaction.atomic():
        quota = VolumeTypeQuota.objects.filter(
            allocation=allocation, volume_type=volume_type
        ).first() or VolumeTypeQuota(allocation=allocation, volume_type=volume_type)
        quota.volumes, quota.gigabytes = volumes, gigabytes
        quota.full_clean()
        audited_save(obj=quota, actor=actor)
        on_allocation_changed(None, allocation=allocation)


def volume_type_quota_remove(*, quota, actor) -> None:
    """Lift a per-type limit (audited): the allocation's totals alone apply again."""
    with transaction.atomic():
        allocation = quota.allocation
        audited_delete(obj=quota, actor=actor)
        on_allocation_changed(None, allocation=allocation)


def allocation_sync_cloud(*, allocation: Allocation) -> dict[str, int]:
    """Create or adopt the project, then push the allocation's quotas to Nova and Neutron.

    With ``PORTAL_PUSH_QUOTAS`` off (an account that may not set quotas) only the project is
    ensured. A refusal by the cloud is recorded in the audit log and raised for the caller.
    """
    allocation_ensure_project(allocation)
    if not settings.PORTAL_PUSH_QUOTAS:
        return {}
    limits = cloud_limits(allocation)
    try:
        cloud.quota_set(CloudTarget(cloud=allocation.region.cloud_name), allocation.project_id,
                        **limits)  # fmt: skip
    except cloud.CloudPermanentError as err:
        audit_record(
            actor=None, action="allocation.quota_push_failed", obj=allocation,
            after={"limits": limits, "reason": str(err)},
            tenant=allocation.tenant, region=allocation.region,
        )  # fmt: skip
        raise
    audit_record(
        actor=None, action="allocation.quota_push", obj=allocation, after=limits,
        tenant=allocation.tenant, region=allocation.region,
    )  # fmt: skip
    return limits


def on_allocation_changed(sender, *, allocation: Allocation, **kwargs) -> None:
    """An allocation was created or its quotas changed: bring the cloud in line, after commit.

    Sent from inside the service's transaction, so the work is in the outbox exactly when the
    change is committed.
    """
    enqueue("provisioning.tasks.sync_allocation", allocation.pk)
