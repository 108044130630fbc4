"""Networks (+ subnet, router, interface) and security groups, found by request tag first.

Neutron (2026.2 as well) refuses `tags` in a POST, so tagging takes a second call. To leave no
window in which a crash between the two calls makes a retry build a duplicate, each object is
created with the tag as its `description` (atomic with the create) and looked up by tag, then by
description; a found-but-untagged object gets its tag then. Every step looks before it creates,
so a retry resumes where the previous attempt stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import openstack.exceptions as sdk_exc

from provisioning.cloud.base import (
    CloudNotFound,
    CloudPermanentError,
    CloudTarget,
    NetworkInfo,
    NetworkSetup,
    RouterInfo,
    SecurityGroupInfo,
    SecurityRule,
    SubnetInfo,
)
from provisioning.cloud.connection import connect, removed, translate_errors

INTERFACE_OWNER = "network:router_interface"


def network_info(net: Any) -> NetworkInfo:
    return NetworkInfo(
        id=net.id,
        name=net.name or "",
        project_id=net.project_id or "",
        subnet_ids=tuple(net.subnet_ids or ()),
        tags=tuple(net.tags or ()),
        is_external=bool(net.is_router_external),
        status=net.status or "",
    )


def subnet_info(sub: Any) -> SubnetInfo:
    return SubnetInfo(
        id=sub.id,
        name=sub.name or "",
        network_id=sub.network_id,
        cidr=sub.cidr,
        gateway_ip=sub.gateway_ip,
        ip_version=int(sub.ip_version or 4),
        dns_nameservers=tuple(sub.dns_nameservers or ()),
        allocation_pools=tuple((p["start"], p["end"]) for p in sub.allocation_pools or ()),
    )


def router_info(router: Any) -> RouterInfo:
    gateway = router.external_gateway_info or {}
    return RouterInfo(
        id=router.id,
        name=router.name or "",
        project_id=router.project_id or "",
        external_network_id=gateway.get("network_id"),
        external_ips=tuple(ip["ip_address"] for ip in gateway.get("external_fixed_ips") or ()),
        tags=tuple(router.tags or ()),
    )


def _first(items: Iterable[Any]) -> Any | None:
    return next(iter(items), None)


def find_stamped(conn: Any, kind: str, tag: str, **query: Any) -> Any | None:
    """The object of `kind` carrying `tag`, as a tag or (if tagging was cut short) description."""
    listing = getattr(conn.network, kind)
    found = _first(listing(tags=tag, **query))
    if found is None:
        found = _first(listing(description=tag, **query))
        if found is not None:
            conn.network.set_tags(found, [*(found.tags or []), tag])
            found.tags = [*(found.tags or []), tag]
    return found


def all_stamped(conn: Any, kind: str, tag: str, **query: Any) -> list[Any]:
    listing = getattr(conn.network, kind)
    found = {o.id: o for o in listing(tags=tag, **query)}
    found.update((o.id, o) for o in listing(description=tag, **query))
    return list(found.values())


def stamp(conn: Any, obj: Any, tag: str) -> Any:
    conn.network.set_tags(obj, [tag])
    obj.tags = [tag]
    return obj


def external_network_find(target: CloudTarget, name: str | None = None) -> NetworkInfo:
    """The external network for router gateways: the named one, else the first one visible."""
    conn = connect(target)
    with translate_errors("looking up the external network"):
        query: dict[str, Any] = {"is_router_external": True}
        if name:
            query["name"] = name
        net = _first(conn.network.networks(**query))
    if net is None:
        raise CloudNotFound(f"No external network {name or ''} in cloud {target.cloud}".strip())
    return network_info(net)


def networks_list(target: CloudTarget, *, tag: str | None = None) -> list[NetworkInfo]:
    """Networks of the target's project (not the shared/external ones), optionally by tag."""
    conn = connect(target)
    with translate_errors("listing networks"):
        project_id = conn.current_project_id
        query: dict[str, Any] = {"project_id": project_id}
        if tag:
            query["tags"] = tag
        return [network_info(n) for n in conn.network.networks(**query)]


