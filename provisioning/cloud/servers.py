"""Servers: find-or-create by request tag, read, list, delete, start/stop/reboot.

Every create is preceded by a lookup of the request's tag, so a retried task (or one whose
create call lost its response) finds the server it already built instead of building another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provisioning.cloud.base import (
    AddressInfo,
    CloudTarget,
    PortInfo,
    ServerInfo,
)
from provisioning.cloud.connection import connect, removed, translate_errors


def server_info(server: Any) -> ServerInfo:
    """Flatten an SDK server; flavor details come embedded (microversion >= 2.47)."""
    flavor = server.flavor or {}
    addresses = []
    for network, entries in sorted((server.addresses or {}).items()):
        for entry in entries:
            addresses.append(
                AddressInfo(
                    network=network,
                    address=entry.get("addr", ""),
                    version=int(entry.get("version", 4)),
                    mac=entry.get("OS-EXT-IPS-MAC:mac_addr", ""),
                    kind=entry.get("OS-EXT-IPS:type", "fixed"),
                )
            )
    fault = server.fault or {}
    image = server.image or {}
    return ServerInfo(
        id=server.id,
        name=server.name,
        status=server.status,
        project_id=server.project_id or "",
        flavor_name=flavor.get("original_name") or flavor.get("name") or flavor.get("id") or "",
        vcpus=flavor.get("vcpus"),
        ram_mb=flavor.get("ram"),
        image_id=image.get("id") or "",
        addresses=tuple(addresses),
        tags=tuple(server.tags or ()),
        metadata=tuple(sorted((server.metadata or {}).items())),
        fault_message=fault.get("message", "") if server.status == "ERROR" else "",
        created_at=server.created_at or "",
        key_name=server.key_name,
        task_state=server.task_state,
    )


def server_find_by_tag(target: CloudTarget, tag: str) -> ServerInfo | None:
    """The server carrying `tag` in the target's project, if any (the oldest if several).

    Servers on their way out are ignored, so a request whose failed server is being deleted
    gets a new one from `server_find_or_create` instead of the dying one.
    """
    found = [s for s in servers_list(target, tag=tag) if not s.is_deleting]
    return min(found, key=lambda s: (s.created_at, s.id)) if found else None


def servers_list(
    target: CloudTarget, *, tag: str | None = None, all_projects: bool = False
) -> list[ServerInfo]:
    """All servers of the project (every page), optionally only those with `tag`.

    all_projects needs an admin account; the reconciler uses it to sweep a region in one list.
    """
    conn = connect(target)
    query: dict[str, Any] = {}
    if tag:
        query["tags"] = tag
    if all_projects:
        query["all_projects"] = True
    with translate_errors("listing servers"):
        return [server_info(s) for s in conn.compute.servers(details=True, **query)]


def server_get(target: CloudTarget, server_id: str) -> ServerInfo:
    conn = connect(target)
    with translate_errors(f"reading server {server_id}"):
        return server_info(conn.compute.get_server(server_id))


def port_info(port: Any) -> PortInfo:
    return PortInfo(
        id=port.id,
        network_id=port.network_id or "",
        status=port.status or "",
        device_id=port.device_id or "",
        device_owner=port.device_owner or "",
        mac=port.mac_address or "",
        fixed_ips=tuple(
            (ip.get("subnet_id", ""), ip.get("ip_address", "")) for ip in port.fixed_ips or ()
        ),
        vif_type=port.binding_vif_type or None,
        host_id=port.binding_host_id or None,
        vnic_type=port.binding_vnic_type or None,
    )


def server_ports(target: CloudTarget, server_id: str) -> list[PortInfo]:
    """The Neutron ports attached to a server, by port id (empty once the server is gone)."""
    conn = connect(target)
    with translate_errors(f"listing ports of server {server_id}"):
        return sorted(
            (port_info(p) for p in conn.network.ports(device_id=server_id)), key=lambda p: p.id
        )


def server_find_or_create(
    target: CloudTarget,
    *,
    tag: str,
    name: str,
    flavor_id: str,
    image_id: str,
    network_ids: Iterable[str] = (),
    port_ids: Iterable[str] = (),
    key_name: str | None = None,
    security_groups: Iterable[str] = (),
    metadata: Mapping[str, str] | None = None,
    known_absent: bool = False,
    boot_volume_gb: int = 0,
) -> ServerInfo:
    """Return the server tagged `tag`, creating it (tagged) only if none exists yet.

    ``known_absent``: the caller knows no create for this tag was ever sent (the first step of
    a provisioning attempt), so the lookup is skipped. The answer to a create is the bare 202
    body, so the server is read back once to return its full state; the caller polls
    `server_get` until it leaves BUILD (no blocking wait here).
    """
    existing = None if known_absent else server_find_by_tag(target, tag)
    if existing:
        return existing
    conn = connect(target)
    networks = [{"uuid": n} for n in network_ids] + [{"port": p} for p in port_ids]
    attrs: dict[str, Any] = {
        "name": name,
        "flavor_id": flavor_id,
        "image_id": image_id,
        "networks": networks or "none",
        "tags": [tag],
        "metadata": {"portal_request": tag, **dict(metadata or {})},
    }
    if key_name:
        attrs["key_name"] = key_name
    if boot_volume_gb:
        # Boot from a volume Nova has Cinder make from the image, deleted with the server.
        del attrs["image_id"]
        attrs["block_device_mapping"] = [
            {
                "boot_index": 0,
                "uuid": image_id,
                "source_type": "image",
                "destination_type": "volume",
                "volume_size": boot_volume_gb,
                "delete_on_termination": True,
            }
        ]
    groups = list(security_groups)
    if groups:
        attrs["security_groups"] = [{"name": g} for g in groups]
    with translate_errors(f"creating server {name}"):
        created = conn.compute.create_server(**attrs)
        return server_info(conn.compute.get_server(created.id))


def server_delete(target: CloudTarget, server_id: str) -> bool:
    """Ask the cloud to delete a server; False if it was already gone (so retries are safe)."""
    conn = connect(target)
    return removed(
        f"deleting server {server_id}",
        lambda: conn.compute.delete_server(server_id, ignore_missing=False),
    )


def server_start(target: CloudTarget, server_id: str) -> None:
    conn = connect(target)
    with translate_errors(f"starting server {server_id}"):
        conn.compute.start_server(server_id)


def server_stop(target: CloudTarget, server_id: str) -> None:
    conn = connect(target)
    with translate_errors(f"stopping server {server_id}"):
        conn.compute.stop_server(server_id)


def server_reboot(target: CloudTarget, server_id: str, *, hard: bool = False) -> None:
    conn = connect(target)
    with translate_errors(f"rebooting server {server_id}"):
        conn.compute.reboot_server(server_id, "HARD" if hard else "SOFT")


def server_resize(target: CloudTarget, server_id: str, flavor_id: str) -> None:
    """Ask for a new flavor; the server goes RESIZE, then VERIFY_RESIZE to be confirmed."""
    conn = connect(target)
    with translate_errors(f"resizing server {server_id}"):
        conn.compute.resize_server(server_id, flavor_id)


def server_confirm_resize(target: CloudTarget, server_id: str) -> None:
    conn = connect(target)
    with translate_errors(f"confirming the resize of server {server_id}"):
        conn.compute.confirm_server_resize(server_id)


def server_revert_resize(target: CloudTarget, server_id: str) -> None:
    """Go back to the old flavor while the resize waits to be confirmed (VERIFY_RESIZE)."""
    conn = connect(target)
    with translate_errors(f"reverting the resize of server {server_id}"):
        conn.compute.revert_server_resize(server_id)


def server_action_failure(target: CloudTarget, server_id: str, action: str) -> str:
    """Why the server's latest ``action`` (e.g. "resize") failed, as the cloud recorded it.

    Nova records each action's events; a failed one carries the error's message in
    ``details`` (microversion 2.84) and its result "Error". Empty when nothing failed or the
    cloud said nothing about it.
    """
    conn = connect(target)
    with translate_errors(f"reading the actions of server {server_id}"):
        latest = next(
            (a for a in conn.compute.server_actions(server_id) if a.action == action), None
        )
        if latest is None:
            return ""
        detail = conn.compute.get_server_action(latest.request_id, server_id)
    failed = [e for e in detail.events or () if (_field(e, "result") or "").lower() == "error"]
    # Several events of one failure often carry the same message: said once each.
    reasons = dict.fromkeys((_field(e, "details") or "").strip() for e in failed)
    said = "; ".join(r for r in reasons if r)
    if said:
        return said
    if failed:
        # Nova shows an event's details to admins only (by default): the reason is then in the
        # server's actions, which the cloud's operators can read.
        return f"Nova recorded an error in its {_field(failed[0], 'event')} step"
    return (latest.message or "").strip()


def _field(event: Any, name: str) -> Any:
    """An event's field, whether the SDK gives events as resources or as plain dicts."""
    value = getattr(event, name, None)
    if value is None and isinstance(event, dict):
        value = dict.get(event, name)
    return value
