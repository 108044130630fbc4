"""Neutron v2.0 subset: networks, subnets, routers, ports, security groups, floating IPs,
quotas and tags."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from cloudsim import quota
from cloudsim.app import CloudSim, iso, new_id
from cloudsim.web import ApiError, Request, Response, Router, paginate

# collection -> (singular, label in "X could not be found", quota key, NotFound type)
KINDS = {
    "networks": ("network", "Network", "network"),
    "subnets": ("subnet", "Subnet", "subnet"),
    "routers": ("router", "Router", "router"),
    "ports": ("port", "Port", "port"),
    "security-groups": ("security_group", "Security group", "security_group"),
    "security-group-rules": ("security_group_rule", "Security group rule", "security_group_rule"),
    "floatingips": ("floatingip", "Floating IP", "floatingip"),
}
TAGGABLE = ("networks", "subnets", "routers", "ports", "security-groups", "floatingips")


def not_found(collection: str, obj_id: str) -> ApiError:
    singular, label, _ = KINDS[collection]
    type_ = "".join(part.capitalize() for part in singular.split("_")) + "NotFound"
    if collection == "security-groups":
        return ApiError.neutron(404, f"Security group {obj_id} does not exist", type_)
    if collection == "security-group-rules":
        return ApiError.neutron(404, f"Security group rule {obj_id} does not exist", type_)
    if collection == "floatingips":
        message = f"Floating IP {obj_id} could not be found"  # no period, as Neutron words it
        return ApiError.neutron(404, message, "FloatingIPNotFound")
    period = "" if collection == "routers" else "."
    return ApiError.neutron(404, f"{label} {obj_id} could not be found{period}", type_)


def stamp(obj: dict[str, Any], project_id: str, region: str) -> dict[str, Any]:
    now = iso()
    obj.update(
        {
            "tenant_id": project_id,
            "project_id": project_id,
            "created_at": now,
            "updated_at": now,
            "revision_number": 0,
            "_region": region,
        }
    )
    obj.setdefault("description", "")
    obj.setdefault("tags", [])
    return obj


def visible(obj: dict[str, Any], req: Request, collection: str) -> bool:
    ctx = req.ctx
    if obj.get("_region") != req.region:
        return False
    if ctx.is_admin or obj.get("project_id") == ctx.project_id:
        return True
    return collection == "networks" and (obj.get("shared") or obj.get("router:external"))


def load(sim: CloudSim, req: Request, collection: str, obj_id: str) -> dict[str, Any]:
    obj = sim.store.get(KINDS[collection][0], obj_id)
    if not obj or not visible(obj, req, collection):
        raise not_found(collection, obj_id)
    return obj


def save(sim: CloudSim, collection: str, obj: dict[str, Any]) -> None:
    sim.store.put(KINDS[collection][0], obj, region=obj["_region"], project_id=obj["project_id"])


def show(
    obj: dict[str, Any], fields: list[str] | None = None, *, admin: bool = True
) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if not k.startswith("_") and (admin or k not in ADMIN_ONLY)}
    if fields:
        out = {k: v for k, v in out.items() if k in fields}
    return out


def matches(obj: dict[str, Any], req: Request) -> bool:
    tags = set(obj.get("tags") or [])
    for key, values in req.query.items():
        if key in ("limit", "marker", "sort_key", "sort_dir", "fields", "page_reverse"):
            continue
        wanted = {t for v in values for t in v.split(",") if t}
        if key == "tags":
            if not wanted <= tags:
                return False
        elif key == "tags-any":
            if not wanted & tags:
                return False
        elif key == "not-tags":
            if wanted and wanted <= tags:
                return False
        elif key == "not-tags-any":
            if wanted & tags:
                return False
        elif key in obj:
            actual = obj[key]
            as_text = str(actual).lower() if isinstance(actual, bool) else str(actual)
            if as_text not in values and str(actual) not in values:
                return False
    return True


def ensure_default_sg(sim: CloudSim, region: str, project_id: str | None) -> None:
    """Neutron gives every project a `default` group the first time the project shows up."""
    if not project_id:
        return
    key = f"default-sg/{region}/{project_id}"
    if sim.store.get("marker", key):
        return
    sim.store.put("marker", {"id": key})
    sg = stamp(
        {"id": new_id(), "name": "default", "stateful": True, "shared": False}, project_id, region
    )
    sg["description"] = "Default security group"
    sg["security_group_rules"] = []
    save(sim, "security-groups", sg)
    for ethertype in ("IPv4", "IPv6"):
        add_rule(sim, sg, {"direction": "egress", "ethertype": ethertype})
        add_rule(
            sim, sg, {"direction": "ingress", "ethertype": ethertype, "remote_group_id": sg["id"]}
        )


def add_rule(sim: CloudSim, sg: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    rule = stamp({"id": new_id()}, sg["project_id"], sg["_region"])
    rule.update(
        {
            "security_group_id": sg["id"],
            "direction": data.get("direction", "ingress"),
            "ethertype": data.get("ethertype", "IPv4"),
            "protocol": data.get("protocol"),
            "port_range_min": data.get("port_range_min"),
            "port_range_max": data.get("port_range_max"),
            "remote_ip_prefix": data.get("remote_ip_prefix"),
            "remote_group_id": data.get("remote_group_id"),
            "remote_address_group_id": None,
            "normalized_cidr": data.get("remote_ip_prefix"),
            "description": data.get("description", ""),
        }
    )
    rule.pop("tags", None)
    save(sim, "security-group-rules", rule)
    sg = sim.store.get("security_group", sg["id"]) or sg
    sg["security_group_rules"] = [*sg.get("security_group_rules", []), show(rule)]
    save(sim, "security-groups", sg)
    return rule


def check_quota(sim: CloudSim, req: Request, collection: str, project_id: str) -> None:
    singular, _, key = KINDS[collection]
    limit = quota.limits(sim, req.region, project_id, "network")[key]
    used = sim.store.count(singular, region=req.region, project_id=project_id)
    if not quota.allows(limit, used, 1):
        raise ApiError.neutron(409, f"Quota exceeded for resources: ['{key}'].", "OverQuota")


def owner_for(req: Request, data: dict[str, Any]) -> str:
    wanted = data.get("project_id") or data.get("tenant_id")
    if wanted and wanted != req.ctx.project_id and not req.ctx.is_admin:
        raise ApiError.neutron(403, "Not authorized.", "HTTPForbidden")
    return wanted or req.ctx.project_id


# ---- generic list/get/delete --------------------------------------------------------------
def settle_servers_of(
    sim: CloudSim, ports: list[dict[str, Any]], *, unbound_only: bool = True
) -> bool:
    """Finish the builds and deletes of the servers behind unbound ports; True if any changed.

    Servers settle lazily when read, and a port's state follows its server's, so reading ports
    settles their servers first, as if Nova had been working all along. `unbound_only=False`
    also settles servers whose ports are bound (a delete that is due removes their ports).
    """
    from cloudsim.compute import settle  # cloudsim.compute imports this module

    changed = False
    for server_id in {
        p["device_id"]
        for p in ports
        if (p["status"] == "DOWN" or not unbound_only)
        and p.get("device_owner", "").startswith("compute:")
    }:
        server = sim.store.get("server", server_id)
        if server is not None:
            before = server["status"]
            changed |= settle(sim, server) is None or server["status"] != before
    return changed


def settle_behind(sim: CloudSim, collection: str, items: list[dict[str, Any]]) -> bool:
    """Settle the servers whose state shows in `items` (their ports, or the ports floating IPs
    are given to, which a server's delete takes away); True if anything changed."""
    if collection == "ports":
        return settle_servers_of(sim, items)
    if collection == "floatingips":
        ports = [sim.store.get("port", f["port_id"]) for f in items if f.get("port_id")]
        return settle_servers_of(sim, [p for p in ports if p], unbound_only=False)
    return False


def present(
    sim: CloudSim, req: Request, collection: str, obj: dict[str, Any], fields: list[str] | None
) -> dict[str, Any]:
    """The object as Neutron answers it: `show`, plus what is computed when read (the
    `port_details` of a floating IP follow its port, whose status follows the server)."""
    if collection == "floatingips":
        from cloudsim.network_fips import with_port_details  # it imports this module

        obj = with_port_details(sim, obj)
    return show(obj, fields, admin=req.ctx.is_admin)


def list_handler(collection: str):
    def handler(sim: CloudSim, req: Request) -> Response:
        ensure_default_sg(sim, req.region, req.ctx.project_id)

        def listing() -> list[dict[str, Any]]:
            return [
                o
                for o in sim.store.list(KINDS[collection][0], region=req.region)
                if visible(o, req, collection) and matches(o, req)
            ]

        items = listing()
        if settle_behind(sim, collection, items):
            items = listing()
        if req.arg("sort_dir") == "desc":
            items.reverse()
        key = collection.replace("-", "_")
        url = f"{req.base_url}/{req.region}/network/v2.0/{collection}"
        page, links = paginate(items, req, key, url) if req.arg("limit") else (items, [])
        fields = req.args("fields") or None
        body: dict[str, Any] = {key: [present(sim, req, collection, o, fields) for o in page]}
        if links:
            body[f"{key}_links"] = links
        return Response(200, body)

    return handler


def get_handler(collection: str):
    def handler(sim: CloudSim, req: Request, obj_id: str) -> Response:
        obj = load(sim, req, collection, obj_id)
        if settle_behind(sim, collection, [obj]):
            obj = load(sim, req, collection, obj_id)
        fields = req.args("fields") or None
        return Response(200, {KINDS[collection][0]: present(sim, req, collection, obj, fields)})

    return handler


def update_handler(collection: str, editable: tuple[str, ...]):
    def handler(sim: CloudSim, req: Request, obj_id: str) -> Response:
        obj = load(sim, req, collection, obj_id)
        singular = KINDS[collection][0]
        data = (req.body or {}).get(singular) or {}
        for key in editable:
            if key in data:
                obj[key] = data[key]
        if collection == "routers" and "external_gateway_info" in data:
            from cloudsim.network_objects import set_gateway

            set_gateway(sim, req, obj, data["external_gateway_info"])
        obj["revision_number"] += 1
        obj["updated_at"] = iso()
        save(sim, collection, obj)
        return Response(200, {singular: show(obj, admin=req.ctx.is_admin)})

    return handler


def delete_handler(collection: str):
    def handler(sim: CloudSim, req: Request, obj_id: str) -> Response:
        obj = load(sim, req, collection, obj_id)
        owned = obj["project_id"] == req.ctx.project_id or req.ctx.is_admin
        if collection in ("networks", "security-groups", "security-group-rules") and not owned:
            raise not_found(collection, obj_id)
        DELETE_CHECKS.get(collection, lambda *_: None)(sim, obj)
        if collection == "security-group-rules":
            sg = sim.store.get("security_group", obj["security_group_id"])
            if sg:
                sg["security_group_rules"] = [
                    r for r in sg["security_group_rules"] if r["id"] != obj_id
                ]
                save(sim, "security-groups", sg)
        if collection == "security-groups":
            for rule in sim.store.list("security_group_rule", region=obj["_region"]):
                if rule["security_group_id"] == obj_id:
                    sim.store.delete("security_group_rule", rule["id"])
        if collection == "routers" and obj.get("_gateway_port"):
            sim.store.delete("port", obj["_gateway_port"])
        if collection == "floatingips":
            sim.store.delete("port", obj["_port"])  # the address goes back to the pool
        if collection == "ports":
            delete_port(sim, obj)
        else:
            sim.store.delete(KINDS[collection][0], obj_id)
        return Response(204)

    return handler


def ports_of(sim: CloudSim, region: str, **filters: str) -> list[dict[str, Any]]:
    return sim.store.find("port", region=region, **filters)


def check_network_delete(sim: CloudSim, net: dict[str, Any]) -> None:
    in_use = ports_of(sim, net["_region"], network_id=net["id"])
    if in_use:
        raise ApiError.neutron(
            409,
            f"Unable to complete operation on network {net['id']}. "
            "There are one or more ports still in use on the network, id for these ports is: "
            f"{','.join(p['id'] for p in in_use)}.",
            "NetworkInUse",
        )
    for subnet_id in net["subnets"]:
        sim.store.delete("subnet", subnet_id)


def check_subnet_delete(sim: CloudSim, subnet: dict[str, Any]) -> None:
    for port in ports_of(sim, subnet["_region"], network_id=subnet["network_id"]):
        if any(ip["subnet_id"] == subnet["id"] for ip in port["fixed_ips"]):
            raise ApiError.neutron(
                409,
                f"Unable to complete operation on subnet {subnet['id']}: "
                "One or more ports have an IP allocation from this subnet.",
                "SubnetInUse",
            )
    net = sim.store.get("network", subnet["network_id"])
    if net:
        net["subnets"] = [s for s in net["subnets"] if s != subnet["id"]]
        save(sim, "networks", net)


def check_router_delete(sim: CloudSim, router: dict[str, Any]) -> None:
    attached = ports_of(
        sim, router["_region"], device_id=router["id"], device_owner=INTERFACE_OWNER
    )
    if attached:
        raise ApiError.neutron(
            409,
            f"Router {router['id']} has ports still attached: "
            f"{','.join(p['id'] for p in attached)}",
            "RouterInUse",
        )


def check_port_delete(sim: CloudSim, port: dict[str, Any]) -> None:
    """Neutron refuses to delete a floating IP's own port (its address) through the port API."""
    if port.get("device_owner") == FLOATINGIP_OWNER and sim.store.get(
        "floatingip", port["device_id"]
    ):
        raise ApiError.neutron(
            409,
            f"Port {port['id']} cannot be deleted directly via the port API: "
            f"has device owner {FLOATINGIP_OWNER}.",
            "ServicePortInUse",
        )


def check_sg_delete(sim: CloudSim, sg: dict[str, Any]) -> None:
    for port in sim.store.list("port", region=sg["_region"]):
        if sg["id"] in port.get("security_groups", []):
            raise ApiError.neutron(
                409,
                f"Security Group {sg['id']} in use.",
                "SecurityGroupInUse",
            )


DELETE_CHECKS = {
    "networks": check_network_delete,
    "subnets": check_subnet_delete,
    "routers": check_router_delete,
    "security-groups": check_sg_delete,
    "ports": check_port_delete,
}
INTERFACE_OWNER = "network:router_interface"
GATEWAY_OWNER = "network:router_gateway"
FLOATINGIP_OWNER = "network:floatingip"


def delete_port(sim: CloudSim, port: dict[str, Any]) -> None:
    """Delete a port; as Neutron does, the floating IPs given to it stay, disassociated.

    Every way a port goes (the port API, Nova deleting the ports it made for a server) comes
    through here, so no floating IP ever points at a port that is gone.
    """
    for fip in sim.store.find("floatingip", region=port["_region"], port_id=port["id"]):
        fip.update(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN")
        fip["revision_number"] += 1
        fip["updated_at"] = iso()
        save(sim, "floatingips", fip)
    sim.store.delete("port", port["id"])


# ---- addresses and ports -----------------------------------------------------------------
def allocate_ip(sim: CloudSim, subnet: dict[str, Any]) -> str:
    used = {
        ip["ip_address"]
        for port in ports_of(sim, subnet["_region"], network_id=subnet["network_id"])
        for ip in port["fixed_ips"]
    }
    for pool in subnet["allocation_pools"]:
        start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        current = start
        while current <= end:
            if str(current) not in used:
                return str(current)
            current += 1
    raise ApiError.neutron(
        409,
        f"No more IP addresses available on network {subnet['network_id']}.",
        "IpAddressGenerationFailure",
    )


#: The compute host of every server; Neutron reports it as a bound port's binding:host_id.
COMPUTE_HOST = "cloudsim-compute"
#: What ML2 reports for a port bound on a compute host (Nova binds it while it spawns).
BOUND = {
    "binding:host_id": COMPUTE_HOST,
    "binding:vif_type": "ovs",
    "binding:vif_details": {"port_filter": True, "bound_drivers": {"0": "openvswitch"}},
}
#: A port nobody bound yet: router ports (no L3 agent) and ports no server uses.
UNBOUND = {"binding:host_id": "", "binding:vif_type": "unbound", "binding:vif_details": {}}
#: Shown to admins only (Neutron's secure-RBAC defaults hide them from project members).
ADMIN_ONLY = frozenset({"binding:host_id", "binding:vif_type", "binding:vif_details",
                        "binding:profile", "provider:network_type", "provider:physical_network",
                        "provider:segmentation_id"})  # fmt: skip


def make_port(
    sim: CloudSim,
    req: Request,
    network: dict[str, Any],
    project_id: str,
    *,
    device_id: str = "",
    device_owner: str = "",
    fixed_ip: dict[str, str] | None = None,
    name: str = "",
    security_groups: list[str] | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """Create a port with an address from the network's first subnet (or the given one)."""
    fixed_ips = []
    subnet_ids = [fixed_ip["subnet_id"]] if fixed_ip else network["subnets"][:1]
    for subnet_id in subnet_ids:
        subnet = sim.store.get("subnet", subnet_id)
        if subnet:
            address = (fixed_ip or {}).get("ip_address") or allocate_ip(sim, subnet)
            fixed_ips.append({"subnet_id": subnet_id, "ip_address": address})
    mac = "fa:16:3e:" + ":".join(f"{random.randint(0, 255):02x}" for _ in range(3))
    is_router = device_owner.startswith("network:")
    # Every port starts DOWN and unbound; a server's ports become ACTIVE and bound when Nova
    # has spawned it (compute.bind_ports). Router ports stay DOWN: there is no L3 agent.
    if security_groups is None and not is_router:
        ensure_default_sg(sim, req.region, project_id)
        default = [
            sg["id"]
            for sg in sim.store.list("security_group", region=req.region, project_id=project_id)
            if sg["name"] == "default"
        ]
        security_groups = default
    port = stamp({"id": new_id(), "name": name}, project_id, req.region)
    port.update(
        {
            "network_id": network["id"],
            "mac_address": mac,
            "admin_state_up": True,
            "status": "DOWN",
            "device_id": device_id,
            "device_owner": device_owner,
            "fixed_ips": fixed_ips,
            "allowed_address_pairs": [],
            "extra_dhcp_opts": [],
            "security_groups": security_groups or [],
            "binding:vnic_type": "normal",
            "binding:profile": {},
            **UNBOUND,
            "port_security_enabled": True,
            "tags": list(tags or []),
        }
    )
    save(sim, "ports", port)
    return port


def create_port(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("port") or {}
    if "tags" in data:
        raise ApiError.neutron(400, "Attribute 'tags' not allowed in POST", "HTTPBadRequest")
    project_id = owner_for(req, data)
    network = load(sim, req, "networks", data.get("network_id", ""))
    check_quota(sim, req, "ports", project_id)
    fixed = (data.get("fixed_ips") or [None])[0]
    port = make_port(
        sim,
        req,
        network,
        project_id,
        device_id=data.get("device_id", ""),
        device_owner=data.get("device_owner", ""),
        fixed_ip=fixed if fixed and fixed.get("subnet_id") else None,
        name=data.get("name", ""),
        security_groups=data.get("security_groups"),
    )
    return Response(201, {"port": show(port, admin=req.ctx.is_admin)})


def register(router: Router) -> None:
    from cloudsim import network_objects

    network_objects.register(router)
