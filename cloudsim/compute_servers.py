"""Nova servers: create, list with filters and pages, get, delete, actions, tags, quotas.

A create may boot from a new volume made from an image (`block_device_mapping_v2`, the one
shape the portal sends), checked here as Nova's API checks it; the volume is made in
`cloudsim.volume_attachments.build_boot_volume`.

Every create, stop, start, reboot and delete is recorded as an instance action
(`cloudsim.compute_actions`); resize, confirmResize and revertResize are in
`cloudsim.compute_resize`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from cloudsim import quota
from cloudsim.app import CloudSim, iso, new_id
from cloudsim.compute import (
    ACTIVE,
    BUILD,
    HARD_REBOOT,
    REBOOT,
    SHUTOFF,
    TAG_RE,
    AddressBook,
    find_flavor,
    load_server,
    mv,
    purge,
    release_ports,
    save_server,
    server_view,
    set_status,
    settle,
)
from cloudsim.compute_actions import cut_short, event, record
from cloudsim.image import visible as image_visible
from cloudsim.network import load as load_network_obj
from cloudsim.network import make_port
from cloudsim.network import save as save_network_obj
from cloudsim.volume_attachments import build_boot_volume
from cloudsim.web import ApiError, Request, Response, Router, paginate

BUILD_TRACE = (
    '  File "/usr/lib/python3/dist-packages/nova/conductor/manager.py", line 1677, in '
    "schedule_and_build_instances\n    host_lists = self._schedule_instances(context, "
    "request_specs[0],\n"
    '  File "/usr/lib/python3/dist-packages/nova/scheduler/client/query.py", line 42, in '
    "select_destinations\n    raise exception.NoValidHost(reason=reason)\n"
)
SERVER_KEYS = {"name", "imageRef", "flavorRef", "networks", "metadata", "tags", "key_name",
               "security_groups", "min_count", "max_count", "availability_zone", "user_data",
               "description", "config_drive", "adminPass", "OS-DCF:diskConfig",
               "block_device_mapping_v2", "accessIPv4", "accessIPv6", "hostname",
               "return_reservation_id"}  # fmt: skip
#: Keys of a `block_device_mapping_v2` item in Nova's schema (`tag` from 2.42, `volume_type`
#: from 2.67 are added per request).
BDM_KEYS = {"virtual_name", "volume_id", "snapshot_id", "volume_size", "device_name",
            "delete_on_termination", "no_device", "connection_info", "source_type", "uuid",
            "image_id", "destination_type", "guest_format", "device_type", "disk_bus",
            "boot_index"}  # fmt: skip
BDM_ENUMS = {"source_type": ["volume", "image", "snapshot", "blank"],
             "destination_type": ["local", "volume"]}  # fmt: skip
BOOLEANS = [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", False,
            "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]  # fmt: skip
DB_MAX_INT = 0x7FFFFFFF
GIB = 1024**3


def quota_used(sim: CloudSim, region: str, project_id: str) -> dict[str, int]:
    instances, cores, ram = sim.store.server_usage(region, project_id)
    return {"instances": instances, "cores": cores, "ram": ram}


def check_compute_quota(
    sim: CloudSim, req: Request, flavor: dict[str, Any], min_count: int = 1, max_count: int = 1
) -> int:
    """How many of `min_count`..`max_count` servers of this flavor the quota allows, as Nova
    counts: as many as fit, else 403 naming the first resource over."""
    limits = quota.limits(sim, req.region, req.ctx.project_id, "compute")
    used = quota_used(sim, req.region, req.ctx.project_id)
    each = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
    allowed = max_count
    for key in ("instances", "cores", "ram"):
        if limits[key] >= 0 and each[key]:
            allowed = min(allowed, max(limits[key] - used[key], 0) // each[key])
    if allowed >= min_count:
        return allowed
    for key in ("instances", "cores", "ram"):
        if not quota.allows(limits[key], used[key], each[key] * max_count):
            wanted: Any = each[key] * max_count
            if key == "instances" and min_count != max_count:
                wanted = f"{min_count}-{max_count}"
            raise ApiError.nova(
                403,
                f"Quota exceeded for {key}: Requested {wanted}, but already used "
                f"{used[key]} of {limits[key]} {key}",
            )
    raise AssertionError("unreachable: some resource is over quota")


def instance_counts(data: dict[str, Any]) -> tuple[int, int]:
    """`min_count` and `max_count` as Nova's schema reads them (integers or digit strings, at
    least 1; `max_count` defaults to `min_count`)."""
    counts = {}
    for key in ("min_count", "max_count"):
        value = data.get(key, 1 if key == "min_count" else None)
        if value is None:
            continue
        if isinstance(value, bool) or not re.fullmatch(r"[0-9]+", str(value)):
            raise schema_error(key, value, f"{value!r} does not match '^[0-9]*$'")
        if int(value) < 1:
            raise schema_error(key, value, f"{value} is less than the minimum of 1")
        counts[key] = int(value)
    low = counts["min_count"]
    high = counts.get("max_count", low)
    if low > high:
        raise ApiError.nova(400, "min_count must be <= max_count")
    return low, high


def check_metadata(sim: CloudSim, req: Request, project_id: str, metadata: Any) -> None:
    """Nova's metadata rules: string keys of 1-255 and values up to 255 characters, and no
    more items than the `metadata_items` quota (128 by default): 403 past it."""
    if not isinstance(metadata, dict):
        raise schema_error("metadata", metadata, f"{metadata!r} is not of type 'object'")
    for key, value in metadata.items():
        if not 1 <= len(key) <= 255:
            raise schema_error("metadata", metadata, f"{key!r} does not match any of the "
                               "regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'")  # fmt: skip
        if not isinstance(value, str):
            raise schema_error(key, value, f"{value!r} is not of type 'string'")
        if len(value) > 255:
            raise schema_error(key, value, f"{value!r} is too long")
    allowed = quota.limits(sim, req.region, project_id, "compute")["metadata_items"]
    if 0 <= allowed < len(metadata):
        raise ApiError.nova(403, f"Maximum number of metadata items exceeds {allowed}")


def resolve_networks(sim: CloudSim, req: Request, networks: Any) -> list[dict[str, Any]]:
    """Turn the request's `networks` into [{'network': ..., 'port': ...}] or raise as Nova."""
    if networks in ("none", None):
        return []
    if networks == "auto":
        candidates = [
            n
            for n in sim.store.list("network", region=req.region, project_id=req.ctx.project_id)
            if n["subnets"]
        ]
        if not candidates:
            raise ApiError.nova(400, "Unable to automatically allocate a network for project "
                                f"{req.ctx.project_id}")  # fmt: skip
        return [{"network": candidates[0], "port": None}]
    out = []
    for item in networks:
        try:
            if item.get("port"):
                port = load_network_obj(sim, req, "ports", item["port"])
                if port["device_id"]:
                    raise ApiError.nova(409, f"Port {port['id']} is still in use.")
                network = load_network_obj(sim, req, "networks", port["network_id"])
                out.append({"network": network, "port": port})
                continue
            network = load_network_obj(sim, req, "networks", item.get("uuid", ""))
        except ApiError as err:
            if err.status != 404:
                raise
            what = (
                f"Port id {item.get('port')}" if item.get("port") else f"Network {item.get('uuid')}"
            )
            raise ApiError.nova(400, f"{what} could not be found.") from None
        if not network["subnets"]:
            raise ApiError.nova(
                400, f"Network {network['id']} requires a subnet in order to boot instances on."
            )
        out.append({"network": network, "port": None})
    return out