def network_find_or_create(
    target: CloudTarget,
    *,
    tag: str,
    name: str,
    cidr: str,
    gateway_ip: str | None = None,
    dns_nameservers: Iterable[str] = (),
    with_router: bool = True,
    external_network: str | None = None,
) -> NetworkSetup:
    """Network + subnet (+ router with an external gateway and an interface on the subnet).

    `gateway_ip` None lets Neutron pick the subnet's first address, as it does by default.
    """
    conn = connect(target)
    with translate_errors(f"building network {name}"):
        project_id = conn.current_project_id
        net = find_stamped(conn, "networks", tag, project_id=project_id)
        if net is None:
            net = stamp(conn, conn.network.create_network(name=name, description=tag), tag)
        subnet = find_stamped(conn, "subnets", tag, network_id=net.id)
        if subnet is None:
            extra = {"gateway_ip": gateway_ip} if gateway_ip else {}
            subnet = conn.network.create_subnet(
                network_id=net.id,
                name=f"{name}-subnet",
                cidr=cidr,
                ip_version=6 if ":" in cidr else 4,
                dns_nameservers=list(dns_nameservers),
                description=tag,
                **extra,
            )
            stamp(conn, subnet, tag)
        router_value = None
        if with_router:
            router = find_stamped(conn, "routers", tag, project_id=project_id)
            if router is None:
                ext = external_network_find(target, external_network)
                router = conn.network.create_router(
                    name=f"{name}-router",
                    external_gateway_info={"network_id": ext.id},
                    description=tag,
                )
                stamp(conn, router, tag)
            interfaces = conn.network.ports(device_id=router.id, device_owner=INTERFACE_OWNER)
            attached = any(
                ip.get("subnet_id") == subnet.id for p in interfaces for ip in p.fixed_ips or ()
            )
            if not attached:
                conn.network.add_interface_to_router(router, subnet=subnet.id)
            router_value = router_info(router)
        net = conn.network.get_network(net.id)
    return NetworkSetup(network_info(net), subnet_info(subnet), router_value)


def network_delete_by_tag(target: CloudTarget, tag: str) -> bool:
    """Tear down what `network_find_or_create` built for `tag`; False if nothing was left."""
    conn = connect(target)
    found = False
    with translate_errors(f"deleting network {tag}"):
        project_id = conn.current_project_id
        for router in all_stamped(conn, "routers", tag, project_id=project_id):
            found = True
            for port in list(conn.network.ports(device_id=router.id, device_owner=INTERFACE_OWNER)):
                for ip in port.fixed_ips or ():
                    with contextlib.suppress(sdk_exc.NotFoundException):
                        conn.network.remove_interface_from_router(router, subnet=ip["subnet_id"])
            conn.network.delete_router(router, ignore_missing=True)
        for net in all_stamped(conn, "networks", tag, project_id=project_id):
            found = True
            for subnet in list(conn.network.subnets(network_id=net.id)):
                conn.network.delete_subnet(subnet, ignore_missing=True)
            conn.network.delete_network(net, ignore_missing=True)
    return found


# ---- security groups ---------------------------------------------------------------------
def rule_info(r: Any) -> SecurityRule:
    """A rule as Neutron lists it inside its group (a dict) or on its own (a resource)."""
    get = r.get if isinstance(r, dict) else lambda k, d=None: getattr(r, k, d)
    return SecurityRule(
        direction=get("direction"),
        protocol=get("protocol"),
        port_min=get("port_range_min"),
        port_max=get("port_range_max"),
        remote_ip_prefix=get("remote_ip_prefix"),
        ethertype=get("ethertype", "IPv4") or "IPv4",
        remote_group_id=get("remote_group_id"),
        id=get("id") or "",
        description=get("description") or "",
    )


def security_group_info(group: Any) -> SecurityGroupInfo:
    rules = tuple(rule_info(r) for r in group.security_group_rules or ())
    return SecurityGroupInfo(
        id=group.id,
        name=group.name or "",
        project_id=group.project_id or "",
        rules=rules,
        tags=tuple(group.tags or ()),
    )


