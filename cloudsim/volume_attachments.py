"""Nova's `/servers/{id}/os-volume_attachments`: attach and detach Cinder volumes.

As in Nova, an attach answers at once with the device Nova reserved (a block device mapping,
kind `bdm` in the store) and the volume goes `reserved` -> `attaching` -> `in-use` while the
compute host connects it; a detach answers 202 and the volume goes `detaching` -> `available`,
the mapping disappearing when the detach completes. Devices are named as libvirt/KVM names
virtio disks (`/dev/vdb`, `/dev/vdc`, ...; the lab's fake hypervisor says `/dev/sdb`).
Cinder's half of the state lives on the volume (block_storage.settle applies it).

A server booted from a volume (`block_device_mapping_v2`, image -> volume, validated in
`compute_servers`) has its volume made here, as Nova's compute host makes it: Cinder copies the
image into a new volume of the server's project, Nova waits for it and attaches it as `/dev/vda`
before the build finishes; a refusal or a failed copy aborts the build (server `ERROR`).
"""

from __future__ import annotations

import math
import re
import string
import time
from typing import Any

from cloudsim import block_storage_quota
from cloudsim.app import CloudSim, new_id
from cloudsim.block_storage import (
    check_image_fits,
    default_type,
    is_uuid,
    load_volume,
    new_volume,
    save,
    schedule,
    schedule_image_copy,
    server_volumes,
    volume_time,
)
from cloudsim.compute import load_server, mv
from cloudsim.web import ApiError, Request, Response, Router