def bdm_invalid(message: str) -> ApiError:
    return ApiError.nova(400, f"Block Device Mapping is Invalid: {message}")


def schema_error(field: Any, value: Any, why: str) -> ApiError:
    """Nova's jsonschema refusal: the innermost field (an item's index), its value, the reason."""
    return ApiError.nova(400, f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def check_volume_size(value: Any) -> None:
    """Nova's `volume_size` schema: an integer, or a string of digits, from 1 to 2**31-1."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise schema_error("volume_size", value, f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, str) and not re.fullmatch(r"[0-9]+", value):
        raise schema_error("volume_size", value, f"{value!r} does not match '^[0-9]+$'")
    if int(value) < 1:
        raise schema_error("volume_size", value, f"{value} is less than the minimum of 1")
    if int(value) > DB_MAX_INT:
        raise schema_error("volume_size", value,
                           f"{value} is greater than the maximum of {DB_MAX_INT}")  # fmt: skip


def check_bdm_item(req: Request, index: int, item: Any) -> None:
    """One `block_device_mapping_v2` item against Nova's schema (the keys the portal uses and
    the ones whose misuse is likely; the rest pass unchecked)."""
    if not isinstance(item, dict):
        raise schema_error(index, item, f"{item!r} is not of type 'object'")
    allowed = set(BDM_KEYS)
    if mv(req, (2, 42)) or req.microversion == (2, 32):
        allowed.add("tag")
    if mv(req, (2, 67)):
        allowed.add("volume_type")
    unexpected = sorted(set(item) - allowed)
    if unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        verb = "was" if len(unexpected) == 1 else "were"
        why = f"Additional properties are not allowed ({names} {verb} unexpected)"
        raise schema_error(index, item, why)
    for key, choices in BDM_ENUMS.items():
        if key in item and item[key] not in choices:
            raise schema_error(key, item[key], f"{item[key]!r} is not one of {choices}")
    uuid_ref = item.get("uuid")
    if uuid_ref is not None and (
        not isinstance(uuid_ref, str) or not re.fullmatch(r"[a-zA-Z0-9._-]{1,255}", uuid_ref)
    ):
        raise schema_error("uuid", uuid_ref, f"{uuid_ref!r} does not match '^[a-zA-Z0-9._-]*$'")
    if "volume_size" in item:
        check_volume_size(item["volume_size"])
    flag = item.get("delete_on_termination", False)
    if flag not in BOOLEANS or (isinstance(flag, int) and not isinstance(flag, bool)):
        raise schema_error("delete_on_termination", flag, f"{flag!r} is not one of {BOOLEANS}")
    index_value = item.get("boot_index")
    if index_value is not None and not re.fullmatch(r"-?[0-9]+", str(index_value)):
        raise schema_error("boot_index", index_value,
                           f"{index_value!r} does not match '^-?[0-9]+$'")  # fmt: skip


def boot_mapping(sim: CloudSim, req: Request, data: dict[str, Any]) -> dict[str, Any] | None:
    """The request's root mapping when it boots from a new volume made from an image, checked
    as Nova's API checks it; None when the request has no mappings. The other shapes (a
    volume, a snapshot, a blank volume, extra disks) are not simulated: 400 in Nova's words
    where Nova itself refuses them, else a 400 saying cloudsim does not model them."""
    items = data.get("block_device_mapping_v2")
    if items is None or items == []:
        return None
    if not isinstance(items, list):
        raise schema_error("block_device_mapping_v2", items, f"{items!r} is not of type 'array'")
    for index, item in enumerate(items):
        check_bdm_item(req, index, item)
    boot = [i for i in items if str(i.get("boot_index")) == "0"]
    if not boot:
        raise bdm_invalid("Boot sequence for the instance and image/block device mapping "
                          "combination is not valid.")  # fmt: skip
    root = boot[0]
    source = root.get("source_type")
    destination = root.get("destination_type") or ("local" if source == "image" else "volume")
    if source == "volume" and not sim.store.get("volume", str(root.get("uuid"))):
        raise bdm_invalid(f"failed to get volume {root.get('uuid')}.")
    if source == "image" and destination == "local" and not data.get("imageRef"):
        raise bdm_invalid("Mapping image to local is not supported.")
    if len(items) == 1 and source == "image" and destination == "local":
        # The image on the host's disk: a plain boot from `imageRef`, as the openstack CLI
        # always spells `server create --image` (python-openstackclient 7 and later).
        return None
    if len(items) > 1 or source != "image" or destination != "volume":
        raise bdm_invalid("cloudsim only simulates booting from a new volume made from an image "
                          "(one mapping: boot_index 0, source_type image, destination_type "
                          "volume).")  # fmt: skip
    return root


def boot_image(sim: CloudSim, req: Request, root: dict[str, Any]) -> dict[str, Any]:
    """The image a boot volume is made from, and its size checks, in Nova's API's words."""
    image_id = str(root.get("uuid") or root.get("image_id") or "")
    image = sim.store.get("image", f"{req.region}/{image_id}")
    if not image or not image_visible(image, req):
        raise bdm_invalid(f"failed to get image {image_id}.")
    if image.get("status") != "active":
        raise ApiError.nova(400, f"Image {image_id} is not active.")
    size = int(root.get("volume_size") or 0)
    if not size:
        raise ApiError.nova(400, "Images with destination_type 'volume' need to have a non-zero "
                            "size specified")  # fmt: skip
    min_disk = int(image.get("min_disk") or 0)
    if min_disk > size:
        raise ApiError.nova(
            400,
            "Volume is smaller than the minimum size specified in image metadata. Volume size "
            f"is {size * GIB} bytes, minimum size is {min_disk * GIB} bytes.",
        )
    return image


def requested_image(data: dict[str, Any], booting: bool) -> str:
    """The `imageRef` id; optional ('') only when a boot volume stands in for it, as in Nova."""
    image_id = str(data.get("imageRef") or "").rstrip("/").rsplit("/", 1)[-1]
    if not image_id and not booting:
        raise ApiError.nova(400, "Missing imageRef attribute")
    return image_id


def create_server(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("server")
    if not isinstance(data, dict):
        raise ApiError.nova(400, "Invalid input for field/attribute server.")
    unexpected = sorted(set(data) - SERVER_KEYS)
    if "tags" in data and not mv(req, (2, 52)):
        unexpected.append("tags")
    if unexpected:
        names = ", ".join(f"'{k}'" for k in unexpected)
        raise ApiError.nova(
            400,
            f"Invalid input for field/attribute server. Value: {data}. Additional "
            f"properties are not allowed ({names} {'was' if len(unexpected) == 1 else 'were'} "
            "unexpected)",
        )
    if not data.get("name"):
        raise ApiError.nova(400, "Invalid input for field/attribute name.")
    if "networks" not in data and mv(req, (2, 37)):
        raise ApiError.nova(400, "Invalid input for field/attribute server. Value: "
                            f"{data}. 'networks' is a required property")  # fmt: skip
    tags = list(data.get("tags") or [])
    if len(tags) > 50 or any(not TAG_RE.match(t) for t in tags):
        raise ApiError.nova(400, "Invalid input for field/attribute tags.")
    root = boot_mapping(sim, req, data)
    image_id = requested_image(data, booting=root is not None)
    flavor_ref = str(data.get("flavorRef", "")).rstrip("/").rsplit("/", 1)[-1]
    flavor = find_flavor(sim, req, flavor_ref)
    if not flavor:
        raise ApiError.nova(400, f"Flavor {flavor_ref} could not be found.")
    if image_id and not sim.store.get("image", f"{req.region}/{image_id}"):
        raise ApiError.nova(400, "Can not find requested image")
    boot = boot_image(sim, req, root) if root else None
    key_name = data.get("key_name")
    if key_name and not sim.store.get("keypair", f"{req.region}/{req.ctx.user_id}/{key_name}"):
        raise ApiError.nova(400, "Invalid key_name provided.")
    sg_names = [sg.get("name") for sg in data.get("security_groups") or [{"name": "default"}]]
    project_groups = {
        g["name"]: g for g in sim.store.list("security_group", req.region, req.ctx.project_id)
    }
    project_groups.update({g["id"]: g for g in project_groups.values()})
    for name in sg_names:
        if name != "default" and name not in project_groups:
            raise ApiError.nova(400, f"Unable to find security_group with name or id '{name}'")
    min_count, max_count = instance_counts(data)
    metadata = data.get("metadata") or {}
    check_metadata(sim, req, req.ctx.project_id, metadata)
    count = check_compute_quota(sim, req, flavor, min_count, max_count)
    wanted = resolve_networks(sim, req, data.get("networks"))
    if max_count > 1 and any(item["port"] for item in wanted):
        raise ApiError.nova(400, "Unable to launch multiple instances with a single configured "
                            "port ID. Please launch your instance one by one with different "
                            "ports.")  # fmt: skip
    groups = [project_groups[n]["id"] for n in sg_names if n in project_groups]
    reservation = "r-" + new_id(hex_=True)[:8]
    made = []
    for index in range(count):
        # Nova names the servers of a multiple create `<name>-<n>` (its default
        # multi_instance_display_name_template), one reservation id for them all.
        name = data["name"] if max_count == 1 else f"{data['name']}-{index + 1}"
        made.append(build_server(sim, req, data, name=name, flavor=flavor, image_id=image_id,
                                 boot=boot, root=root, wanted=wanted, sg_names=sg_names,
                                 groups=groups, reservation=reservation))  # fmt: skip
    server = made[0]
    if str(data.get("return_reservation_id", "")).lower() in ("true", "1", "yes", "on"):
        return Response(202, {"reservation_id": reservation})
    body = {
        "id": server["id"],
        "links": server_view(sim, req, server, detail=False)["links"],
        "OS-DCF:diskConfig": server["OS-DCF:diskConfig"],
        "security_groups": [{"name": n} for n in sg_names],
        "adminPass": data.get("adminPass") or new_id(hex_=True)[:12],
    }
    return Response(202, {"server": body}, {"Location": body["links"][0]["href"]})


def build_server(
    sim: CloudSim,
    req: Request,
    data: dict[str, Any],
    *,
    name: str,
    flavor: dict[str, Any],
    image_id: str,
    boot: dict[str, Any] | None,
    root: dict[str, Any] | None,
    wanted: list[dict[str, Any]],
    sg_names: list[str],
    groups: list[str],
    reservation: str,
) -> dict[str, Any]:
    """One server of a create (its ports, its boot volume, its `create` action)."""
    now = time.time()
    server_id = new_id()
    build_error = sim.knobs.take_build_error()
    server: dict[str, Any] = {
        "id": server_id,
        "name": name,
        "tenant_id": req.ctx.project_id,
        "user_id": req.ctx.user_id,
        "metadata": dict(data.get("metadata") or {}),
        "tags": list(data.get("tags") or []),
        "hostId": new_id(hex_=True)[:28] * 2,
        "created": iso(now),
        "updated": iso(now),
        "accessIPv4": data.get("accessIPv4", ""),
        "accessIPv6": data.get("accessIPv6", ""),
        "OS-DCF:diskConfig": data.get("OS-DCF:diskConfig", "MANUAL"),
        "progress": 0,
        "OS-EXT-AZ:availability_zone": data.get("availability_zone") or "nova",
        "config_drive": "",
        "key_name": data.get("key_name"),
        "OS-SRV-USG:launched_at": None,
        "OS-SRV-USG:terminated_at": None,
        "os-extended-volumes:volumes_attached": [],
        "locked": False,
        "locked_reason": None,
        "description": data.get("description"),
        "_region": req.region,
        "_flavor": flavor,
        "_image_id": image_id,
        "_security_groups": sg_names,
        "_reservation_id": reservation,
        "_ready_at": now + sim.knobs.build_time,
        "_build_error": build_error,
    }
    set_status(server, BUILD)
    try:
        for item in wanted:
            port = item["port"]
            if port:
                port.update(device_id=server_id, device_owner="compute:nova")
                save_network_obj(sim, "ports", port)
            else:
                port = make_port(
                    sim, req, item["network"], req.ctx.project_id, device_id=server_id,
                    device_owner="compute:nova", security_groups=groups or None,
                )  # fmt: skip
                port["_nova_owned"] = True
                save_network_obj(sim, "ports", port)
    except ApiError as err:
        # Errors commit (see CloudSim._run), so undo the ports of a create that failed half-way.
        release_ports(sim, server)
        detail = err.body.get("NeutronError", {}) if isinstance(err.body, dict) else {}
        message = detail.get("message") or str(err.body)
        raise ApiError.nova(500 if err.status >= 500 else 400, message) from None
    if boot and root and not build_error:  # a scheduler failure never reaches the host
        build_boot_volume(sim, req, server, boot, int(root["volume_size"]),
                          bool_value(root.get("delete_on_termination", False)))  # fmt: skip
    save_server(sim, server)
    if build_error:
        # The scheduler fails: Nova buries the instance in cell0 with this one failed event.
        events = [event("conductor_schedule_and_build_instances", now, server["_ready_at"],
                        build_error, BUILD_TRACE)]  # fmt: skip
    else:
        spawn_from = now + (server["_ready_at"] - now) / 4  # after scheduling
        events = [event("compute__do_build_and_run_instance", spawn_from, server["_ready_at"])]
    record(sim, req, server, "create", events, start=now)
    return server


def bool_value(value: Any) -> bool:
    """A schema-checked boolean (True, or a string such as "true", "1", "yes", "on")."""
    return value is True or str(value).lower() in ("true", "1", "on", "yes")


def server_matches(server: dict[str, Any], req: Request) -> bool:
    name = req.arg("name")
    if name and not re.search(name, server["name"]):
        return False
    status = req.arg("status")
    if status and server["status"] != status.upper():
        return False
    tags = set(server.get("tags") or [])
    for key, test in (
        ("tags", lambda want: want <= tags),
        ("tags-any", lambda want: bool(want & tags)),
        ("not-tags", lambda want: not want <= tags),
        ("not-tags-any", lambda want: not want & tags),
    ):
        value = req.arg(key)
        if value and not test(set(value.split(","))):
            return False
    if req.arg("flavor") and server["_flavor"]["id"] != req.arg("flavor"):
        return False
    return not (req.arg("image") and server["_image_id"] != req.arg("image"))


def shown(
    sim: CloudSim,
    req: Request,
    server: dict[str, Any],
    detail: bool = True,
    book: AddressBook | None = None,
) -> dict[str, Any]:
    """Nova's view of a server; one booted from a volume with no `imageRef` has `image: ""`."""
    out = server_view(sim, req, server, detail, book)
    if detail and not server["_image_id"]:
        out["image"] = ""
    return out


