"""Cinder quotas: quota sets (with usage and defaults), absolute limits, and the checks that
refuse a create or an extend over them with Cinder's 413 `overLimit`.

Limits live in cloudsim's quota store under the section `volume` (seed: `quotas: {volume:
{...}}`), per region and project like Nova's and Neutron's. Besides the global keys, every
volume type of the region has its own `volumes_<type>`, `gigabytes_<type>` and
`snapshots_<type>` (default -1, unlimited), as Cinder has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudsim import quota
from cloudsim.app import CloudSim
from cloudsim.block_storage import (
    DB_MAX_INT,
    GENERIC_400,
    bad,
    forbidden,
    invalid_input,
    mv,
    parse_bool,
    project_volumes,
    region_types,
)
from cloudsim.web import ApiError, Request, Response

GLOBAL_KEYS = ("volumes", "per_volume_gigabytes", "snapshots", "gigabytes", "backups",
               "backup_gigabytes")  # fmt: skip
PER_TYPE = ("volumes", "gigabytes", "snapshots")
NON_QUOTA_KEYS = ("tenant_id", "id")


def keys(sim: CloudSim, region: str) -> list[str]:
    """Quota keys in the order Cinder lists them: global, per type, then groups."""
    per_type = [f"{k}_{t['name']}" for t in region_types(sim, region) for k in PER_TYPE]
    return [*GLOBAL_KEYS, *per_type, "groups"]


def defaults(sim: CloudSim, region: str) -> dict[str, int]:
    base = quota.defaults(sim, "volume")
    return {k: int(base.get(k, -1)) for k in keys(sim, region)}


def limits(sim: CloudSim, region: str, project_id: str) -> dict[str, int]:
    values = defaults(sim, region)
    stored = quota.limits(sim, region, project_id, "volume")
    values.update({k: int(v) for k, v in stored.items() if k in values})
    return values


def usage(sim: CloudSim, region: str, project_id: str) -> dict[str, int]:
    """What the project's volumes consume (a volume being deleted still counts, as in Cinder,
    until it is gone)."""
    used = dict.fromkeys(keys(sim, region), 0)
    for volume in project_volumes(sim, region, project_id):
        used["volumes"] += 1
        used["gigabytes"] += volume["size"]
        for key, amount in ((f"volumes_{volume['volume_type']}", 1),
                            (f"gigabytes_{volume['volume_type']}", volume["size"])):  # fmt: skip
            if key in used:
                used[key] += amount
    return used


def over_limit(message: str) -> ApiError:
    err = ApiError.cinder(413, message)
    err.body["overLimit"]["retryAfter"] = "0"
    err.headers["Retry-After"] = "0"
    return err


def check_per_volume(limit: int, size: int) -> None:
    if 0 <= limit < size:
        raise over_limit(f"VolumeSizeExceedsLimit: Requested volume size {size}G is larger than "
                         f"maximum allowed limit {limit}G.")  # fmt: skip


def check_create(sim: CloudSim, req: Request, size: int, type_name: str) -> None:
    """Cinder's QuotaReserveTask: the per-volume limit first, then every reservation at once;
    the first exceeded quota in sorted order names the refusal."""
    limit = limits(sim, req.region, req.ctx.project_id)
    check_per_volume(limit["per_volume_gigabytes"], size)
    used = usage(sim, req.region, req.ctx.project_id)
    deltas = {"volumes": 1, "gigabytes": size, f"volumes_{type_name}": 1,
              f"gigabytes_{type_name}": size}  # fmt: skip
    overs = sorted(k for k, d in deltas.items() if k in limit and not quota.allows(limit[k],
                   used[k], d))  # fmt: skip
    for over in overs:
        if "gigabytes" in over:
            raise over_limit(
                f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
                f"{over} quota. Requested {size}G, quota is {limit[over]}G and {used[over]}G has "
                "been consumed."
            )
        raise over_limit(f"VolumeLimitExceeded: Maximum number of volumes allowed "
                         f"({limit[over]}) exceeded for quota '{over}'.")  # fmt: skip


def check_extend(sim: CloudSim, req: Request, volume: dict[str, Any], new_size: int) -> None:
    """Cinder's _extend: the per-volume limit on the new size, then the growth against
    `gigabytes` and `gigabytes_<type>`; whichever refuses, the message quotes the global
    `gigabytes` numbers (as the lab's Cinder does)."""
    region, project = volume["_region"], volume["project_id"]
    limit = limits(sim, region, project)
    check_per_volume(limit["per_volume_gigabytes"], new_size)
    used = usage(sim, region, project)
    growth = new_size - volume["size"]
    for key in ("gigabytes", f"gigabytes_{volume['volume_type']}"):
        if key in limit and not quota.allows(limit[key], used[key], growth):
            raise over_limit(
                "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
                f"gigabytes quota. Requested {growth}G, quota is {limit['gigabytes']}G and "
                f"{used['gigabytes']}G has been consumed."
            )


# ---- API -----------------------------------------------------------------------------------
def may_show(req: Request, project_id: str) -> None:
    if not req.ctx.is_admin and project_id != req.ctx.project_id:
        raise forbidden("volume_extension:quotas:show")


def get_quota_set(sim: CloudSim, req: Request, project_id: str) -> Response:
    may_show(req, project_id)
    values: dict[str, Any] = dict(limits(sim, req.region, project_id))
    if parse_bool(req.arg("usage") or "false"):
        used = usage(sim, req.region, project_id)
        values = {k: {"limit": v, "in_use": used.get(k, 0), "reserved": 0}
                  for k, v in values.items()}  # fmt: skip
    values["id"] = project_id
    return Response(200, {"quota_set": values})


def get_defaults(sim: CloudSim, req: Request, project_id: str) -> Response:
    may_show(req, project_id)
    return Response(200, {"quota_set": {**defaults(sim, req.region), "id": project_id}})


def update_quota_set(sim: CloudSim, req: Request, project_id: str) -> Response:
    """Admin only; validated as Cinder's schema, then no limit below what is in use."""
    if not req.ctx.is_admin:
        raise forbidden("volume_extension:quotas:update")
    body = req.body
    if not isinstance(body, dict) or "quota_set" not in body:
        raise bad("'quota_set' is a required property")
    extra = [k for k in body if k != "quota_set"]
    if extra:
        names = ", ".join(repr(k) for k in extra)
        raise invalid_input("body", body, f"Additional properties are not allowed ({names} "
                            f"{'was' if len(extra) == 1 else 'were'} unexpected)")  # fmt: skip
    changes = body["quota_set"]
    if not isinstance(changes, dict):
        raise invalid_input("quota_set", changes, f"{changes!r} is not of type 'object'")
    if not changes:
        raise invalid_input("quota_set", changes, "{} should be non-empty")
    known = keys(sim, req.region)
    bad_keys = []
    for key, value in changes.items():
        if key in NON_QUOTA_KEYS:
            continue
        if key not in known:
            bad_keys.append(key)
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise bad(f"{key} must be an integer") from None
        if number < -1:
            raise bad(f"{key} must be >= -1")
        if number > DB_MAX_INT:
            raise bad(f"{key} must be <= {DB_MAX_INT}")
    if bad_keys:
        raise bad(f"Invalid input received: Bad key(s) in quota set: {', '.join(bad_keys)}")
    used = usage(sim, req.region, project_id)
    valid: dict[str, int] = {}
    for key, value in changes.items():
        if key in NON_QUOTA_KEYS:
            continue
        if key != "per_volume_gigabytes":
            if not isinstance(value, int) or isinstance(value, bool):
                # Cinder compares the raw value with the usage: a string such as "7" passes the
                # schema, then fails there, and the answer is a bare 400.
                raise bad(GENERIC_400)
            if value != -1 and value < used.get(key, 0):
                raise bad(f"Quota {key} limit must be equal or greater than existing resources. "
                          f"Current usage is {used.get(key, 0)} and the requested limit is "
                          f"{value}.")  # fmt: skip
        valid[key] = int(value)
    quota.update(sim, req.region, project_id, "volume", valid)
    # Cinder's answer to an update has no `id`.
    return Response(200, {"quota_set": limits(sim, req.region, project_id)})


def get_limits(sim: CloudSim, req: Request) -> Response:
    project = req.ctx.project_id
    if req.ctx.is_admin and req.arg("project_id") and mv(req, (3, 39)):
        project = req.arg("project_id") or project
    limit = limits(sim, req.region, project)
    used = usage(sim, req.region, project)
    absolute = {
        "maxTotalVolumes": limit["volumes"],
        "maxTotalSnapshots": limit["snapshots"],
        "maxTotalVolumeGigabytes": limit["gigabytes"],
        "maxTotalBackups": limit["backups"],
        "maxTotalBackupGigabytes": limit["backup_gigabytes"],
        "totalVolumesUsed": used["volumes"],
        "totalGigabytesUsed": used["gigabytes"],
        "totalSnapshotsUsed": 0,
        "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0,
    }
    return Response(200, {"limits": {"rate": [], "absolute": absolute}})


def register(add: Callable[[str, str, str, Callable[..., Response]], None]) -> None:
    """`add` is block_storage's helper that serves each path with and without a project id."""
    add("GET", "/os-quota-sets/{project_id}", "block-storage.quota.get", get_quota_set)
    add("GET", "/os-quota-sets/{project_id}/defaults", "block-storage.quota.get", get_defaults)
    add("PUT", "/os-quota-sets/{project_id}", "block-storage.quota.update", update_quota_set)
    add("GET", "/limits", "block-storage.limits.get", get_limits)
