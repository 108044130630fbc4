"""Nova limits, quota sets and key pairs."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_ssh_public_key,
)

from cloudsim import quota
from cloudsim.app import CloudSim, iso
from cloudsim.compute import mv
from cloudsim.compute_servers import quota_used
from cloudsim.web import ApiError, Request, Response, Router

OLD_QUOTA_KEYS = ("floating_ips", "fixed_ips", "security_groups", "security_group_rules")
FILE_KEYS = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")


def visible_quota(req: Request, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if mv(req, (2, 57)):
        for key in FILE_KEYS:
            out.pop(key, None)
    if not mv(req, (2, 36)):
        for key in OLD_QUOTA_KEYS:
            out[key] = -1
    return out


def limits(sim: CloudSim, req: Request) -> Response:
    project = req.arg("tenant_id") if req.ctx.is_admin and req.arg("tenant_id") else None
    project = project or req.ctx.project_id
    limit = quota.limits(sim, req.region, project, "compute")
    used = quota_used(sim, req.region, project)
    absolute = {
        "maxTotalInstances": limit["instances"],
        "maxTotalCores": limit["cores"],
        "maxTotalRAMSize": limit["ram"],
        "maxTotalKeypairs": limit["key_pairs"],
        "maxServerMeta": limit["metadata_items"],
        "maxServerGroups": limit["server_groups"],
        "maxServerGroupMembers": limit["server_group_members"],
        "totalInstancesUsed": used["instances"],
        "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"],
        "totalServerGroupsUsed": 0,
    }
    if not mv(req, (2, 57)):
        absolute.update(maxPersonality=5, maxPersonalitySize=10240, maxImageMeta=128)
    return Response(200, {"limits": {"absolute": absolute, "rate": []}})


def check_project(sim: CloudSim, req: Request, project_id: str) -> None:
    if project_id != req.ctx.project_id and not req.ctx.is_admin:
        raise ApiError.nova(
            403, "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed."
        )


def get_quota_set(sim: CloudSim, req: Request, project_id: str, detail: bool = False) -> Response:
    check_project(sim, req, project_id)
    values = visible_quota(req, quota.limits(sim, req.region, project_id, "compute"))
    if detail:
        used = quota_used(sim, req.region, project_id)
        values = {
            k: {"limit": v, "in_use": used.get(k, 0), "reserved": 0} for k, v in values.items()
        }
    values["id"] = project_id
    return Response(200, {"quota_set": values})


def get_quota_defaults(sim: CloudSim, req: Request, project_id: str) -> Response:
    values = visible_quota(req, quota.defaults(sim, "compute"))
    values["id"] = project_id
    return Response(200, {"quota_set": values})


QUOTA_VALUE_RE = re.compile(r"^-?[0-9]+$")


def update_quota_set(sim: CloudSim, req: Request, project_id: str) -> Response:
    if not req.ctx.is_admin:
        raise ApiError.nova(
            403, "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed."
        )
    body = dict((req.body or {}).get("quota_set") or {})
    changes = dict(body)
    force = str(changes.pop("force", False)).lower() in ("true", "1", "yes")
    unknown = [k for k in changes if k not in quota.COMPUTE_DEFAULTS]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise ApiError.nova(
            400,
            f"Invalid input for field/attribute quota_set. Value: {body}. Additional properties "
            f"are not allowed ({names} {'was' if len(unknown) == 1 else 'were'} unexpected)",
        )
    for key, value in changes.items():
        if isinstance(value, bool) or not QUOTA_VALUE_RE.match(str(value)):
            raise ApiError.nova(
                400,
                f"Invalid input for field/attribute {key}. Value: {value}. "
                f"{value!r} does not match '^-?[0-9]+$'",
            )
        if int(value) < -1:
            raise ApiError.nova(
                400,
                f"Invalid input for field/attribute {key}. Value: {value}. "
                f"{value} is less than the minimum of -1",
            )
    if not force:
        # Nova refuses a limit below what is in use (unless forced), in the order given.
        used = quota_used(sim, req.region, project_id)
        for key, value in changes.items():
            limit = int(value)
            if limit != -1 and limit < used.get(key, 0):
                raise ApiError.nova(
                    400,
                    f"Quota limit {limit} for {key} must be greater than or equal to already "
                    f"used and reserved {used[key]}.",
                )
    values = quota.update(sim, req.region, project_id, "compute", changes)
    return Response(200, {"quota_set": visible_quota(req, values)})


def keypair_key(req: Request, name: str) -> str:
    return f"{req.region}/{req.ctx.user_id}/{name}"


def key_blob(public_key: str) -> bytes:
    """The key's bytes, as Nova reads them; anything that is not an SSH public key is a 400."""
    try:
        load_ssh_public_key(public_key.encode())
        return base64.b64decode(public_key.split(" ")[1])
    except Exception:  # Nova answers the same for every way a key can be wrong
        raise ApiError.nova(
            400, "Keypair data is invalid: failed to generate fingerprint"
        ) from None