def security_group_find_or_create(
    target: CloudTarget, *, tag: str, name: str, rules: Iterable[SecurityRule] = ()
) -> SecurityGroupInfo:
    """A tagged group with at least `rules`; rules already there are left alone."""
    conn = connect(target)
    with translate_errors(f"building security group {name}"):
        project_id = conn.current_project_id
        group = find_stamped(conn, "security_groups", tag, project_id=project_id)
        if group is None:
            group = conn.network.create_security_group(name=name, description=tag)
            stamp(conn, group, tag)
        present = security_group_info(group).rules
        for rule in rules:
            if rule in present:
                continue
            # A conflict means an earlier attempt added the rule already.
            with contextlib.suppress(sdk_exc.ConflictException):
                conn.network.create_security_group_rule(
                    security_group_id=group.id,
                    direction=rule.direction,
                    ethertype=rule.ethertype,
                    protocol=rule.protocol,
                    port_range_min=rule.port_min,
                    port_range_max=rule.port_max,
                    remote_ip_prefix=rule.remote_ip_prefix,
                )
        group = conn.network.get_security_group(group.id)
    return security_group_info(group)


def security_group_get(target: CloudTarget, group_id: str) -> SecurityGroupInfo:
    conn = connect(target)
    with translate_errors(f"reading security group {group_id}"):
        return security_group_info(conn.network.get_security_group(group_id))


def security_groups_list(target: CloudTarget) -> list[SecurityGroupInfo]:
    """The project's security groups with their rules (one call: rules come embedded)."""
    conn = connect(target)
    with translate_errors("listing security groups"):
        project_id = conn.current_project_id
        return [security_group_info(g) for g in conn.network.security_groups(project_id=project_id)]


def security_group_rule_ensure(
    target: CloudTarget, *, group_id: str, rule: SecurityRule, tag: str, note: str = ""
) -> SecurityRule:
    """The rule made for ``tag`` in the group, made once.

    The tag leads the rule's description (rules take no tags), written with the create itself,
    so a retry finds its own rule. Neutron refuses a second identical rule (409): a rule that
    opens the same traffic already is adopted, whoever made it.
    """
    conn = connect(target)
    with translate_errors(f"adding a rule to security group {group_id}"):
        present = security_group_info(conn.network.get_security_group(group_id)).rules
        mine = next((r for r in present if r.description.split(" ", 1)[0] == tag), None)
        if mine is not None:
            return mine
        try:
            made = conn.network.create_security_group_rule(
                security_group_id=group_id,
                direction=rule.direction,
                ethertype=rule.ethertype,
                protocol=rule.protocol,
                port_range_min=rule.port_min,
                port_range_max=rule.port_max,
                remote_ip_prefix=rule.remote_ip_prefix,
                remote_group_id=rule.remote_group_id,
                description=f"{tag} {note}".strip()[:255],
            )
        except sdk_exc.ConflictException:
            same = next((r for r in present if r == rule), None)
            if same is None:  # made meanwhile: read the group again
                group = conn.network.get_security_group(group_id)
                same = next((r for r in security_group_info(group).rules if r == rule), None)
            if same is None:
                raise
            return same
    return rule_info(made)


def security_group_rule_delete(target: CloudTarget, rule_id: str) -> bool:
    """Remove one rule; False if it was already gone."""
    conn = connect(target)
    return removed(
        f"deleting security group rule {rule_id}",
        lambda: conn.network.delete_security_group_rule(rule_id, ignore_missing=False),
    )


def security_group_delete_by_tag(target: CloudTarget, tag: str) -> bool:
    conn = connect(target)
    found = False
    with translate_errors(f"deleting security group {tag}"):
        project_id = conn.current_project_id
        for group in all_stamped(conn, "security_groups", tag, project_id=project_id):
            if group.name == "default":
                raise CloudPermanentError("The default security group cannot be deleted")
            found = True
            conn.network.delete_security_group(group, ignore_missing=True)
    return found