#: The statuses Nova's `status` filter knows (nova.api.openstack.common._STATE_MAP).
KNOWN_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "REBOOT", "HARD_REBOOT", "PASSWORD", "RESIZE",
                  "VERIFY_RESIZE", "REVERT_RESIZE", "MIGRATING", "SHUTOFF", "PAUSED",
                  "SUSPENDED", "RESCUE", "ERROR", "DELETED", "SOFT_DELETED", "SHELVED",
                  "SHELVED_OFFLOADED", "UNKNOWN"}  # fmt: skip


def list_servers(sim: CloudSim, req: Request, detail: bool = False) -> Response:
    status = req.arg("status")
    if status and status.upper() not in KNOWN_STATUSES:
        # Nova: 400 from 2.38, an empty list before.
        if mv(req, (2, 38)):
            raise ApiError.nova(400, "Invalid status value")
        return Response(200, {"servers": []})
    all_projects = req.arg("all_tenants") or req.arg("all_projects")
    everyone = req.ctx.is_admin and all_projects not in (None, "0", "false", "False")
    project = req.arg("project_id") or req.arg("tenant_id")
    if everyone:
        servers = sim.store.list("server", region=req.region, project_id=project)
    else:
        servers = sim.store.list("server", region=req.region, project_id=req.ctx.project_id)
    settled = [settle(sim, s) for s in servers]
    servers = [s for s in settled if s is not None and server_matches(s, req)]
    servers.reverse()  # Nova sorts by created_at desc
    url = f"{req.base_url}/{req.region}/compute/v2.1/servers" + ("/detail" if detail else "")
    page, links = paginate(servers, req, "servers", url)
    book = AddressBook(sim, req.region) if detail and len(page) > 20 else None
    body: dict[str, Any] = {"servers": [shown(sim, req, s, detail, book) for s in page]}
    if links:
        body["servers_links"] = links
    return Response(200, body)


