"""Nova calls the openstack CLI and Ansible make beyond the portal's own: server update,
metadata items, a server's security groups (list, add, remove), console output, floating IP
pools, flavor extra specs and usage (os-simple-tenant-usage)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from cloudsim.app import CloudSim
from cloudsim.compute import BUILD, ERROR, find_flavor, load_server, mv, save_server
from cloudsim.compute_servers import check_metadata, schema_error, shown
from cloudsim.network import ports_of
from cloudsim.network import save as save_network_obj
from cloudsim.web import ApiError, Request, Response, Router

UPDATE_KEYS = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}


# ---- PUT /servers/{id} ---------------------------------------------------------------------
def update_server(sim: CloudSim, req: Request, server_id: str) -> Response:
    data = (req.body or {}).get("server")
    if not isinstance(data, dict):
        raise schema_error("server", data, f"{data!r} is not of type 'object'")
    allowed = UPDATE_KEYS | ({"description"} if mv(req, (2, 19)) else set())
    unexpected = sorted(set(data) - allowed)
    if unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        verb = "was" if len(unexpected) == 1 else "were"
        why = f"Additional properties are not allowed ({names} {verb} unexpected)"
        raise schema_error("server", data, why)
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise schema_error("name", name, f"{name!r} does not match '^(?! )[^\\x00-\\x1f]*$'")
    description = data.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 255):
        raise schema_error("description", description, f"{description!r} is too long")
    server = load_server(sim, req, server_id)
    for key in ("name", "description", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"):
        if key in data:
            server[key] = data[key]
    save_server(sim, server)
    return Response(200, {"server": shown(sim, req, server)})


# ---- /servers/{id}/metadata/{key} ----------------------------------------------------------
def metadata_item(sim: CloudSim, req: Request, server_id: str, key: str) -> Response:
    server = load_server(sim, req, server_id)
    metadata = dict(server.get("metadata") or {})
    if req.method == "GET":
        if key not in metadata:
            raise ApiError.nova(404, "Metadata item was not found")
        return Response(200, {"meta": {key: metadata[key]}})
    if req.method == "DELETE":
        if key not in metadata:
            raise ApiError.nova(404, "Metadata item was not found")
        del metadata[key]
        server["metadata"] = metadata
        save_server(sim, server)
        return Response(204)
    meta = (req.body or {}).get("meta")
    if not isinstance(meta, dict) or not meta:
        raise schema_error("meta", meta, f"{meta!r} is not of type 'object'")
    if len(meta) > 1:
        raise ApiError.nova(400, "Request body contains too many items")
    if key not in meta:
        raise ApiError.nova(400, "Request body and URI mismatch")
    metadata[key] = meta[key]
    check_metadata(sim, req, server["tenant_id"], metadata)
    server["metadata"] = metadata
    save_server(sim, server)
    return Response(200, {"meta": {key: meta[key]}})


# ---- security groups of a server -----------------------------------------------------------
def nova_rule(sim: CloudSim, rule: dict[str, Any]) -> dict[str, Any]:
    """A Neutron ingress rule as Nova's security group proxy shows it."""
    protocol = rule.get("protocol")
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol and low is None and high is None:
        low, high = (1, 65535) if str(protocol).upper() in ("TCP", "UDP") else (-1, -1)
    out: dict[str, Any] = {
        "id": rule["id"],
        "parent_group_id": rule["security_group_id"],
        "ip_protocol": protocol,
        "from_port": low,
        "to_port": high,
        "group": {},
        "ip_range": {},
    }
    if rule.get("remote_group_id"):
        source = sim.store.get("security_group", rule["remote_group_id"]) or {}
        out["group"] = {"name": source.get("name"), "tenant_id": source.get("project_id")}
    else:
        out["ip_range"] = {"cidr": rule.get("remote_ip_prefix") or "0.0.0.0/0"}
    return out


def nova_group(sim: CloudSim, group: dict[str, Any]) -> dict[str, Any]:
    rules = [r for r in group.get("security_group_rules") or [] if r["direction"] == "ingress"]
    return {
        "id": group["id"],
        "name": group["name"],
        "description": group.get("description", ""),
        "tenant_id": group["project_id"],
        "rules": [nova_rule(sim, r) for r in rules],
    }


def server_groups(sim: CloudSim, req: Request, server_id: str) -> Response:
    server = load_server(sim, req, server_id)
    ids: list[str] = []
    for port in ports_of(sim, server["_region"], device_id=server["id"]):
        ids += [g for g in port.get("security_groups") or [] if g not in ids]
    groups = [g for g in (sim.store.get("security_group", i) for i in ids) if g]
    return Response(200, {"security_groups": [nova_group(sim, g) for g in groups]})


