"""Neutron create calls (networks, subnets, routers, security groups), quotas, tags, routes.

Floating IPs live in cloudsim.network_fips; their routes are registered here with the others.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cloudsim.app import CloudSim, iso, new_id
from cloudsim.network import (
    GATEWAY_OWNER,
    INTERFACE_OWNER,
    KINDS,
    add_rule,
    check_quota,
    create_port,
    delete_handler,
    ensure_default_sg,
    get_handler,
    list_handler,
    load,
    make_port,
    owner_for,
    ports_of,
    save,
    show,
    stamp,
    update_handler,
)
from cloudsim.network_fips import (
    check_gateway_change,
    check_interface_removal,
    create_floatingip,
    update_floatingip,
)
from cloudsim.web import ApiError, Request, Response, Router


def versions(sim: CloudSim, req: Request) -> Response:
    href = f"{req.base_url}/{req.region}/network/v2.0/"
    return Response(
        200,
        {
            "versions": [
                {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}
            ]
        },
    )


def resources(sim: CloudSim, req: Request) -> Response:
    base = f"{req.base_url}/{req.region}/network/v2.0"
    items = [
        {"name": KINDS[c][0], "collection": c, "links": [{"rel": "self", "href": f"{base}/{c}"}]}
        for c in KINDS
    ]
    return Response(200, {"resources": items})


def extensions(sim: CloudSim, req: Request) -> Response:
    # `router` covers floating IPs as well (Neutron has no separate alias for them).
    aliases = ["external-net", "router", "security-group", "quotas", "standard-attr-tag",
               "tag-creation", "binding", "port-security", "quota_details",
               "fip-port-details", "quota-check-limit",
               "quota-check-limit-default"]  # fmt: skip
    items = [{"alias": a, "name": a, "description": a, "updated": "2013-01-01T00:00:00-00:00",
              "links": []} for a in aliases]  # fmt: skip
    return Response(200, {"extensions": items})


def create_network(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("network") or {}
    no_tags_in_post(data)
    project_id = owner_for(req, data)
    ensure_default_sg(sim, req.region, project_id)
    external = bool(data.get("router:external", False))
    if (external or data.get("shared")) and not req.ctx.is_admin:
        raise ApiError.neutron(
            403,
            "(rule:create_network and rule:create_network:router:external) is disallowed by policy",
            "PolicyNotAuthorized",
        )
    check_quota(sim, req, "networks", project_id)
    net = stamp({"id": new_id(), "name": data.get("name", "")}, project_id, req.region)
    net.update(
        {
            "admin_state_up": data.get("admin_state_up", True),
            "status": "ACTIVE",
            "subnets": [],
            "shared": bool(data.get("shared", False)),
            "router:external": external,
            "mtu": 1500,
            "availability_zone_hints": [],
            "availability_zones": [],
            "ipv4_address_scope": None,
            "ipv6_address_scope": None,
            "port_security_enabled": data.get("port_security_enabled", True),
            "qinq": False,
            "vlan_transparent": False,
            "description": data.get("description", ""),
        }
    )
    if req.ctx.is_admin:
        net["provider:network_type"] = "flat" if external else "vxlan"
        net["provider:physical_network"] = "public" if external else None
        net["provider:segmentation_id"] = None if external else 1000 + len(net["id"]) % 1000
    save(sim, "networks", net)
    return Response(201, {"network": show(net, admin=req.ctx.is_admin)})


def bad(message: str) -> ApiError:
    # Neutron's own BadRequest (router and subnet checks) says "BadRequest"; the API layer's
    # input checks say "HTTPBadRequest".
    type_ = "BadRequest" if message.startswith("Bad ") else "HTTPBadRequest"
    return ApiError.neutron(400, message, type_)


def invalid(message: str) -> ApiError:
    return ApiError.neutron(400, f"Invalid input for operation: {message}", "InvalidInput")


def no_tags_in_post(data: dict[str, Any]) -> None:
    """Neutron 2026.2 (the lab) refuses tags at create time; tags take a second call."""
    if "tags" in data:
        raise bad("Attribute 'tags' not allowed in POST")


def create_subnet(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("subnet") or {}
    no_tags_in_post(data)
    network = load(sim, req, "networks", data.get("network_id", ""))
    project_id = owner_for(req, data)
    if network["project_id"] != project_id and not req.ctx.is_admin:
        raise ApiError.neutron(
            404, f"Network {network['id']} could not be found.", "NetworkNotFound"
        )
    ip_version = int(data.get("ip_version", 4))
    raw_cidr = data.get("cidr")
    if not raw_cidr:
        raise bad("Bad subnets request: a subnetpool must be specified in the absence of a cidr.")
    try:
        # Like Neutron: host bits are dropped ("10.0.0.1/24" makes 10.0.0.0/24), junk is refused.
        cidr = ipaddress.ip_network(raw_cidr, strict=False)
    except ValueError:
        raise invalid(f"{raw_cidr} is not in a CIDR format.") from None
    if cidr.version != ip_version:
        raise invalid(f"cidr '{raw_cidr}' does not match the ip_version '{ip_version}'.")
    for other_id in network["subnets"]:
        other = sim.store.get("subnet", other_id)
        if other and ipaddress.ip_network(other["cidr"]).overlaps(cidr):
            raise invalid(
                f"Requested subnet with cidr: {raw_cidr} for network: {network['id']} overlaps "
                "with another subnet."
            )
    check_quota(sim, req, "subnets", project_id)
    hosts = list(cidr.hosts()) if cidr.num_addresses <= 65536 else None
    first = hosts[0] if hosts else cidr.network_address + 1
    last = hosts[-1] if hosts else cidr.broadcast_address - 1
    gateway = data.get("gateway_ip", str(first)) if "gateway_ip" in data else str(first)
    if gateway is not None and ipaddress.ip_address(gateway) not in cidr:
        raise invalid(f"Gateway IP {gateway} conflicts with the subnet.")
    pools = data.get("allocation_pools")
    if not pools:
        start = first + 1 if gateway == str(first) else first
        end = last - 1 if gateway == str(last) else last
        pools = [{"start": str(start), "end": str(end)}]
    for pool in pools:
        for address in (pool["start"], pool["end"]):
            if ipaddress.ip_address(address) not in cidr:
                raise bad(
                    f"The allocation pool {pool['start']}-{pool['end']} spans beyond the subnet "
                    f"cidr {cidr}."
                )
    subnet = stamp({"id": new_id(), "name": data.get("name", "")}, project_id, req.region)
    subnet.update(
        {
            "network_id": network["id"],
            "ip_version": ip_version,
            "cidr": str(cidr),
            "gateway_ip": gateway,
            "allocation_pools": pools,
            "host_routes": data.get("host_routes", []),
            "dns_nameservers": data.get("dns_nameservers", []),
            "enable_dhcp": data.get("enable_dhcp", True),
            "ipv6_ra_mode": data.get("ipv6_ra_mode"),
            "ipv6_address_mode": data.get("ipv6_address_mode"),
            "subnetpool_id": None,
            "service_types": [],
            "router:external": bool(network.get("router:external")),
            "description": data.get("description", ""),
        }
    )
    save(sim, "subnets", subnet)
    network["subnets"] = network["subnets"] + [subnet["id"]]
    save(sim, "networks", network)
    return Response(201, {"subnet": show(subnet, admin=req.ctx.is_admin)})


def set_gateway(sim: CloudSim, req: Request, router: dict[str, Any], info: Any) -> None:
    check_gateway_change(sim, router, info)
    if router.get("_gateway_port"):
        sim.store.delete("port", router["_gateway_port"])
        router["_gateway_port"] = None
    if not info or not info.get("network_id"):
        router["external_gateway_info"] = None
        return
    ext = load(sim, req, "networks", info["network_id"])
    if not ext.get("router:external"):
        raise bad(f"Bad router request: Network {ext['id']} is not an external network.")
    port = make_port(sim, req, ext, "", device_id=router["id"], device_owner=GATEWAY_OWNER)
    router["_gateway_port"] = port["id"]
    router["external_gateway_info"] = {
        "network_id": ext["id"],
        "enable_snat": info.get("enable_snat", True),
        "external_fixed_ips": port["fixed_ips"],
    }


def create_router(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("router") or {}
    no_tags_in_post(data)
    project_id = owner_for(req, data)
    check_quota(sim, req, "routers", project_id)
    router = stamp({"id": new_id(), "name": data.get("name", "")}, project_id, req.region)
    router.update(
        {
            "admin_state_up": data.get("admin_state_up", True),
            "status": "ACTIVE",
            "external_gateway_info": None,
            "routes": [],
            "availability_zone_hints": [],
            "availability_zones": [],
            "flavor_id": None,
            "description": data.get("description", ""),
        }
    )
    set_gateway(sim, req, router, data.get("external_gateway_info"))
    save(sim, "routers", router)
    return Response(201, {"router": show(router, admin=req.ctx.is_admin)})


def router_interface(sim: CloudSim, req: Request, obj_id: str, action: str) -> Response:
    router = load(sim, req, "routers", obj_id)
    data = req.body or {}
    subnet_id, port_id = data.get("subnet_id"), data.get("port_id")
    if not subnet_id and not port_id:
        raise bad("Bad router request: Either subnet_id or port_id must be specified.")
    interfaces = ports_of(sim, req.region, device_id=router["id"], device_owner=INTERFACE_OWNER)
    if action == "add":
        if port_id:
            port = load(sim, req, "ports", port_id)
            port.update(device_id=router["id"], device_owner=INTERFACE_OWNER)
            save(sim, "ports", port)
            subnet_id = port["fixed_ips"][0]["subnet_id"]
        else:
            subnet = load(sim, req, "subnets", subnet_id)
            if any(ip["subnet_id"] == subnet_id for p in interfaces for ip in p["fixed_ips"]):
                raise bad(f"Bad router request: Router already has a port on subnet {subnet_id}.")
            if not subnet["gateway_ip"]:
                raise bad("Bad router request: Subnet for router interface must have a gateway IP.")
            network = load(sim, req, "networks", subnet["network_id"])
            port = make_port(
                sim,
                req,
                network,
                router["project_id"],
                device_id=router["id"],
                device_owner=INTERFACE_OWNER,
                fixed_ip={"subnet_id": subnet_id, "ip_address": subnet["gateway_ip"]},
            )
    else:
        port = next(
            (
                p
                for p in interfaces
                if p["id"] == port_id or any(ip["subnet_id"] == subnet_id for ip in p["fixed_ips"])
            ),
            None,
        )
        if not port:
            if port_id:
                raise ApiError.neutron(
                    404,
                    f"Router {obj_id} does not have an interface with id {port_id}",
                    "RouterInterfaceNotFound",
                )
            raise ApiError.neutron(
                404,
                f"Router {obj_id} has no interface on subnet {subnet_id}",
                "RouterInterfaceNotFoundForSubnet",
            )
        check_interface_removal(sim, router, port)
        sim.store.delete("port", port["id"])
        subnet_id = port["fixed_ips"][0]["subnet_id"] if port["fixed_ips"] else subnet_id
    # Neutron bumps the router's revision when its interfaces change.
    router["revision_number"] += 1
    router["updated_at"] = iso()
    save(sim, "routers", router)
    body = {
        "id": router["id"],
        "project_id": router["project_id"],
        "port_id": port["id"],
        "network_id": port["network_id"],
        "subnet_id": subnet_id,
        "subnet_ids": [subnet_id],
    }
    return Response(200, body)


def create_security_group(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("security_group") or {}
    no_tags_in_post(data)
    project_id = owner_for(req, data)
    ensure_default_sg(sim, req.region, project_id)
    check_quota(sim, req, "security-groups", project_id)
    sg = stamp({"id": new_id(), "name": data.get("name", "")}, project_id, req.region)
    sg.update(
        description=data.get("description", ""),
        stateful=data.get("stateful", True),
        shared=False,
        security_group_rules=[],
    )
    save(sim, "security-groups", sg)
    for ethertype in ("IPv4", "IPv6"):
        add_rule(sim, sg, {"direction": "egress", "ethertype": ethertype})
    sg = sim.store.get("security_group", sg["id"]) or sg
    return Response(201, {"security_group": show(sg, admin=req.ctx.is_admin)})


RULE_KEYS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
             "remote_ip_prefix", "remote_group_id")  # fmt: skip


def create_rule(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("security_group_rule") or {}
    sg = load(sim, req, "security-groups", data.get("security_group_id", ""))
    if data.get("direction") not in ("ingress", "egress"):
        raise bad(
            f"Invalid input for direction. Reason: {data.get('direction')} is not in valid_values."
        )
    for rule in sg["security_group_rules"]:
        if all(rule.get(k) == data.get(k, "IPv4" if k == "ethertype" else None) for k in RULE_KEYS):
            raise ApiError.neutron(
                409,
                f"Security group rule already exists. Rule id is {rule['id']}.",
                "SecurityGroupRuleExists",
            )
    check_quota(sim, req, "security-group-rules", sg["project_id"])
    rule = add_rule(sim, sg, data)
    return Response(201, {"security_group_rule": show(rule, admin=req.ctx.is_admin)})


def register(router: Router) -> None:
    from cloudsim.network_extras import get_quota, get_quota_default, tag_handler, update_quota

    add = router.add
    add("GET", "network", "/", "network.versions", versions)
    add("GET", "network", "/v2.0", "network.resources", resources)
    add("GET", "network", "/v2.0/extensions", "network.extension.list", extensions)
    creators = {"networks": create_network, "subnets": create_subnet, "routers": create_router,
                "ports": create_port, "security-groups": create_security_group,
                "security-group-rules": create_rule,
                "floatingips": create_floatingip}  # fmt: skip
    updaters = {"floatingips": update_floatingip}
    editable = ("name", "description", "admin_state_up")
    for collection, (singular, _, _) in KINDS.items():
        op = f"network.{singular}"
        base = f"/v2.0/{collection}"
        add("GET", "network", base, f"{op}.list", list_handler(collection))
        add("POST", "network", base, f"{op}.create", creators[collection])
        add("GET", "network", base + "/{obj_id}", f"{op}.get", get_handler(collection))
        update = updaters.get(collection) or update_handler(collection, editable)
        add("PUT", "network", base + "/{obj_id}", f"{op}.update", update)
        add("DELETE", "network", base + "/{obj_id}", f"{op}.delete", delete_handler(collection))
    add("PUT", "network", "/v2.0/routers/{obj_id}/add_router_interface",
        "network.router.add_interface",
        lambda sim, req, obj_id: router_interface(sim, req, obj_id, "add"))  # fmt: skip
    add("PUT", "network", "/v2.0/routers/{obj_id}/remove_router_interface",
        "network.router.remove_interface",
        lambda sim, req, obj_id: router_interface(sim, req, obj_id, "remove"))  # fmt: skip
    add("GET", "network", "/v2.0/quotas/{project_id}", "network.quota.get", get_quota)
    add("GET", "network", "/v2.0/quotas/{project_id}/details", "network.quota.get",
        lambda sim, req, project_id: get_quota(sim, req, project_id, details=True))  # fmt: skip
    add("GET", "network", "/v2.0/quotas/{project_id}/default", "network.quota.get",
        get_quota_default)  # fmt: skip
    add("PUT", "network", "/v2.0/quotas/{project_id}", "network.quota.update", update_quota)
    tags = "/v2.0/{collection}/{obj_id}/tags"
    add("GET", "network", tags, "network.tag.list", tag_handler("list"))
    add("PUT", "network", tags, "network.tag.replace", tag_handler("replace"))
    add("DELETE", "network", tags, "network.tag.clear", tag_handler("clear"))
    add("GET", "network", tags + "/{tag}", "network.tag.check", tag_handler("check"))
    add("PUT", "network", tags + "/{tag}", "network.tag.add", tag_handler("add"))
    add("DELETE", "network", tags + "/{tag}", "network.tag.remove", tag_handler("remove"))