def generated_keypair(name: str) -> tuple[str, str]:
    """A fresh ed25519 pair, for the microversions (< 2.92) where Nova generates one."""
    private = ed25519.Ed25519PrivateKey.generate()
    private_text = private.private_bytes(
        Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
    ).decode()
    public_text = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    return private_text, f"{public_text.decode()} {name}"


def keypair_view(keypair: dict[str, Any], with_secret: bool = False) -> dict[str, Any]:
    hidden = ("id", "private_key")
    out = {k: v for k, v in keypair.items() if not k.startswith("_") and k not in hidden}
    if with_secret and keypair.get("private_key"):
        out["private_key"] = keypair["private_key"]
    return out


def list_keypairs(sim: CloudSim, req: Request) -> Response:
    prefix = keypair_key(req, "")
    items = [
        k for k in sim.store.list("keypair", region=req.region) if k["_key"].startswith(prefix)
    ]
    return Response(200, {"keypairs": [{"keypair": keypair_view(k)} for k in items]})


def create_keypair(sim: CloudSim, req: Request) -> Response:
    data = (req.body or {}).get("keypair") or {}
    name = data.get("name")
    if not name:
        raise ApiError.nova(400, "Invalid input for field/attribute name.")
    key = keypair_key(req, name)
    if sim.store.get("keypair", key):
        raise ApiError.nova(409, f"Key pair '{name}' already exists.")
    public_key = data.get("public_key")
    private_key = None
    if not public_key:
        if mv(req, (2, 92)):
            raise ApiError.nova(400, "Invalid input for field/attribute keypair. "
                                "'public_key' is a required property")  # fmt: skip
        private_key, public_key = generated_keypair(name)
    digest = hashlib.md5(key_blob(public_key), usedforsecurity=False).hexdigest()
    keypair = {
        "id": key,
        "_key": key,
        "name": name,
        "public_key": public_key,
        "fingerprint": ":".join(digest[i : i + 2] for i in range(0, 32, 2)),
        "user_id": req.ctx.user_id,
        "type": data.get("type", "ssh"),
        "created_at": iso(),
        "private_key": private_key,
    }
    sim.store.put("keypair", keypair, region=req.region, project_id=req.ctx.project_id or "")
    return Response(200 if not mv(req, (2, 2)) else 201, {"keypair": keypair_view(keypair, True)})


def get_keypair(sim: CloudSim, req: Request, name: str) -> Response:
    keypair = sim.store.get("keypair", keypair_key(req, name))
    if not keypair:
        raise ApiError.nova(404, f"Keypair {name} not found for user {req.ctx.user_id}")
    return Response(200, {"keypair": keypair_view(keypair)})


def delete_keypair(sim: CloudSim, req: Request, name: str) -> Response:
    if not sim.store.delete("keypair", keypair_key(req, name)):
        raise ApiError.nova(404, f"Keypair {name} not found for user {req.ctx.user_id}")
    return Response(202 if not mv(req, (2, 2)) else 204)


def availability_zones(sim: CloudSim, req: Request) -> Response:
    zone = {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}
    return Response(200, {"availabilityZoneInfo": [zone]})


def availability_zones_detail(sim: CloudSim, req: Request) -> Response:
    """Zones with their hosts and services: admins only, by Nova's default policy."""
    if not req.ctx.is_admin:
        raise ApiError.nova(403, "Policy doesn't allow os_compute_api:os-availability-zone:"
                            "detail to be performed.")  # fmt: skip
    up = {"available": True, "active": True, "updated_at": iso(micro=True)[:-1]}
    internal = {"cloudsim": {"nova-conductor": up, "nova-scheduler": up}}
    zones = [
        {"zoneName": "internal", "zoneState": {"available": True}, "hosts": internal},
        {"zoneName": "nova", "zoneState": {"available": True},
         "hosts": {"cloudsim": {"nova-compute": up}}},
    ]  # fmt: skip
    return Response(200, {"availabilityZoneInfo": zones})


def register(router: Router) -> None:
    add = router.add
    add("GET", "compute", "/v2.1/limits", "compute.limits.get", limits)
    path = "/v2.1/os-quota-sets/{project_id}"
    add("GET", "compute", path, "compute.quota.get", get_quota_set)
    add("GET", "compute", path + "/detail", "compute.quota.get",
        lambda sim, req, project_id: get_quota_set(sim, req, project_id, detail=True))  # fmt: skip
    add("PUT", "compute", path, "compute.quota.update", update_quota_set)
    add("GET", "compute", path + "/defaults", "compute.quota.get", get_quota_defaults)
    add("GET", "compute", "/v2.1/os-keypairs", "compute.keypair.list", list_keypairs)
    add("POST", "compute", "/v2.1/os-keypairs", "compute.keypair.create", create_keypair)
    add("GET", "compute", "/v2.1/os-keypairs/{name}", "compute.keypair.get", get_keypair)
    add("DELETE", "compute", "/v2.1/os-keypairs/{name}", "compute.keypair.delete", delete_keypair)
    add("GET", "compute", "/v2.1/os-availability-zone", "compute.availability_zone.list",
        availability_zones)  # fmt: skip
    add("GET", "compute", "/v2.1/os-availability-zone/detail", "compute.availability_zone.list",
        availability_zones_detail)  # fmt: skip