def find_group(sim: CloudSim, req: Request, server: dict[str, Any], name: str) -> dict[str, Any]:
    """By id, else by name among the project's groups, as Nova asks Neutron."""
    groups = sim.store.list("security_group", req.region, server["tenant_id"])
    by_id = [g for g in groups if g["id"] == name]
    by_name = [g for g in groups if g["name"] == name]
    if by_id:
        return by_id[0]
    if len(by_name) > 1:
        raise ApiError.nova(409, f"Multiple security_group matches found for name '{name}', "
                            "use an ID to be more specific.")  # fmt: skip
    if not by_name:
        raise ApiError.nova(404, f"Security group {name} is not found for project "
                            f"{server['tenant_id']}")  # fmt: skip
    return by_name[0]


def group_name(data: Any) -> str:
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ApiError.nova(400, "Security group name cannot be empty")
    return name


def add_group(sim: CloudSim, req: Request, server: dict[str, Any], data: Any) -> Response:
    group = find_group(sim, req, server, group_name(data))
    ports = ports_of(sim, server["_region"], device_id=server["id"])
    if not ports:
        raise ApiError.nova(400, "Network requires port_security_enabled and subnet associated "
                            "in order to apply security groups.")  # fmt: skip
    for port in ports:
        if group["id"] not in port["security_groups"]:
            port["security_groups"] = [*port["security_groups"], group["id"]]
            port["revision_number"] += 1
            save_network_obj(sim, "ports", port)
    return Response(202)


def remove_group(sim: CloudSim, req: Request, server: dict[str, Any], data: Any) -> Response:
    group = find_group(sim, req, server, group_name(data))
    found = False
    for port in ports_of(sim, server["_region"], device_id=server["id"]):
        if group["id"] in port["security_groups"]:
            port["security_groups"] = [g for g in port["security_groups"] if g != group["id"]]
            port["revision_number"] += 1
            save_network_obj(sim, "ports", port)
            found = True
    if not found:
        raise ApiError.nova(404, f"Security group {data['name']} not associated with the "
                            f"instance {server['id']}")  # fmt: skip
    return Response(202)


# ---- console output ------------------------------------------------------------------------
def console_lines(server: dict[str, Any]) -> list[str]:
    hostname = re.sub(r"[^a-z0-9-]+", "-", server["name"].lower())[:63]
    return [
        "[    0.000000] Linux version 6.1.0-cloudsim (cloudsim@localhost)",
        "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1 console=ttyS0",
        f"[    1.200000] cloud-init[212]: instance-id: {server['id']}",
        f"[    1.300000] cloud-init[212]: set hostname to {hostname}",
        "[    2.000000] cloud-init[212]: Cloud-init finished",
        "",
        f"{hostname} login: ",
    ]


def console_output(sim: CloudSim, req: Request, server: dict[str, Any], data: Any) -> Response:
    length = (data or {}).get("length") if isinstance(data, dict) else None
    if length is not None and (
        isinstance(length, bool) or not re.fullmatch(r"-?[0-9]+", str(length))
    ):
        raise schema_error("length", length, f"{length!r} does not match '^-?[0-9]+$'")
    if length is not None and int(length) < -1:
        raise schema_error("length", length, f"{length} is less than the minimum of -1")
    if server["status"] == BUILD or (server["status"] == ERROR and server.get("_build_error")):
        raise ApiError.nova(409, f"Instance {server['id']} is not ready")
    lines = console_lines(server)
    if length is not None and int(length) >= 0:
        lines = lines[-int(length) :] if int(length) else []
    return Response(200, {"output": "\n".join(lines)})


SERVER_ACTIONS = {
    "addSecurityGroup": add_group,
    "removeSecurityGroup": remove_group,
    "os-getConsoleOutput": console_output,
}


# ---- floating IP pools (Nova's proxy to Neutron, before 2.36) ------------------------------
def floating_ip_pools(sim: CloudSim, req: Request) -> Response:
    if mv(req, (2, 36)):
        raise ApiError.nova(404, "The resource could not be found.")
    external = [n for n in sim.store.list("network", region=req.region) if n.get("router:external")]
    return Response(200, {"floating_ip_pools": [{"name": n["name"]} for n in external]})


# ---- flavor extra specs --------------------------------------------------------------------
def flavor_extra_specs(sim: CloudSim, req: Request, flavor_id: str, key: str = "") -> Response:
    flavor = find_flavor(sim, req, flavor_id)
    if not flavor:
        raise ApiError.nova(404, f"Flavor {flavor_id} could not be found.")
    specs = dict(flavor.get("extra_specs") or {})
    if not key:
        return Response(200, {"extra_specs": specs})
    if key not in specs:
        raise ApiError.nova(404, f"Flavor {flavor_id} has no extra specs with key {key}.")
    return Response(200, {key: specs[key]})


# ---- usage (os-simple-tenant-usage) --------------------------------------------------------
USAGE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def parse_moment(raw: str | None) -> datetime:
    if not raw:
        return datetime.now(UTC).replace(tzinfo=None)
    for form in USAGE_FORMATS:
        try:
            return datetime.strptime(raw, form)
        except ValueError:
            continue
    raise ApiError.nova(400, "Datetime is in invalid format")


