"""Flavors, images, quotas and projects: what the catalog sync and the allocation admin need."""

from __future__ import annotations

from typing import Any

from provisioning.cloud.base import (
    CloudPermanentError,
    CloudTarget,
    FlavorInfo,
    ImageInfo,
    ProjectInfo,
    QuotaInfo,
    QuotaItem,
)
from provisioning.cloud.connection import connect, translate_errors

# portal name -> (service, cloud name)
QUOTA_NAMES = {
    "instances": ("compute", "instances"),
    "cores": ("compute", "cores"),
    "ram_mb": ("compute", "ram"),
    "networks": ("network", "networks"),
    "subnets": ("network", "subnets"),
    "routers": ("network", "routers"),
    "ports": ("network", "ports"),
    "security_groups": ("network", "security_groups"),
    "floating_ips": ("network", "floating_ips"),
    "volumes": ("block-storage", "volumes"),
    "gigabytes": ("block-storage", "gigabytes"),
}


def flavors_list(target: CloudTarget) -> list[FlavorInfo]:
    conn = connect(target)
    with translate_errors("listing flavors"):
        return [
            FlavorInfo(
                id=str(f.id),
                name=f.name,
                vcpus=int(f.vcpus),
                ram_mb=int(f.ram),
                disk_gb=int(f.disk or 0),
                is_public=bool(f.is_public if f.is_public is not None else True),
            )
            for f in conn.compute.flavors(details=True)
        ]


def images_list(target: CloudTarget) -> list[ImageInfo]:
    """Active images visible to the project (every page)."""
    conn = connect(target)
    with translate_errors("listing images"):
        return [
            ImageInfo(
                id=i.id,
                name=i.name or "",
                status=i.status or "",
                visibility=i.visibility or "",
                disk_format=i.disk_format,
                min_disk_gb=int(i.min_disk or 0),
                min_ram_mb=int(i.min_ram or 0),
                size_bytes=i.size,
            )
            for i in conn.image.images()
            if (i.status or "active") == "active"
        ]


def _item(limit: Any, used: Any) -> QuotaItem:
    return QuotaItem(limit=int(limit if limit is not None else -1), used=int(used or 0))


def quota_get(target: CloudTarget, project_id: str | None = None) -> QuotaInfo:
    """Nova, Neutron and Cinder limits and usage of a project (default: the target's own)."""
    conn = connect(target)
    storage = None
    with translate_errors("reading quotas"):
        project = project_id or conn.current_project_id
        compute = conn.compute.get_quota_set(project, usage=True)
        usage = compute.usage or {}
        network = conn.network.get_quota(project, details=True)
        if conn.has_service("block-storage"):
            storage = conn.block_storage.get_quota_set(project, usage=True)
    storage_usage = (storage.usage or {}) if storage is not None else {}

    def net(name: str) -> QuotaItem:
        value = getattr(network, name, None)
        if isinstance(value, dict):
            return _item(value.get("limit"), value.get("used"))
        return _item(value, 0)

    return QuotaInfo(
        project_id=project,
        instances=_item(compute.instances, usage.get("instances")),
        cores=_item(compute.cores, usage.get("cores")),
        ram_mb=_item(compute.ram, usage.get("ram")),
        networks=net("networks"),
        subnets=net("subnets"),
        routers=net("routers"),
        ports=net("ports"),
        security_groups=net("security_groups"),
        floating_ips=net("floating_ips"),
        **(
            {
                "volumes": _item(storage.volumes, storage_usage.get("volumes")),
                "gigabytes": _item(storage.gigabytes, storage_usage.get("gigabytes")),
            }
            if storage is not None
            else {}
        ),
    )


def quota_set(admin: CloudTarget, project_id: str, **limits: int) -> QuotaInfo:
    """Set a project's quotas (admin account), e.g. quota_set(t, pid, instances=20, cores=40).

    Keyword names are the portal's (see QUOTA_NAMES), and ``volumes_<type>`` /
    ``gigabytes_<type>`` for one volume type of block storage; -1 means unlimited.
    """
    names = {k: _quota_name(k) for k in limits}
    unknown = [k for k, name in names.items() if name is None]
    if unknown:
        raise CloudPermanentError(f"Unknown quota names: {', '.join(sorted(unknown))}")

    def of(service: str) -> dict[str, int]:
        return {names[k][1]: v for k, v in limits.items() if names[k][0] == service}

    compute, network, storage = of("compute"), of("network"), of("block-storage")
    conn = connect(admin)
    with translate_errors(f"setting quotas of project {project_id}"):
        if compute:
            conn.compute.update_quota_set(project_id, **compute)
        if network:
            conn.network.update_quota(project_id, **network)
        # A cloud without block storage has no volumes to limit: the portal's quota still holds.
        if storage and conn.has_service("block-storage"):
            conn.block_storage.update_quota_set(project_id, **storage)
    return quota_get(admin, project_id)


def _quota_name(key: str) -> tuple[str, str] | None:
    """(service, the cloud's name) of a portal quota name; None if there is no such quota."""
    if key in QUOTA_NAMES:
        return QUOTA_NAMES[key]
    dimension, _, volume_type = key.partition("_")
    if dimension in ("volumes", "gigabytes") and volume_type:
        return ("block-storage", key)  # Cinder's own per-type quota, e.g. volumes_ssd
    return None


def project_info(project: Any) -> ProjectInfo:
    return ProjectInfo(
        id=project.id,
        name=project.name,
        domain_id=project.domain_id or "",
        description=project.description or "",
        enabled=bool(project.is_enabled if project.is_enabled is not None else True),
    )


def project_find_or_create(
    admin: CloudTarget,
    *,
    name: str,
    domain: str = "default",
    description: str = "",
    role: str = "member",
) -> ProjectInfo:
    """Find the project by name in `domain` (id or name), else create it.

    The admin account is also given `role` on the project, so the portal can then act in it
    with CloudTarget(cloud, project_id=...) without a second set of credentials.
    """
    conn = connect(admin)
    with translate_errors(f"creating project {name}"):
        found = conn.identity.find_domain(domain, ignore_missing=False)
        project = conn.identity.find_project(name, domain_id=found.id)
        if project is None:
            project = conn.identity.create_project(
                name=name, domain_id=found.id, description=description
            )
        role_obj = conn.identity.find_role(role, ignore_missing=False)
        user_id = conn.current_user_id
        if not conn.identity.validate_user_has_project_role(project, user_id, role_obj):
            conn.identity.assign_project_role_to_user(project, user_id, role_obj)
    return project_info(project)
