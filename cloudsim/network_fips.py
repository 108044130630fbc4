"""Neutron floating IPs: create, associate with a port through a router, disassociate, delete.

Modelled on Neutron's L3 plugin (neutron/db/l3_db.py): a floating IP owns a port on the external
network (`device_owner` `network:floatingip`, no project) that holds its address, so addresses
come from the external subnet's pool like every other port's and never collide with a router's
gateway. Associating needs a router with a gateway on the floating IP's network and an interface
on the subnet of the port's fixed IP; the router is recorded as `router_id`.

The status is `ACTIVE` while associated and `DOWN` otherwise, as production Neutron with an L3
agent (or OVN) reports it; Neutron without L3 agents keeps it `DOWN`. Nothing should rely on it.
The list, get, delete and tag calls are the generic ones of cloudsim.network.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from cloudsim.app import CloudSim, iso, new_id
from cloudsim.network import (
    FLOATINGIP_OWNER,
    INTERFACE_OWNER,
    allocate_ip,
    check_quota,
    load,
    make_port,
    owner_for,
    ports_of,
    present,
    save,
    stamp,
)
from cloudsim.web import ApiError, Request, Response

#: What a POST may carry (Neutron's allow_post attributes, without the dns/qos extensions).
POST_KEYS = frozenset({"floating_network_id", "floating_ip_address", "subnet_id", "port_id",
                       "fixed_ip_address", "project_id", "tenant_id", "description"})  # fmt: skip
#: What a PUT may change (allow_put).
PUT_KEYS = frozenset({"port_id", "fixed_ip_address", "description"})
#: Attributes Neutron knows but sets itself: naming one is refused, not "unrecognized".
READ_ONLY = frozenset({"id", "floating_ip_address", "floating_network_id", "router_id", "status",
                       "project_id", "tenant_id", "subnet_id", "created_at", "updated_at",
                       "revision_number", "tags", "port_details"})  # fmt: skip
#: The port attributes the `fip-port-details` extension copies into a floating IP.
PORT_DETAILS = ("name", "network_id", "mac_address", "admin_state_up", "status", "device_id",
                "device_owner")  # fmt: skip


def bad_request(message: str) -> ApiError:
    """Neutron's own BadRequest, as the L3 plugin raises it for a floating IP."""
    return ApiError.neutron(400, f"Bad floatingip request: {message}.", "BadRequest")


def http_bad_request(message: str) -> ApiError:
    """What Neutron's API layer answers for a malformed body, before the plugin sees it."""
    return ApiError.neutron(400, message, "HTTPBadRequest")