def get_server(sim: CloudSim, req: Request, server_id: str) -> Response:
    return Response(200, {"server": shown(sim, req, load_server(sim, req, server_id))})


def delete_server(sim: CloudSim, req: Request, server_id: str) -> Response:
    server = load_server(sim, req, server_id)
    if server.get("locked") and not req.ctx.is_admin:
        raise ApiError.nova(409, f"Instance {server_id} is locked")
    if server.get("_delete_at") is None:
        now = time.time()
        cut_short(sim, server, now)
        finish = now + max(sim.knobs.delete_time, 0)
        record(sim, req, server, "delete", [event("compute_terminate_instance", now, finish)])
    if sim.knobs.delete_time <= 0:
        purge(sim, server)
    elif server.get("_delete_at") is None:
        # Like Nova: the server lingers with task_state "deleting" before it is gone.
        server["_delete_at"] = time.time() + sim.knobs.delete_time
        server["OS-EXT-STS:task_state"] = "deleting"
        save_server(sim, server)
    return Response(204)


def conflict(server: dict[str, Any], action: str) -> ApiError:
    return ApiError.nova(
        409,
        f"Cannot '{action}' instance {server['id']} while it is in vm_state "
        f"{server['OS-EXT-STS:vm_state']}",
    )


#: action -> (vm_states it is allowed in, task_states it is allowed in, status and task_state
#: while it runs (None: the status stays), status when done). As Nova's check_instance_state.
ACTIONS: dict[str, tuple[set[str], set[str | None], tuple[str | None, str], str]] = {
    "start": ({"stopped"}, {None}, (None, "powering-on"), ACTIVE),
    "stop": ({"active", "error"}, {None}, (None, "powering-off"), SHUTOFF),
    "reboot": ({"active"}, {None}, (REBOOT, "rebooting"), ACTIVE),
    "reboot_hard": (
        {"active", "stopped", "error"},
        {None, "rebooting", "rebooting_hard"},
        (HARD_REBOOT, "rebooting_hard"),
        ACTIVE,
    ),
}


