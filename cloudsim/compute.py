"""Nova v2.1 subset: versions and microversions, flavors, servers and their actions, limits."""

from __future__ import annotations

import re
import time
from typing import Any

from cloudsim import quota
from cloudsim.app import CloudSim, iso, new_id
from cloudsim.block_storage import release_server_volumes, volumes_attached
from cloudsim.network import BOUND, UNBOUND, delete_port, make_port, ports_of
from cloudsim.web import ApiError, Request, Response, Router, paginate

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 100)
ACTIVE, BUILD, ERROR, SHUTOFF = "ACTIVE", "BUILD", "ERROR", "SHUTOFF"
REBOOT, HARD_REBOOT = "REBOOT", "HARD_REBOOT"
VM_STATES = {ACTIVE: "active", BUILD: "building", ERROR: "error", SHUTOFF: "stopped",
             REBOOT: "active", HARD_REBOOT: "active"}  # fmt: skip
POWER_STATES = {ACTIVE: 1, BUILD: 0, ERROR: 0, SHUTOFF: 4, REBOOT: 1, HARD_REBOOT: 1}
TAG_RE = re.compile(r"^[^,/]{1,60}$")


def fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def negotiate(req: Request) -> tuple[int, int]:
    """Read the microversion the way Nova does: new header first, then the legacy one."""
    raw = ""
    for part in req.header("openstack-api-version").split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == "compute":
            raw = words[1]
    raw = raw or req.header("x-openstack-nova-api-version")
    if not raw:
        return MIN_VERSION
    if raw.lower() == "latest":
        return MAX_VERSION
    match = re.fullmatch(r"(\d+)\.(\d+)", raw.strip())
    if not match:
        raise ApiError.nova(400, f"API Version String {raw} is of invalid format. Must be of "
                            "format MajorNum.MinorNum.")  # fmt: skip
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        # Nova answers this with a computeFault body and echoes the version asked for.
        raise ApiError(
            406,
            {"computeFault": {"code": 406, "message": f"Version {raw} is not supported by the "
                              f"API. Minimum is {fmt(MIN_VERSION)} and maximum is "
                              f"{fmt(MAX_VERSION)}."}},
            {"OpenStack-API-Version": f"compute {raw}", "X-OpenStack-Nova-API-Version": raw,
             "Content-Type": "application/json; charset=UTF-8"},
        )  # fmt: skip
    return version


def version_doc(req: Request, *, root: bool) -> dict[str, Any]:
    base = f"{req.base_url}/{req.region}/compute"
    doc: dict[str, Any] = {
        "id": "v2.1",
        "status": "CURRENT",
        "version": fmt(MAX_VERSION),
        "min_version": fmt(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base}/v2.1/"}],
    }
    if not root:
        doc["links"].append(
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        )
        doc["media-types"] = [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ]
    return doc


def versions(sim: CloudSim, req: Request) -> Response:
    href = f"{req.base_url}/{req.region}/compute/v2/"
    old = {"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
           "updated": "2025-07-04T12:00:00Z", "links": [{"rel": "self", "href": href}]}  # fmt: skip
    return Response(200, {"versions": [old, version_doc(req, root=True)]})


def version(sim: CloudSim, req: Request) -> Response:
    return Response(200, {"version": version_doc(req, root=False)})


def mv(req: Request, at_least: tuple[int, int]) -> bool:
    return (req.microversion or MIN_VERSION) >= at_least


def link(req: Request, kind: str, obj_id: str) -> list[dict[str, str]]:
    base = f"{req.base_url}/{req.region}/compute"
    return [
        {"rel": "self", "href": f"{base}/v2.1/{kind}/{obj_id}"},
        {"rel": "bookmark", "href": f"{base}/{kind}/{obj_id}"},
    ]