def check_attributes(req: Request, allowed: frozenset[str]) -> dict[str, Any]:
    """The request's floating IP, refused as Neutron's API layer refuses a body: no body, unknown
    names, names it sets itself, malformed ids and addresses, in that order."""
    body = req.body
    if not body:
        raise http_bad_request("Resource body required")
    data = body.get("floatingip") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise http_bad_request("Unable to find 'floatingip' in request body")
    unknown = sorted(set(data) - POST_KEYS - PUT_KEYS - READ_ONLY)
    if unknown:
        raise http_bad_request(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    for key in sorted(set(data) - allowed):
        if req.method == "POST":
            raise http_bad_request(f"Attribute '{key}' not allowed in POST")
        raise http_bad_request(f"Cannot update read-only attribute {key}")
    for key in ("floating_network_id", "port_id", "subnet_id"):
        value = data.get(key)
        if value is not None and not is_uuid(value):
            raise http_bad_request(
                f"Invalid input for {key}. Reason: '{value}' is not a valid UUID."
            )
    for key in ("floating_ip_address", "fixed_ip_address"):
        value = data.get(key)
        if value is not None and not is_ip(value):
            raise http_bad_request(
                f"Invalid input for {key}. Reason: '{value}' is not a valid IP address."
            )
    return data


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def with_port_details(sim: CloudSim, fip: dict[str, Any]) -> dict[str, Any]:
    """The floating IP with `port_details` (fip-port-details): the associated port as it is now."""
    port = sim.store.get("port", fip["port_id"]) if fip.get("port_id") else None
    details = {k: port.get(k) for k in PORT_DETAILS} if port else None
    return {**fip, "port_details": details}


# ---- association -------------------------------------------------------------------------
def router_for(
    sim: CloudSim, port: dict[str, Any], subnet_id: str, external_network_id: str
) -> str:
    """The router that connects the port's subnet to the external network, as Neutron picks it.

    Any project's router will do (Neutron looks without the caller's scope); among several, the
    one whose interface holds the subnet's gateway IP, else the first.
    """
    subnet = sim.store.get("subnet", subnet_id) or {}
    first = None
    for interface in ports_of(
        sim, port["_region"], network_id=port["network_id"], device_owner=INTERFACE_OWNER
    ):
        addresses = [i["ip_address"] for i in interface["fixed_ips"] if i["subnet_id"] == subnet_id]
        router = sim.store.get("router", interface["device_id"])
        gateway = (router or {}).get("external_gateway_info") or {}
        if not addresses or gateway.get("network_id") != external_network_id:
            continue
        if subnet.get("gateway_ip") in addresses:
            return interface["device_id"]
        first = first or interface["device_id"]
    if first:
        return first
    raise ApiError.neutron(
        404,
        f"External network {external_network_id} is not reachable from subnet {subnet_id}.  "
        f"Therefore, cannot associate Port {port['id']} with a Floating IP.",
        "ExternalGatewayForFloatingIPNotFound",
    )


def association(
    sim: CloudSim, req: Request, fip: dict[str, Any], data: dict[str, Any]
) -> tuple[str | None, str | None, str | None]:
    """(port_id, fixed_ip_address, router_id) the request leaves the floating IP with.

    Checks everything before anything is written: a refused association changes nothing.
    """
    port_id = data.get("port_id")
    if data.get("fixed_ip_address") and not port_id:
        raise bad_request("fixed_ip_address cannot be specified without a port_id")
    if "port_id" not in data:
        return fip.get("port_id"), fip.get("fixed_ip_address"), fip.get("router_id")
    if not port_id:
        return None, None, None
    port = load(sim, req, "ports", port_id)  # 404 PortNotFound for another project's port
    wanted = data.get("fixed_ip_address")
    if wanted:
        if ipaddress.ip_address(wanted).version != 4:
            raise bad_request(
                f"Cannot process floating IP association with {wanted}, since that is not an "
                "IPv4 address"
            )
        chosen = next((ip for ip in port["fixed_ips"] if ip["ip_address"] == wanted), None)
        if chosen is None:
            raise bad_request(f"Port {port['id']} does not have fixed ip {wanted}")
    else:
        ipv4 = [i for i in port["fixed_ips"] if ipaddress.ip_address(i["ip_address"]).version == 4]
        if not ipv4:
            raise bad_request(
                f"Cannot add floating IP to port {port['id']} that has no fixed IPv4 addresses"
            )
        if len(ipv4) > 1:
            raise bad_request(
                f"Port {port['id']} has multiple fixed IPv4 addresses.  Must provide a specific "
                "IPv4 address when assigning a floating IP"
            )
        chosen = ipv4[0]
    router_id = router_for(sim, port, chosen["subnet_id"], fip["floating_network_id"])
    if port["id"] != fip.get("port_id"):
        for other in sim.store.find("floatingip", region=fip["_region"], port_id=port["id"]):
            same = other["floating_network_id"] == fip["floating_network_id"]
            if same and other["fixed_ip_address"] == chosen["ip_address"]:
                raise ApiError.neutron(
                    409,
                    f"Cannot associate floating IP {fip['floating_ip_address']} ({fip['id']}) "
                    f"with port {port['id']} using fixed IP {chosen['ip_address']}, as that "
                    "fixed IP already has a floating IP on external network "
                    f"{fip['floating_network_id']}.",
                    "FloatingIPPortAlreadyAssociated",
                )
    return port["id"], chosen["ip_address"], router_id


def associate(
    fip: dict[str, Any], port_id: str | None, fixed: str | None, router_id: str | None
) -> None:
    fip.update(
        port_id=port_id,
        fixed_ip_address=fixed,
        router_id=router_id,
        status="ACTIVE" if port_id else "DOWN",
    )


# ---- allocation --------------------------------------------------------------------------
def address_for(sim: CloudSim, network: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """The fixed IP the floating IP's port will get: the caller's subnet or address (admins),
    else the next free address of the network's IPv4 subnets; refused as Neutron's IPAM does.

    Only reads: the port is made once the association is known to be possible too.
    """
    subnet_id, address = data.get("subnet_id"), data.get("floating_ip_address")
    subnets = [s for s in (sim.store.get("subnet", i) for i in network["subnets"]) if s]
    if subnet_id:
        subnets = [s for s in subnets if s["id"] == subnet_id]
        if not subnets:
            raise ApiError.neutron(
                400,
                f"Invalid input for operation: Failed to create port on network "
                f"{network['id']}, because fixed_ips included invalid subnet {subnet_id}.",
                "InvalidInput",
            )
    if not address:
        exhausted = None
        for subnet in [s for s in subnets if s["ip_version"] == 4]:
            try:
                return {"subnet_id": subnet["id"], "ip_address": allocate_ip(sim, subnet)}
            except ApiError as err:  # this subnet is full: Neutron tries the next one
                exhausted = err
        raise exhausted or bad_request(f"Network {network['id']} does not contain any IPv4 subnet")
    ip = ipaddress.ip_address(address)
    subnet = next((s for s in subnets if ip in ipaddress.ip_network(s["cidr"])), None)
    if subnet is None:
        if subnet_id:
            raise ApiError.neutron(
                400,
                f"IP address {address} is not a valid IP for the specified subnet.",
                "InvalidIpForSubnet",
            )
        raise ApiError.neutron(
            400,
            f"IP address {address} is not a valid IP for any of the subnets on the specified "
            "network.",
            "InvalidIpForNetwork",
        )
    used = {i["ip_address"] for p in ports_of(sim, network["_region"], network_id=network["id"])
            for i in p["fixed_ips"]}  # fmt: skip
    if str(ip) in used:
        raise ApiError.neutron(
            409,
            f"IP address {ip} already allocated in subnet {subnet['id']}",
            "IpAddressAlreadyAllocated",
        )
    return {"subnet_id": subnet["id"], "ip_address": str(ip)}


# ---- handlers ----------------------------------------------------------------------------
def create_floatingip(sim: CloudSim, req: Request) -> Response:
    data = check_attributes(req, POST_KEYS)
    if not data.get("floating_network_id"):
        raise http_bad_request(
            "Failed to parse request. Required attribute 'floating_network_id' not specified"
        )
    if data.get("floating_ip_address") and not req.ctx.is_admin:
        raise ApiError.neutron(
            403,
            "(rule:create_floatingip and rule:create_floatingip:floating_ip_address) is "
            "disallowed by policy",
            "PolicyNotAuthorized",
        )
    project_id = owner_for(req, data)
    # Neutron reserves quota in its API layer, before the plugin looks at the network.
    check_quota(sim, req, "floatingips", project_id)
    network = load(sim, req, "networks", data["floating_network_id"])
    if not network.get("router:external"):
        raise bad_request(f"Network {network['id']} is not a valid external network")
    subnets = [sim.store.get("subnet", i) for i in network["subnets"]]
    if not any(s and s["ip_version"] == 4 for s in subnets):
        raise bad_request(f"Network {network['id']} does not contain any IPv4 subnet")
    fixed = address_for(sim, network, data)
    fip = stamp({"id": new_id()}, project_id, req.region)
    fip.update(
        floating_network_id=network["id"],
        floating_ip_address=fixed["ip_address"],
        description=data.get("description") or "",
    )
    assoc = association(sim, req, fip, data)
    # Everything is checked, so nothing is left half-made: the address is taken now.
    port = make_port(
        sim, req, network, "", device_id=fip["id"], device_owner=FLOATINGIP_OWNER, fixed_ip=fixed
    )
    port["status"] = "N/A"  # Neutron's PORT_STATUS_NOTAPPLICABLE for a floating IP's port
    save(sim, "ports", port)
    fip["_port"] = port["id"]
    associate(fip, *assoc)
    save(sim, "floatingips", fip)
    return Response(201, {"floatingip": present(sim, req, "floatingips", fip, None)})


def update_floatingip(sim: CloudSim, req: Request, obj_id: str) -> Response:
    fip = load(sim, req, "floatingips", obj_id)
    data = check_attributes(req, PUT_KEYS)
    before = dict(fip)
    associate(fip, *association(sim, req, fip, data))
    if "description" in data:
        fip["description"] = data["description"] or ""
    if fip != before:  # Neutron bumps the revision when the row changes, not on every PUT
        fip["revision_number"] += 1
        fip["updated_at"] = iso()
        save(sim, "floatingips", fip)
    return Response(200, {"floatingip": present(sim, req, "floatingips", fip, None)})


# ---- what floating IPs keep in place -----------------------------------------------------
def routed_by(sim: CloudSim, router: dict[str, Any]) -> list[dict[str, Any]]:
    return sim.store.find("floatingip", region=router["_region"], router_id=router["id"])


def check_interface_removal(sim: CloudSim, router: dict[str, Any], port: dict[str, Any]) -> None:
    """A router interface that a floating IP reaches its port through cannot be removed."""
    for subnet_id in [ip["subnet_id"] for ip in port["fixed_ips"]]:
        subnet = sim.store.get("subnet", subnet_id)
        if not subnet:
            continue
        cidr = ipaddress.ip_network(subnet["cidr"])
        ports = ports_of(sim, router["_region"], network_id=subnet["network_id"])
        on_subnet = {
            p["id"] for p in ports if any(i["subnet_id"] == subnet_id for i in p["fixed_ips"])
        }
        for fip in routed_by(sim, router):
            fixed = fip.get("fixed_ip_address")
            if fixed and ipaddress.ip_address(fixed) in cidr and fip["port_id"] in on_subnet:
                raise ApiError.neutron(
                    409,
                    f"Router interface for subnet {subnet_id} on router {router['id']} cannot be "
                    "deleted, as it is required by one or more floating IPs.",
                    "RouterInterfaceInUseByFloatingIP",
                )


def check_gateway_change(sim: CloudSim, router: dict[str, Any], info: Any) -> None:
    """The external gateway of a router that floating IPs go through cannot leave its network."""
    current = (router.get("external_gateway_info") or {}).get("network_id")
    wanted = (info or {}).get("network_id") if isinstance(info, dict) else None
    if current and wanted != current and routed_by(sim, router):
        raise ApiError.neutron(
            409,
            f"Gateway cannot be updated for router {router['id']}, since a gateway to external "
            f"network {current} is required by one or more floating IPs.",
            "RouterExternalGatewayInUseByFloatingIp",
        )