DEVICE_RE = re.compile(r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$")
DEVICE_PREFIX = "/dev/vd"
ROOT_LETTER = "a"
ROOT_DEVICE = DEVICE_PREFIX + ROOT_LETTER
#: Nova checks a volume it waits for at once, then every `block_device_allocate_retries_interval`.
NOVA_POLL_SECONDS = 3
#: Nova's check_instance_state for attach_volume and detach_volume.
VOLUME_VM_STATES = {"active", "paused", "stopped", "resized", "soft-delete", "shelved",
                    "shelved_offloaded"}  # fmt: skip
HOST_NAME = "cloudsim"


def check_state(server: dict[str, Any], action: str, req: Request) -> None:
    """Locked, then vm_state, then task_state, with Nova's 409 messages."""
    if server.get("locked") and not req.ctx.is_admin:
        raise ApiError.nova(409, f"Instance {server['id']} is locked")
    vm_state = server.get("OS-EXT-STS:vm_state")
    if vm_state not in VOLUME_VM_STATES:
        raise ApiError.nova(409, f"Cannot '{action}' instance {server['id']} while it is in "
                            f"vm_state {vm_state}")  # fmt: skip
    task_state = server.get("OS-EXT-STS:task_state")
    if task_state is not None:
        raise ApiError.nova(409, f"Cannot '{action}' instance {server['id']} while it is in "
                            f"task_state {task_state}")  # fmt: skip


def attachment_view(req: Request, bdm: dict[str, Any]) -> dict[str, Any]:
    """Nova's _translate_attachment_detail_view at the request's microversion."""
    out: dict[str, Any] = {}
    if not mv(req, (2, 89)):
        out["id"] = bdm["volume_id"]
    out["volumeId"] = bdm["volume_id"]
    out["serverId"] = bdm["server_id"]
    out["device"] = bdm["device"]
    if mv(req, (2, 70)):
        out["tag"] = bdm.get("tag")
    if mv(req, (2, 79)):
        out["delete_on_termination"] = bdm["delete_on_termination"]
    if mv(req, (2, 89)):
        out["attachment_id"] = bdm["attachment_id"]
        out["bdm_uuid"] = bdm["id"]
    return out


def not_attached(server_id: str, volume_id: str) -> ApiError:
    return ApiError.nova(404, f"Instance {server_id} is not attached to volume {volume_id}")


def list_attachments(sim: CloudSim, req: Request, server_id: str) -> Response:
    server = load_server(sim, req, server_id)
    bdms = server_volumes(sim, req.region, server["id"])
    try:
        offset = int(req.arg("offset") or 0)
        limit = int(req.arg("limit") or 1000)
    except ValueError:
        raise ApiError.nova(400, "Invalid input for query parameters limit/offset.") from None
    page = bdms[offset : offset + limit]
    return Response(200, {"volumeAttachments": [attachment_view(req, b) for b in page]})


def get_attachment(sim: CloudSim, req: Request, server_id: str, volume_id: str) -> Response:
    server = load_server(sim, req, server_id)
    bdm = next(
        (b for b in server_volumes(sim, req.region, server["id"]) if b["volume_id"] == volume_id),
        None,
    )
    if bdm is None:
        raise not_attached(server_id, volume_id)
    return Response(200, {"volumeAttachment": attachment_view(req, bdm)})


def validate_attach_body(req: Request) -> dict[str, Any]:
    """Nova's JSON schema for the attach body (tag from 2.49, delete_on_termination 2.79)."""
    body = req.body
    if not isinstance(body, dict) or "volumeAttachment" not in body:
        raise ApiError.nova(400, "Invalid input for field/attribute volumeAttachment. Value: "
                            f"{body}. 'volumeAttachment' is a required property")  # fmt: skip
    data = body["volumeAttachment"]
    if not isinstance(data, dict):
        raise ApiError.nova(400, f"Invalid input for field/attribute volumeAttachment. Value: "
                            f"{data}. {data!r} is not of type 'object'")  # fmt: skip
    allowed = {"volumeId", "device"}
    if mv(req, (2, 49)):
        allowed.add("tag")
    if mv(req, (2, 79)):
        allowed.add("delete_on_termination")
    unexpected = [k for k in data if k not in allowed]
    if unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        raise ApiError.nova(
            400,
            f"Invalid input for field/attribute volumeAttachment. Value: {data}. Additional "
            f"properties are not allowed ({names} "
            f"{'was' if len(unexpected) == 1 else 'were'} unexpected)",
        )
    if "volumeId" not in data:
        raise ApiError.nova(400, "Invalid input for field/attribute volumeAttachment. Value: "
                            f"{data}. 'volumeId' is a required property")  # fmt: skip
    volume_id = data["volumeId"]
    if not isinstance(volume_id, str) or not is_uuid(volume_id):
        raise ApiError.nova(400, f"Invalid input for field/attribute volumeId. Value: "
                            f"{volume_id}. {volume_id!r} is not a 'uuid'")  # fmt: skip
    device = data.get("device")
    if device is not None and (not isinstance(device, str) or not DEVICE_RE.match(device)):
        raise ApiError.nova(400, f"Invalid input for field/attribute device. Value: {device}. "
                            f"{device!r} does not match '{DEVICE_RE.pattern}'")  # fmt: skip
    flag = data.get("delete_on_termination", False)
    if not isinstance(flag, bool):
        raise ApiError.nova(400, "Invalid input for field/attribute delete_on_termination. "
                            f"Value: {flag}. {flag!r} is not of type 'boolean'")  # fmt: skip
    return data


def pick_device(used: list[dict[str, Any]], requested: str | None) -> str:
    """Nova's get_device_name_for_instance: the next free letter after the root disk; a
    requested name keeps its letter (with the server's own prefix) unless that one is taken."""
    letters = {ROOT_LETTER}
    for bdm in used:
        match = DEVICE_RE.match(bdm["device"] or "")
        if match:
            letters.add(match.group(2))
    if requested:
        match = DEVICE_RE.match(requested)
        letter = match.group(2) if match else ""
        if letter in letters:
            raise ApiError.nova(409, f"The supplied device path ({requested}) is in use.")
        return DEVICE_PREFIX + letter
    candidates = list(string.ascii_lowercase)
    candidates += [a + b for a in string.ascii_lowercase for b in string.ascii_lowercase]
    letter = next(c for c in candidates if c not in letters)
    return DEVICE_PREFIX + letter


def cinder_refusal(reason: str) -> ApiError:
    """A 400 Nova relays from Cinder's attachment API (cinderclient's text, request id and all)."""
    return ApiError.nova(400, f"Invalid input received: Invalid volume: {reason} (HTTP 400) "
                         f"(Request-ID: req-{new_id()})")  # fmt: skip


def attach(sim: CloudSim, req: Request, server_id: str) -> Response:
    server = load_server(sim, req, server_id)
    data = validate_attach_body(req)
    check_state(server, "attach_volume", req)
    volume_id = data["volumeId"]
    volume = load_volume(sim, req, volume_id)  # as the caller: another project's is a 404
    holders = [
        b for b in sim.store.find("bdm", region=req.region, volume_id=volume_id)
        if not b.get("detach_at") or b["detach_at"] > time.time()
    ]  # fmt: skip
    if holders:
        servers = " ".join(b["server_id"] for b in holders)
        raise ApiError.nova(
            400, f"Invalid volume: volume {volume_id} is already attached to instances: {servers}"
        )
    device = pick_device(server_volumes(sim, req.region, server["id"]), data.get("device"))
    if "error" in volume["status"]:
        raise cinder_refusal(
            "Volume attachments can not be created if the volume is in an error state. The "
            f"Volume {volume_id} currently has a status of: {volume['status']} "
        )
    if volume["status"] not in ("available", "downloading"):
        raise cinder_refusal(
            f"Volume {volume_id} status must be available or downloading to reserve, but the "
            f"current status is {volume['status']}."
        )
    attachment_id = new_id()
    bdm = {
        "id": new_id(),
        "server_id": server["id"],
        "volume_id": volume_id,
        "device": device,
        "tag": data.get("tag"),
        "delete_on_termination": bool(data.get("delete_on_termination", False)),
        "attachment_id": attachment_id,
        "detach_at": None,
        "_region": req.region,
    }
    sim.store.put("bdm", bdm, region=req.region, project_id=server["tenant_id"])
    volume["status"] = "reserved"
    volume["_updated"] = time.time()
    volume["attachments"].append(
        {
            "attachment_id": attachment_id,
            "server_id": server["id"],
            "device": device,
            "attach_status": "reserved",
            "attached_at": None,
            "host_name": HOST_NAME,
        }
    )
    schedule(
        sim,
        volume,
        {"after": 0.5, "status": "attaching"},
        {"after": 1.0, "attach": attachment_id},
    )
    save(sim, volume)
    if mv(req, (2, 101)):
        return Response(202)  # from 2.101 Nova casts the attach and answers without a body
    out: dict[str, Any] = {"id": volume_id, "serverId": server["id"], "volumeId": volume_id,
                           "device": device}  # fmt: skip
    if mv(req, (2, 70)):
        out["tag"] = bdm["tag"]
    if mv(req, (2, 79)):
        out["delete_on_termination"] = bdm["delete_on_termination"]
    return Response(200, {"volumeAttachment": out})


def detach(sim: CloudSim, req: Request, server_id: str, volume_id: str) -> Response:
    server = load_server(sim, req, server_id)
    check_state(server, "detach_volume", req)
    volume = load_volume(sim, req, volume_id)
    bdm = next(
        (b for b in server_volumes(sim, req.region, server["id"]) if b["volume_id"] == volume_id),
        None,
    )
    if bdm is None:
        raise not_attached(server_id, volume_id)
    if bdm.get("boot_index") == 0:
        raise ApiError.nova(400, "Cannot detach a root device volume")
    if volume["status"] != "in-use":
        # Cinder's begin_detaching refuses; Nova wraps cinderclient's error in its own.
        raise ApiError.nova(
            400,
            "Invalid volume: Invalid input received: Invalid volume: Unable to detach volume. "
            "Volume status must be 'in-use' and attach_status must be 'attached' to detach. "
            f"(HTTP 400) (Request-ID: req-{new_id()})",
        )
    volume["status"] = "detaching"
    volume["_updated"] = time.time()
    schedule(sim, volume, {"after": 1.0, "detach": bdm["attachment_id"]})
    bdm["detach_at"] = next(
        s["at"] for s in volume["_steps"] if s.get("detach") == bdm["attachment_id"]
    )
    sim.store.put("bdm", bdm, region=req.region, project_id=server["tenant_id"])
    save(sim, volume)
    return Response(202)


# ---- boot from volume: what Nova's compute host does -----------------------------------------
def build_aborted(server: dict[str, Any], reason: str) -> str:
    """The fault of a build Nova's compute host gives up (BuildAbortException)."""
    return f"Build of instance {server['id']} aborted: {reason}"


def cinder_reason(err: ApiError) -> str:
    """How Nova quotes Cinder refusing the volume: an over-quota 413 by its message alone, any
    other (cinderclient's BadRequest, wrapped in Nova's InvalidInput) with code and request id."""
    detail = next(iter(err.body.values()), {}) if isinstance(err.body, dict) else {}
    message = str(detail.get("message", "")) if isinstance(detail, dict) else str(detail)
    if err.status == 413:
        return message
    return f"Invalid input received: {message} (HTTP {err.status}) (Request-ID: req-{new_id()})"


def not_created(volume_id: str, seconds_to_fail: float) -> str:
    """Nova's VolumeNotCreated, counting the seconds and attempts its polling (at once, then
    every 3 s) takes to see a volume that fails `seconds_to_fail` in: the lab's `3 seconds or 2
    attempts` for any failure within 3 s."""
    attempts = 1 + math.ceil(seconds_to_fail / NOVA_POLL_SECONDS) if seconds_to_fail > 0 else 1
    return (
        f"Volume {volume_id} did not finish being created even after we waited "
        f"{NOVA_POLL_SECONDS * (attempts - 1)} seconds or {attempts} attempts. And its status "
        "is error."
    )


def build_boot_volume(
    sim: CloudSim,
    req: Request,
    server: dict[str, Any],
    image: dict[str, Any],
    size: int,
    delete_on_termination: bool,
) -> None:
    """Make a new server's boot volume as Nova's compute host does: Cinder creates it from the
    image in the server's project, as the same user (its checks and quota apply), Nova waits for
    it, then attaches it. The build only finishes once that is done (`_ready_at` moves past
    it); a refusal or a failed copy aborts it, as Nova's `_build_resources` does."""
    vtype = default_type(sim, req.region)
    try:
        check_image_fits(image, size)
        block_storage_quota.check_create(sim, req, size, vtype["name"])
    except ApiError as err:  # Nova learns this on the host: the API has already said 202
        server["_build_error"] = build_aborted(server, cinder_reason(err))
        return
    volume = new_volume(req, name="", description="", size=size, vtype=vtype, metadata={})
    if schedule_image_copy(sim, volume, image):
        attach_boot_volume(sim, server, volume, delete_on_termination)
    else:
        abandon_boot_volume(sim, server, volume, delete_on_termination)
    save(sim, volume)
    server["_ready_at"] = max([server["_ready_at"], *(s["at"] for s in volume["_steps"])])


def attach_boot_volume(
    sim: CloudSim, server: dict[str, Any], volume: dict[str, Any], delete_on_termination: bool
) -> None:
    """Once the volume is `available`, Nova records it on the server's root mapping (from then
    it is in `volumes_attached`) and attaches it as /dev/vda: `attaching`, then `in-use`. The
    steps are marked `build`: a server deleted before they are done cancels them."""
    attachment_id = new_id()
    volume["attachments"].append(
        {
            "attachment_id": attachment_id,
            "server_id": server["id"],
            "device": ROOT_DEVICE,
            "attach_status": "reserved",
            "attached_at": None,
            "host_name": HOST_NAME,
        }
    )
    available_at = next(s["at"] for s in volume["_steps"] if s.get("status") == "available")
    schedule(
        sim,
        volume,
        {"after": 1.25, "status": "attaching", "build": attachment_id},
        {"after": 1.5, "attach": attachment_id, "build": attachment_id},
    )
    bdm = {
        "id": new_id(),
        "server_id": server["id"],
        "volume_id": volume["id"],
        "device": ROOT_DEVICE,
        "tag": None,
        "delete_on_termination": delete_on_termination,
        "attachment_id": attachment_id,
        "detach_at": None,
        "shown_at": available_at,
        "boot_index": 0,
        "_region": server["_region"],
    }
    sim.store.put("bdm", bdm, region=server["_region"], project_id=server["tenant_id"])


def abandon_boot_volume(
    sim: CloudSim, server: dict[str, Any], volume: dict[str, Any], delete_on_termination: bool
) -> None:
    """The copy failed (`error`): Nova's wait sees it, deletes the volume when it was to go with
    the server, and aborts the build with VolumeNotCreated; the lab's servers end so."""
    if delete_on_termination:
        schedule(sim, volume, {"after": 1.5, "status": "deleting"}, {"after": 2.0, "gone": True})
    message = not_created(volume["id"], volume_time(sim))
    server["_build_error"] = build_aborted(server, message)


def register(router: Router) -> None:
    add = router.add
    path = "/v2.1/servers/{server_id}/os-volume_attachments"
    add("GET", "compute", path, "compute.volume_attachment.list", list_attachments)
    add("POST", "compute", path, "compute.volume_attachment.create", attach)
    add("GET", "compute", path + "/{volume_id}", "compute.volume_attachment.get", get_attachment)
    add("DELETE", "compute", path + "/{volume_id}", "compute.volume_attachment.delete", detach)