def action_operation(req: Request) -> str:
    """Resize and its confirm/revert count (and take faults) under their own names; the other
    actions under `compute.server.action`."""
    from cloudsim.compute_resize import HANDLERS

    try:
        body = req.body
    except ApiError:
        return "compute.server.action"
    for key, (_, operation) in HANDLERS.items():
        if isinstance(body, dict) and key in body:
            return operation
    return "compute.server.action"


def server_action(sim: CloudSim, req: Request, server_id: str) -> Response:
    from cloudsim.compute_resize import HANDLERS
    from cloudsim.compute_server_extras import SERVER_ACTIONS

    server = load_server(sim, req, server_id)
    body = req.body or {}
    if not isinstance(body, dict):
        raise ApiError.nova(400, "Malformed request body")
    for key, (handler, _) in HANDLERS.items():
        if key in body:
            return handler(sim, req, server, body)
    for key, handler in SERVER_ACTIONS.items():
        if key in body:
            return handler(sim, req, server, body[key])
    if "os-start" in body:
        name, verb = "start", "start"
    elif "os-stop" in body:
        name, verb = "stop", "stop"
    elif "reboot" in body:
        kind = ((body.get("reboot") or {}).get("type") or "SOFT").upper()
        name, verb = ("reboot_hard" if kind == "HARD" else "reboot"), "reboot"
    else:
        raise ApiError.nova(400, "There is no such action: " + ", ".join(body))
    vm_states, task_states, (busy_status, busy_task), done = ACTIONS[name]
    if server["OS-EXT-STS:vm_state"] not in vm_states:
        raise conflict(server, verb)
    task_state = server["OS-EXT-STS:task_state"]
    if task_state not in task_states:
        raise ApiError.nova(
            409, f"Cannot '{verb}' instance {server['id']} while it is in task_state {task_state}"
        )
    if verb == "reboot":
        server.pop("fault", None)
    now = time.time()
    finish = now + max(sim.knobs.action_time, 0)
    record(sim, req, server, verb, [event(f"compute_{verb}_instance", now, finish)], start=now)
    if sim.knobs.action_time <= 0:
        server.pop("_action", None)
        set_status(server, done)
    else:
        # Like Nova: the API answers 202 at once; the compute host finishes a moment later.
        if busy_status:
            set_status(server, busy_status)
        server["OS-EXT-STS:task_state"] = busy_task
        server["_action"] = {"to": done, "done_at": time.time() + sim.knobs.action_time}
    save_server(sim, server)
    return Response(202)


