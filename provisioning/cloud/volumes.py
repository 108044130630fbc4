"""Block storage: Cinder volumes and their types, attached to servers through Nova.

A volume made for a request carries the request's tag in its metadata, written with the create
itself (Cinder volumes take no tags), and a lookup by that metadata comes before any create, so
a retry or a lost answer never makes a second volume. Attaching goes through Nova (it tells the
hypervisor); Cinder then shows the volume ``in-use`` with the attachment.
"""

from __future__ import annotations

from typing import Any

from provisioning.cloud.base import CloudTarget, VolumeInfo, VolumeTypeInfo
from provisioning.cloud.connection import connect, removed, translate_errors

TAG_KEY = "portal_request"


def volume_info(volume: Any) -> VolumeInfo:
    return VolumeInfo(
        id=volume.id,
        name=volume.name or "",
        size_gb=int(volume.size or 0),
        status=volume.status or "",
        volume_type=volume.volume_type or "",
        project_id=volume.project_id or "",
        attachments=tuple(
            (a.get("server_id", ""), a.get("device", "")) for a in volume.attachments or ()
        ),
        metadata=tuple(sorted((volume.metadata or {}).items())),
    )


def volume_types_list(target: CloudTarget) -> list[VolumeTypeInfo]:
    """The volume types the project may use; none where the cloud has no block storage."""
    conn = connect(target)
    with translate_errors("listing volume types"):
        if not conn.has_service("block-storage"):
            return []
        return [
            VolumeTypeInfo(id=t.id, name=t.name, description=t.description or "")
            for t in conn.block_storage.types()
        ]


def volumes_list(
    target: CloudTarget, *, tag: str | None = None, name: str | None = None
) -> list[VolumeInfo]:
    """The project's volumes (every page), optionally only those named ``name`` and made for
    ``tag``; none where the cloud has no block storage. The tag is matched here: Cinder filters
    on metadata only where its operators enabled it (``resource_filters.json``), the name
    filter everywhere."""
    conn = connect(target)
    query: dict[str, Any] = {"name": name} if name else {}
    with translate_errors("listing volumes"):
        if not conn.has_service("block-storage"):
            return []
        found = [volume_info(v) for v in conn.block_storage.volumes(details=True, **query)]
    return [v for v in found if v.request_tag == tag] if tag else found


def volume_find_or_create(
    target: CloudTarget,
    *,
    tag: str,
    name: str,
    size_gb: int,
    volume_type: str | None = None,
    known_absent: bool = False,
) -> VolumeInfo:
    """The volume made for ``tag``, created (tagged in its metadata) only if there is none.

    ``known_absent``: the caller knows no create for this tag was ever sent, so the lookup is
    skipped.
    """
    found = [] if known_absent else volumes_list(target, tag=tag, name=name)
    found = [v for v in found if v.status != "deleting"]
    if found:
        return found[0]
    conn = connect(target)
    attrs: dict[str, Any] = {"name": name, "size": size_gb, "metadata": {TAG_KEY: tag}}
    if volume_type:
        attrs["volume_type"] = volume_type
    with translate_errors(f"creating volume {name}"):
        return volume_info(conn.block_storage.create_volume(**attrs))


def volume_get(target: CloudTarget, volume_id: str) -> VolumeInfo:
    conn = connect(target)
    with translate_errors(f"reading volume {volume_id}"):
        return volume_info(conn.block_storage.get_volume(volume_id))


def volume_extend(target: CloudTarget, volume_id: str, size_gb: int) -> None:
    """Grow the volume to ``size_gb`` (it goes ``extending``, then back)."""
    conn = connect(target)
    with translate_errors(f"extending volume {volume_id}"):
        conn.block_storage.extend_volume(volume_id, size_gb)


def volume_delete(target: CloudTarget, volume_id: str) -> bool:
    """Ask Cinder to delete the volume; False if it was already gone."""
    conn = connect(target)
    return removed(
        f"deleting volume {volume_id}",
        lambda: conn.block_storage.delete_volume(volume_id, ignore_missing=False),
    )


def volume_attach(target: CloudTarget, *, server_id: str, volume_id: str) -> str:
    """Attach through Nova; the device Nova chose (e.g. /dev/vdb)."""
    conn = connect(target)
    with translate_errors(f"attaching volume {volume_id} to server {server_id}"):
        attachment = conn.compute.create_volume_attachment(server_id, volume_id=volume_id)
    return attachment.device or ""


def volume_detach(target: CloudTarget, *, server_id: str, volume_id: str) -> bool:
    """Detach through Nova; False if it was not attached there (so retries are safe)."""
    conn = connect(target)
    return removed(
        f"detaching volume {volume_id} from server {server_id}",
        lambda: conn.compute.delete_volume_attachment(server_id, volume_id, ignore_missing=False),
    )