def naive(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=None)


def project_usage(
    sim: CloudSim, req: Request, project_id: str, start: datetime, stop: datetime, detailed: bool
) -> dict[str, Any] | None:
    """Nova's usage of one project over [start, stop]: the servers that ran in it (launched),
    with hours and flavor sizes. Deleted servers are gone from cloudsim, so they do not count."""
    now = datetime.now(UTC).replace(tzinfo=None)
    servers = [
        s
        for s in sim.store.list("server", region=req.region, project_id=project_id)
        if s.get("OS-SRV-USG:launched_at") and s.get("_delete_at") is None
    ]
    if not servers:
        return None
    usage: dict[str, Any] = {
        "tenant_id": project_id,
        "total_local_gb_usage": 0.0,
        "total_vcpus_usage": 0.0,
        "total_memory_mb_usage": 0.0,
        "total_hours": 0.0,
        "start": start.isoformat(),
        "stop": stop.isoformat(),
    }
    rows = []
    for server in servers:
        launched = naive(server["OS-SRV-USG:launched_at"])
        begin, end = max(launched, start), min(now, stop)
        hours = max((end - begin).total_seconds(), 0) / 3600
        flavor = server["_flavor"]
        local_gb = flavor["disk"] + flavor.get("ephemeral", 0)
        usage["total_hours"] += hours
        usage["total_local_gb_usage"] += local_gb * hours
        usage["total_vcpus_usage"] += flavor["vcpus"] * hours
        usage["total_memory_mb_usage"] += flavor["ram"] * hours
        rows.append(
            {
                "instance_id": server["id"],
                "name": server["name"],
                "hours": hours,
                "memory_mb": flavor["ram"],
                "local_gb": local_gb,
                "vcpus": flavor["vcpus"],
                "tenant_id": project_id,
                "flavor": flavor["name"],
                "started_at": launched.isoformat(),
                "ended_at": None,
                "state": server["OS-EXT-STS:vm_state"],
                "uptime": int((now - launched).total_seconds()),
            }
        )
    if detailed:
        usage["server_usages"] = rows
    return usage


def usage_period(req: Request) -> tuple[datetime, datetime]:
    start, stop = parse_moment(req.arg("start")), parse_moment(req.arg("end"))
    if start > stop:
        raise ApiError.nova(
            400, "Invalid start time. The start time cannot occur after the end time."
        )
    return start, stop


def show_usage(sim: CloudSim, req: Request, project_id: str) -> Response:
    if project_id != req.ctx.project_id and not req.ctx.is_admin:
        raise ApiError.nova(403, "Policy doesn't allow os_compute_api:os-simple-tenant-usage:"
                            "show to be performed.")  # fmt: skip
    start, stop = usage_period(req)
    usage = project_usage(sim, req, project_id, start, stop, detailed=True)
    return Response(200, {"tenant_usage": usage or {}})


def list_usage(sim: CloudSim, req: Request) -> Response:
    if not req.ctx.is_admin:
        raise ApiError.nova(403, "Policy doesn't allow os_compute_api:os-simple-tenant-usage:"
                            "list to be performed.")  # fmt: skip
    start, stop = usage_period(req)
    detailed = str(req.arg("detailed", "0")).lower() in ("1", "true", "yes")
    projects = sorted({s["tenant_id"] for s in sim.store.list("server", region=req.region)})
    usages = [project_usage(sim, req, p, start, stop, detailed) for p in projects]
    return Response(200, {"tenant_usages": [u for u in usages if u]})


def register(router: Router) -> None:
    add = router.add
    add("PUT", "compute", "/v2.1/servers/{server_id}", "compute.server.update", update_server)
    for method in ("GET", "PUT", "DELETE"):
        add(method, "compute", "/v2.1/servers/{server_id}/metadata/{key}",
            "compute.server.metadata", metadata_item)  # fmt: skip
    add("GET", "compute", "/v2.1/servers/{server_id}/os-security-groups",
        "compute.server.security_groups", server_groups)  # fmt: skip
    add("GET", "compute", "/v2.1/os-floating-ip-pools", "compute.floating_ip_pool.list",
        floating_ip_pools)  # fmt: skip
    add("GET", "compute", "/v2.1/flavors/{flavor_id}/os-extra_specs",
        "compute.flavor.extra_specs", flavor_extra_specs)  # fmt: skip
    add("GET", "compute", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}",
        "compute.flavor.extra_specs", flavor_extra_specs)  # fmt: skip
    add("GET", "compute", "/v2.1/os-simple-tenant-usage", "compute.usage.list", list_usage)
    add("GET", "compute", "/v2.1/os-simple-tenant-usage/{project_id}", "compute.usage.get",
        show_usage)  # fmt: skip