def server_tags(sim: CloudSim, req: Request, server_id: str, tag: str = "") -> Response:
    if not mv(req, (2, 26)):
        raise ApiError.nova(404, "The resource could not be found.")
    server = load_server(sim, req, server_id)
    tags = list(server.get("tags") or [])
    if req.method == "GET" and not tag:
        return Response(200, {"tags": tags})
    if req.method == "GET":
        if tag not in tags:
            raise ApiError.nova(404, f"Tag {tag} could not be found.")
        return Response(204)
    if req.method == "PUT" and not tag:
        tags = list(dict.fromkeys((req.body or {}).get("tags") or []))
    elif req.method == "PUT":
        if not TAG_RE.match(tag):
            raise ApiError.nova(400, "Invalid input for field/attribute tag.")
        if tag not in tags:
            tags.append(tag)
    elif tag:
        if tag not in tags:
            raise ApiError.nova(404, f"Tag {tag} could not be found.")
        tags.remove(tag)
    else:
        tags = []
    server["tags"] = tags
    save_server(sim, server)
    if req.method == "PUT" and not tag:
        return Response(200, {"tags": tags})
    return Response(201 if req.method == "PUT" else 204)


def server_metadata(sim: CloudSim, req: Request, server_id: str) -> Response:
    server = load_server(sim, req, server_id)
    if req.method in ("POST", "PUT"):
        incoming = (req.body or {}).get("metadata")
        if not isinstance(incoming, dict):
            raise schema_error("metadata", incoming, f"{incoming!r} is not of type 'object'")
        merged = incoming if req.method == "PUT" else {**server["metadata"], **incoming}
        check_metadata(sim, req, server["tenant_id"], merged)
        server["metadata"] = merged
        save_server(sim, server)
    return Response(200, {"metadata": server["metadata"]})