# ---- flavors -----------------------------------------------------------------------------
def flavor_view(req: Request, flavor: dict[str, Any], detail: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": flavor["id"], "name": flavor["name"]}
    if mv(req, (2, 55)):
        out["description"] = flavor.get("description")
    out["links"] = link(req, "flavors", flavor["id"])
    if not detail:
        return out
    out.update(
        {
            "ram": flavor["ram"],
            "disk": flavor["disk"],
            "vcpus": flavor["vcpus"],
            "OS-FLV-EXT-DATA:ephemeral": flavor.get("ephemeral", 0),
            "swap": flavor.get("swap", 0) if mv(req, (2, 75)) else (flavor.get("swap") or ""),
            "rxtx_factor": 1.0,
            "os-flavor-access:is_public": flavor.get("is_public", True),
            "OS-FLV-DISABLED:disabled": False,
        }
    )
    if mv(req, (2, 61)):
        out["extra_specs"] = flavor.get("extra_specs", {})
    return out


def find_flavor(sim: CloudSim, req: Request, flavor_id: str) -> dict[str, Any] | None:
    return sim.store.get("flavor", f"{req.region}/{flavor_id}")


def list_flavors(sim: CloudSim, req: Request, detail: bool = False) -> Response:
    flavors = sim.store.list("flavor", region=req.region)
    if req.arg("minRam"):
        flavors = [f for f in flavors if f["ram"] >= int(req.arg("minRam") or 0)]
    if req.arg("minDisk"):
        flavors = [f for f in flavors if f["disk"] >= int(req.arg("minDisk") or 0)]
    url = f"{req.base_url}/{req.region}/compute/v2.1/flavors" + ("/detail" if detail else "")
    page, links = paginate(flavors, req, "flavors", url)
    body: dict[str, Any] = {"flavors": [flavor_view(req, f, detail) for f in page]}
    if links:
        body["flavors_links"] = links
    return Response(200, body)


def get_flavor(sim: CloudSim, req: Request, flavor_id: str) -> Response:
    flavor = find_flavor(sim, req, flavor_id)
    if not flavor:
        raise ApiError.nova(404, f"Flavor {flavor_id} could not be found.")
    return Response(200, {"flavor": flavor_view(req, flavor)})


# ---- servers: state ----------------------------------------------------------------------
def set_status(server: dict[str, Any], status: str) -> None:
    server["status"] = status
    server["OS-EXT-STS:vm_state"] = VM_STATES[status]
    server["OS-EXT-STS:power_state"] = POWER_STATES[status]
    server["OS-EXT-STS:task_state"] = "scheduling" if status == BUILD else None
    server["updated"] = iso()


def bind_ports(sim: CloudSim, server: dict[str, Any]) -> None:
    """Bind the server's ports on its host, as Nova does while it spawns the server."""
    for port in ports_of(sim, server["_region"], device_id=server["id"]):
        port.update(status=ACTIVE, **BOUND)
        sim.store.put("port", port, region=port["_region"], project_id=port["project_id"])


def release_ports(sim: CloudSim, server: dict[str, Any]) -> None:
    """Delete the ports Nova made for the server (their floating IPs are disassociated);
    unbind those the caller brought (their floating IPs stay with them, as in Neutron)."""
    for port in ports_of(sim, server["_region"], device_id=server["id"]):
        if port.get("_nova_owned"):
            delete_port(sim, port)
        else:
            port.update(device_id="", device_owner="", status="DOWN", **UNBOUND)
            sim.store.put("port", port, region=port["_region"], project_id=port["project_id"])


def purge(sim: CloudSim, server: dict[str, Any]) -> None:
    release_ports(sim, server)
    release_server_volumes(sim, server)
    sim.store.delete("server", server["id"])


def settle(sim: CloudSim, server: dict[str, Any]) -> dict[str, Any] | None:
    """Finish a build, an action, a resize or a delete whose time has come (computed lazily
    from timestamps).

    Returns None once a deleted server is gone.
    """
    if server.get("_delete_at") is not None:
        if time.time() < server["_delete_at"]:
            return server
        purge(sim, server)
        return None
    if server.get("_resize"):
        from cloudsim.compute_resize import settle_resize

        return settle_resize(sim, server)
    action = server.get("_action")
    if action and time.time() >= action["done_at"]:
        # A stop/start/reboot that took `action_time` has finished.
        server.pop("_action")
        set_status(server, action["to"])
        sim.store.put("server", server, region=server["_region"], project_id=server["tenant_id"])
        return server
    if server["status"] != BUILD or time.time() < server["_ready_at"]:
        return server
    if server.get("_build_error"):
        set_status(server, ERROR)
        server["fault"] = {"code": 500, "created": iso(), "message": server["_build_error"]}
        release_ports(sim, server)
    else:
        set_status(server, ACTIVE)
        server["OS-SRV-USG:launched_at"] = iso(micro=True)[:-1]
        bind_ports(sim, server)
    sim.store.put("server", server, region=server["_region"], project_id=server["tenant_id"])
    return server


class AddressBook:
    """Ports (and the floating IPs given to them) by server, and network names, read once per
    list call instead of once per server."""

    def __init__(self, sim: CloudSim, region: str) -> None:
        self.ports: dict[str, list[dict[str, Any]]] = {}
        for port in sim.store.list("port", region=region):
            self.ports.setdefault(port["device_id"], []).append(port)
        self.names = {n["id"]: n["name"] for n in sim.store.list("network", region=region)}
        self.floating: dict[str, list[dict[str, Any]]] = {}
        for fip in sim.store.list("floatingip", region=region):
            if fip.get("port_id"):
                self.floating.setdefault(fip["port_id"], []).append(fip)
        self.groups = {g["id"]: g for g in sim.store.list("security_group", region=region)}


def server_security_groups(
    sim: CloudSim, server: dict[str, Any], book: AddressBook | None = None
) -> list[dict[str, Any]]:
    """The security groups of the server's ports, port by port, as Nova reads them from
    Neutron (a group on two ports is named twice; a server with no port has none)."""
    if book is not None:
        ports = book.ports.get(server["id"], [])
    else:
        ports = ports_of(sim, server["_region"], device_id=server["id"])
    groups = []
    for port in ports:
        for group_id in port.get("security_groups") or []:
            group = book.groups.get(group_id) if book else sim.store.get("security_group", group_id)
            if group:
                groups.append(group)
    return groups


def addresses(
    sim: CloudSim, server: dict[str, Any], book: AddressBook | None = None
) -> dict[str, list[dict[str, Any]]]:
    """As Nova shows them: per network, the fixed addresses of the server's ports, then the
    floating IPs given to those addresses (type `floating`, with the port's MAC)."""
    fixed: dict[str, list[dict[str, Any]]] = {}
    floating: dict[str, list[dict[str, Any]]] = {}
    if book is not None:
        ports = book.ports.get(server["id"], [])
    else:
        ports = ports_of(sim, server["_region"], device_id=server["id"])
    for port in ports:
        if book is not None:
            name = book.names.get(port["network_id"], port["network_id"])
            fips = book.floating.get(port["id"], [])
        else:
            network = sim.store.get("network", port["network_id"]) or {"name": port["network_id"]}
            name = network["name"]
            fips = sim.store.find("floatingip", region=server["_region"], port_id=port["id"])
        for ip in port["fixed_ips"]:
            fixed.setdefault(name, []).append(address_entry(ip["ip_address"], "fixed", port))
            for fip in fips:
                if fip["fixed_ip_address"] == ip["ip_address"]:
                    entry = address_entry(fip["floating_ip_address"], "floating", port)
                    floating.setdefault(name, []).append(entry)
    return {name: fixed.get(name, []) + floating.get(name, []) for name in fixed | floating}


def address_entry(address: str, kind: str, port: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 6 if ":" in address else 4,
        "addr": address,
        "OS-EXT-IPS:type": kind,
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
    }


def server_view(
    sim: CloudSim,
    req: Request,
    server: dict[str, Any],
    detail: bool = True,
    book: AddressBook | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": server["id"], "name": server["name"]}
    out["links"] = link(req, "servers", server["id"])
    if not detail:
        return out
    flavor = server["_flavor"]
    if mv(req, (2, 47)):
        out["flavor"] = {
            "vcpus": flavor["vcpus"],
            "ram": flavor["ram"],
            "disk": flavor["disk"],
            "ephemeral": flavor.get("ephemeral", 0),
            "swap": flavor.get("swap", 0),
            "original_name": flavor["name"],
            "extra_specs": flavor.get("extra_specs", {}),
        }
    else:
        out["flavor"] = {"id": flavor["id"], "links": link(req, "flavors", flavor["id"])[1:]}
    public = {k: v for k, v in server.items() if not k.startswith("_")}
    out.update(public)
    out["os-extended-volumes:volumes_attached"] = volumes_attached(sim, req, server)
    out["image"] = {
        "id": server["_image_id"],
        "links": link(req, "images", server["_image_id"])[1:],
    }
    # As Nova shows them: empty while the build is being scheduled, then from the ports.
    out["addresses"] = {} if server["status"] == BUILD else addresses(sim, server, book)
    # Nova asks Neutron for the groups of the server's ports and shows their names; with no
    # port there is no `security_groups` at all.
    groups = server_security_groups(sim, server, book)
    if groups:
        out["security_groups"] = [{"name": g["name"] or g["id"]} for g in groups]
    if server["status"] != ERROR:
        out.pop("fault", None)
    if not mv(req, (2, 26)):
        out.pop("tags", None)
    if not mv(req, (2, 19)):
        out.pop("description", None)
    if not mv(req, (2, 9)):
        out.pop("locked", None)
    if not mv(req, (2, 73)):
        out.pop("locked_reason", None)
    if mv(req, (2, 63)):
        out["trusted_image_certificates"] = None
    if mv(req, (2, 71)):
        out["server_groups"] = []
    if mv(req, (2, 90)):
        out["OS-EXT-SRV-ATTR:hostname"] = re.sub(r"[^a-z0-9-]+", "-", server["name"].lower())[:63]
    if mv(req, (2, 96)):
        out["pinned_availability_zone"] = None
    if mv(req, (2, 100)):
        out["scheduler_hints"] = {}
    if req.ctx.is_admin:
        out["OS-EXT-SRV-ATTR:host"] = "cloudsim"
        out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = "cloudsim"
        out["OS-EXT-SRV-ATTR:instance_name"] = "instance-" + server["id"][:8]
    return out


def load_server(sim: CloudSim, req: Request, server_id: str) -> dict[str, Any]:
    server = sim.store.get("server", server_id)
    ok = server and server["_region"] == req.region
    if ok and not req.ctx.is_admin and server["tenant_id"] != req.ctx.project_id:
        ok = False
    settled = settle(sim, server) if ok and server else None
    if settled is None:
        raise ApiError.nova(404, f"Instance {server_id} could not be found.")
    return settled


def save_server(sim: CloudSim, server: dict[str, Any]) -> None:
    sim.store.put("server", server, region=server["_region"], project_id=server["tenant_id"])


def register(router: Router) -> None:
    from cloudsim import compute_servers

    add = router.add
    add("GET", "compute", "/", "compute.versions", versions)
    add("GET", "compute", "/v2.1", "compute.version", version)
    add("GET", "compute", "/v2.1/flavors", "compute.flavor.list", list_flavors)
    add("GET", "compute", "/v2.1/flavors/detail", "compute.flavor.list",
        lambda sim, req: list_flavors(sim, req, detail=True))  # fmt: skip
    add("GET", "compute", "/v2.1/flavors/{flavor_id}", "compute.flavor.get", get_flavor)
    compute_servers.register(router)


__all__ = ["make_port", "new_id", "quota"]
