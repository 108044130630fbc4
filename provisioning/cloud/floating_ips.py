"""Floating IPs: an address on the external network, made for a request and given to a port.

Made like the other Neutron objects (``provisioning.cloud.networks``): the create carries the
request's tag as its description, atomically, and the tag follows in a second call; a lookup by
tag, then by description, comes before any create, so a retry or a lost answer never allocates
a second address.
"""

from __future__ import annotations

from typing import Any

from provisioning.cloud.base import CloudTarget, FloatingIpInfo
from provisioning.cloud.connection import connect, removed, translate_errors
from provisioning.cloud.networks import all_stamped, find_stamped, stamp


def floating_ip_info(ip: Any) -> FloatingIpInfo:
    return FloatingIpInfo(
        id=ip.id,
        address=ip.floating_ip_address or "",
        network_id=ip.floating_network_id or "",
        port_id=ip.port_id or "",
        fixed_address=ip.fixed_ip_address or "",
        status=ip.status or "",
        project_id=ip.project_id or "",
        tags=tuple(ip.tags or ()),
        description=ip.description or "",
    )


def floating_ip_find_by_tag(target: CloudTarget, tag: str) -> FloatingIpInfo | None:
    conn = connect(target)
    with translate_errors(f"looking up floating IP {tag}"):
        found = find_stamped(conn, "ips", tag)
    return floating_ip_info(found) if found is not None else None


def floating_ip_find_or_create(target: CloudTarget, *, tag: str, network_id: str) -> FloatingIpInfo:
    """The address made for ``tag`` on the external network ``network_id``, allocated once."""
    found = floating_ip_find_by_tag(target, tag)
    if found is not None:
        return found
    conn = connect(target)
    with translate_errors("allocating a floating IP"):
        made = conn.network.create_ip(floating_network_id=network_id, description=tag)
        return floating_ip_info(stamp(conn, made, tag))


def floating_ip_get(target: CloudTarget, ip_id: str) -> FloatingIpInfo:
    conn = connect(target)
    with translate_errors(f"reading floating IP {ip_id}"):
        return floating_ip_info(conn.network.get_ip(ip_id))


def floating_ip_associate(
    target: CloudTarget, ip_id: str, *, port_id: str, fixed_address: str | None = None
) -> FloatingIpInfo:
    """Give the address to a port (idempotent: giving it to the port it has changes nothing)."""
    conn = connect(target)
    attrs: dict[str, Any] = {"port_id": port_id}
    if fixed_address:
        attrs["fixed_ip_address"] = fixed_address
    with translate_errors(f"giving floating IP {ip_id} to port {port_id}"):
        return floating_ip_info(conn.network.update_ip(ip_id, **attrs))


def floating_ip_delete(target: CloudTarget, ip_id: str) -> bool:
    """Release the address; False if it was already gone (so retries are safe)."""
    conn = connect(target)
    return removed(
        f"releasing floating IP {ip_id}",
        lambda: conn.network.delete_ip(ip_id, ignore_missing=False),
    )


def floating_ip_delete_by_tag(target: CloudTarget, tag: str) -> list[str]:
    """Release every address made for ``tag``; the addresses released."""
    conn = connect(target)
    with translate_errors(f"looking up floating IPs {tag}"):
        found = [floating_ip_info(ip) for ip in all_stamped(conn, "ips", tag)]
    return [ip.address for ip in found if floating_ip_delete(target, ip.id)]


def floating_ips_list(target: CloudTarget, *, all_projects: bool = False) -> list[FloatingIpInfo]:
    """The project's floating IPs (every project's with an admin account and all_projects)."""
    conn = connect(target)
    query: dict[str, Any] = {}
    if not all_projects:
        with translate_errors("listing floating IPs"):
            query["project_id"] = conn.current_project_id
    with translate_errors("listing floating IPs"):
        return [floating_ip_info(ip) for ip in conn.network.ips(**query)]