def register(router: Router) -> None:
    from cloudsim import compute_actions, compute_extras, compute_server_extras

    add = router.add
    add("GET", "compute", "/v2.1/servers", "compute.server.list", list_servers)
    add("POST", "compute", "/v2.1/servers", "compute.server.create", create_server)
    add("GET", "compute", "/v2.1/servers/detail", "compute.server.list",
        lambda sim, req: list_servers(sim, req, detail=True))  # fmt: skip
    add("GET", "compute", "/v2.1/servers/{server_id}", "compute.server.get", get_server)
    add("DELETE", "compute", "/v2.1/servers/{server_id}", "compute.server.delete", delete_server)
    add("POST", "compute", "/v2.1/servers/{server_id}/action", "compute.server.action",
        server_action, resolve=action_operation)  # fmt: skip
    for method in ("GET", "PUT", "DELETE"):
        add(method, "compute", "/v2.1/servers/{server_id}/tags", "compute.server.tags",
            server_tags)  # fmt: skip
        add(method, "compute", "/v2.1/servers/{server_id}/tags/{tag}", "compute.server.tags",
            server_tags)  # fmt: skip
    for method in ("GET", "POST", "PUT"):
        add(method, "compute", "/v2.1/servers/{server_id}/metadata", "compute.server.metadata",
            server_metadata)  # fmt: skip
    compute_extras.register(router)
    compute_actions.register(router)
    compute_server_extras.register(router)
