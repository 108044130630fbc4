"""Cinder v3 subset: versions and microversions, volume types, volumes, their actions.

Volumes change state lazily, like servers: every transition Cinder's volume service would make
later (`creating` -> `available`, `extending` -> back, `deleting` -> gone, an attachment
completing or going) is a step with a due time stored on the volume, applied by `settle()` the
next time anything reads the volume. One knob, `volume_time` (seconds), sets how long each takes.

Nova's side of attachments (`/servers/{id}/os-volume_attachments`) is in
`cloudsim/volume_attachments.py`; quota sets and limits in `cloudsim/block_storage_quota.py`.
The messages are the lab's Cinder's (2026.2, API 3.71), word for word.
"""

from __future__ import annotations

import ast
import json
import math
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from cloudsim.app import CloudSim, new_id, stable_id
from cloudsim.web import ApiError, Request, Response, Router

SERVICE = "block-storage"
MIN_VERSION = (3, 0)
MAX_VERSION = (3, 71)  # what the lab's Cinder advertises, and openstacksdk's maximum
MAX_LIMIT = 1000  # Cinder's osapi_max_limit
DB_MAX_INT = 0x7FFFFFFF
DEFAULT_TYPE = "__DEFAULT__"
ZONE = "nova"
HOST = "cloudsim@lvmdriver-1#lvmdriver-1"
GENERIC_400 = (
    "The server could not comply with the request since it is either malformed or otherwise "
    "incorrect."
)
DELETE_REFUSED = (
    "Invalid volume: Volume status must be available or error or error_restoring or "
    "error_extending or error_managing and must not be migrating, attached, belong to a group, "
    "have snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
    "transfer."
)
DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
#: Filters the lab's resource_filters.json allows non-admins on volume lists.
FILTERS = ("name", "status", "metadata", "bootable", "migration_status", "availability_zone",
           "group_id", "size", "created_at", "updated_at", "consumes_quota")  # fmt: skip
LIST_PARAMS = ("limit", "marker", "offset", "sort", "sort_key", "sort_dir", "with_count")
SORT_FIELDS = {"id": "id", "name": "name", "display_name": "name", "size": "size",
               "status": "status", "created_at": "_created", "updated_at": "_updated",
               "availability_zone": "availability_zone", "bootable": "bootable",
               "user_id": "user_id", "project_id": "project_id", "description": "description",
               "volume_type_id": "volume_type_id"}  # fmt: skip
CREATE_KEYS = {"name", "description", "display_name", "display_description", "volume_type",
               "metadata", "snapshot_id", "source_volid", "consistencygroup_id", "size",
               "availability_zone", "multiattach", "image_id", "imageRef"}  # fmt: skip
META_KEY_RE = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")
USER_VISIBLE_SPECS = ("RESKEY:availability_zones", "multiattach", "replication_enabled")
GB = 1024**3


# ---- microversions and errors --------------------------------------------------------------
def fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def negotiate(req: Request) -> tuple[int, int]:
    """Read `OpenStack-API-Version: volume X.Y` the way Cinder does (3.0 when absent)."""
    header = req.header("openstack-api-version")
    if not header:
        return MIN_VERSION
    raw = ""
    for part in header.split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == "volume":
            raw = words[1]
    if not raw:
        # The lab's Cinder answers a header that names no `volume` version with a bare 400.
        raise ApiError.cinder(400, GENERIC_400)
    if raw.lower() == "latest":
        return MAX_VERSION
    match = re.fullmatch(r"(\d+)\.(\d+)", raw.strip())
    if not match:
        raise ApiError.cinder(400, f"API Version String {raw} is of invalid format. Must be of "
                              "format MajorNum.MinorNum.")  # fmt: skip
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        headers = {"Content-Type": "application/json"}
        if version[0] >= 3:  # Cinder echoes the version asked for, except below 3
            headers.update({"OpenStack-API-Version": f"volume {raw}",
                            "Vary": "OpenStack-API-Version"})  # fmt: skip
        raise ApiError(
            406,
            {"computeFault": {"code": 406, "message": f"Version {raw} is not supported by the "
                              f"API. Minimum is {fmt(MIN_VERSION)} and maximum is "
                              f"{fmt(MAX_VERSION)}."}},
            headers,
        )  # fmt: skip
    return version


def mv(req: Request, at_least: tuple[int, int]) -> bool:
    return (req.microversion or MIN_VERSION) >= at_least


def bad(message: str) -> ApiError:
    return ApiError.for_service(SERVICE, 400, message)


def invalid_input(field: str, value: Any, why: str) -> ApiError:
    return bad(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def forbidden(policy: str) -> ApiError:
    return ApiError.for_service(SERVICE, 403, f"Policy doesn't allow {policy} to be performed.")


def require_writer(req: Request, policy: str) -> None:
    """Cinder's secure-RBAC defaults: readers may look, members and admins may change."""
    if not req.ctx.is_admin and "member" not in req.ctx.roles:
        raise forbidden(policy)


# ---- URLs ----------------------------------------------------------------------------------
def url_project(req: Request) -> str:
    """The project id in the URL (`/v3/{project_id}/...`, the `volumev3` endpoint), or ''."""
    parts = req.path.split("/")
    # /<region>/block-storage/v3/<maybe project>/...
    if len(parts) > 4 and parts[3] == "v3" and parts[4] == (req.ctx.project_id if req.ctx else ""):
        return parts[4]
    return ""


def api_root(req: Request) -> str:
    return f"{req.base_url}/{req.region}/{SERVICE}"


def links(req: Request, collection: str, obj_id: str) -> list[dict[str, str]]:
    project = url_project(req)
    scoped = f"/{project}" if project else ""
    return [
        {"rel": "self", "href": f"{api_root(req)}/v3{scoped}/{collection}/{obj_id}"},
        {"rel": "bookmark", "href": f"{api_root(req)}{scoped}/{collection}/{obj_id}"},
    ]


def scoped(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Serve a route under both `/v3/...` and `/v3/{project_id}/...`, as Cinder does; a project
    id in the URL that is not the token's is Cinder's 400 `Malformed request url`."""

    def run(sim: CloudSim, req: Request, url_project_id: str | None = None, **params: str):
        if url_project_id is not None and url_project_id != req.ctx.project_id:
            raise bad("Malformed request url")
        return handler(sim, req, **params)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def cinder_time(ts: float | None, micro: bool = False) -> str | None:
    """Cinder's timestamps: naive UTC, whole seconds as stored by its database."""
    if ts is None:
        return None
    if micro:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.000000")


# ---- versions ------------------------------------------------------------------------------
def version_list(req: Request) -> dict[str, Any]:
    doc = {
        "id": "v3.0",
        "status": "CURRENT",
        "version": fmt(MAX_VERSION),
        "min_version": fmt(MIN_VERSION),
        "updated": "2023-08-31T00:00:00Z",
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": f"{api_root(req)}/v3/"},
        ],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
        ],
    }
    return {"versions": [doc]}


def versions(sim: CloudSim, req: Request) -> Response:
    return Response(300, version_list(req))


def version(sim: CloudSim, req: Request) -> Response:
    # Cinder answers /v3 with the same list as the root, but 200.
    return Response(200, version_list(req))


# ---- volume types --------------------------------------------------------------------------
def region_types(sim: CloudSim, region: str) -> list[dict[str, Any]]:
    return sim.store.list("volume_type", region=region)


def default_type(sim: CloudSim, region: str) -> dict[str, Any]:
    types = region_types(sim, region)
    return next((t for t in types if t.get("_default")), None) or next(
        t for t in types if t["name"] == DEFAULT_TYPE
    )


def type_visible(req: Request, vtype: dict[str, Any]) -> bool:
    return req.ctx.is_admin or bool(vtype.get("is_public", True))


def find_type(sim: CloudSim, req: Request, ref: str) -> dict[str, Any]:
    """By id, else by name, as Cinder's get_by_name_or_id; 404 in Cinder's words."""
    types = [t for t in region_types(sim, req.region) if type_visible(req, t)]
    if is_uuid(ref):
        found = next((t for t in types if t["id"] == ref), None)
        if not found:
            raise ApiError.cinder(404, f"Volume type {ref} could not be found.")
        return found
    found = next((t for t in types if t["name"] == ref), None)
    if not found:
        raise ApiError.cinder(404, f"Volume type with name {ref} could not be found.")
    return found


def type_view(req: Request, vtype: dict[str, Any], access: bool = True) -> dict[str, Any]:
    specs = dict(vtype.get("extra_specs") or {})
    if not req.ctx.is_admin:
        specs = {k: v for k, v in specs.items() if k in USER_VISIBLE_SPECS}
    out: dict[str, Any] = {
        "id": vtype["id"],
        "name": vtype["name"],
        "is_public": vtype.get("is_public", True),
        "description": vtype.get("description"),
        "extra_specs": specs,
    }
    if req.ctx.is_admin:
        out["qos_specs_id"] = None
    if access:
        out["os-volume-type-access:is_public"] = vtype.get("is_public", True)
    return out


def list_types(sim: CloudSim, req: Request) -> Response:
    types = region_types(sim, req.region)
    if req.ctx.is_admin and req.arg("is_public") is not None:
        wanted = parse_bool(req.arg("is_public") or "")
        types = [t for t in types if bool(t.get("is_public", True)) == wanted]
    types = [t for t in types if type_visible(req, t)]
    return Response(200, {"volume_types": [type_view(req, t) for t in types]})


def get_type(sim: CloudSim, req: Request, type_id: str) -> Response:
    if type_id == "default":
        return Response(200, {"volume_type": type_view(req, default_type(sim, req.region), False)})
    vtype = next((t for t in region_types(sim, req.region) if t["id"] == type_id), None)
    if not vtype or not type_visible(req, vtype):
        raise ApiError.cinder(404, f"Volume type {type_id} could not be found.")
    return Response(200, {"volume_type": type_view(req, vtype)})


def seed_volume_types(sim: CloudSim, region: str, specs: list[dict[str, Any]]) -> None:
    """Add the seed's types to a region if missing; `__DEFAULT__` always exists, as in Cinder
    (its database migration creates it). A spec may say `default: true`."""
    names = [s["name"] for s in specs]
    if DEFAULT_TYPE not in names:
        specs = [{"name": DEFAULT_TYPE, "description": "Default Volume Type"}, *specs]
    for spec in specs:
        type_id = spec.get("id") or stable_id("volume-type", spec["name"])
        key = f"{region}/{type_id}"
        if sim.store.get("volume_type", key):
            continue
        vtype = {
            "id": type_id,
            "name": spec["name"],
            "description": spec.get("description"),
            "is_public": spec.get("is_public", True),
            "extra_specs": dict(spec.get("extra_specs") or {}),
            "_default": bool(spec.get("default")),
            "_region": region,
        }
        sim.store.put("volume_type", vtype, region=region, key=key)


# ---- volumes: state ------------------------------------------------------------------------
def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def save(sim: CloudSim, volume: dict[str, Any]) -> None:
    sim.store.put("volume", volume, region=volume["_region"], project_id=volume["project_id"])


def volume_time(sim: CloudSim) -> float:
    return float(sim.knobs.volume_time)


def schedule(sim: CloudSim, volume: dict[str, Any], *steps: dict[str, Any]) -> None:
    """Queue what the volume service does next; each step's `after` is in units of the knob
    `volume_time` from now (attach: `attaching` at 0.5, `in-use` at 1)."""
    now = time.time()
    pending = list(volume.get("_steps") or [])
    for step in steps:
        step = dict(step)
        step["at"] = now + volume_time(sim) * step.pop("after", 1.0)
        pending.append(step)
    pending.sort(key=lambda s: s["at"])
    volume["_steps"] = pending


def settle(sim: CloudSim, volume: dict[str, Any]) -> dict[str, Any] | None:
    """Apply the steps whose time has come; None once a deleted volume is gone."""
    pending = volume.get("_steps") or []
    now = time.time()
    due = [s for s in pending if s["at"] <= now]
    if not due:
        return volume
    volume["_steps"] = [s for s in pending if s["at"] > now]
    for step in due:
        if step.get("detach"):
            drop_attachment(sim, volume, step["detach"])
            attached = [a for a in volume["attachments"] if a["attach_status"] == "attached"]
            volume["status"] = "in-use" if attached else "available"
        if step.get("attach"):
            for item in volume["attachments"]:
                if item["attachment_id"] == step["attach"]:
                    item["attach_status"] = "attached"
                    item["attached_at"] = step["at"]
            volume["status"] = "in-use"
        if "size" in step:
            volume["size"] = step["size"]
        if "image" in step:  # the image is copied: Cinder marks the volume bootable
            volume["bootable"] = True
            volume["_image"] = step["image"]
        if "status" in step:
            volume["status"] = step["status"]
        volume["_updated"] = step["at"]
        if step.get("gone"):
            for item in list(volume["attachments"]):
                drop_attachment(sim, volume, item["attachment_id"])
            sim.store.delete("volume", volume["id"])
            return None
    save(sim, volume)
    return volume


def drop_attachment(sim: CloudSim, volume: dict[str, Any], attachment_id: str) -> None:
    """Cinder deletes the attachment and Nova its block device mapping, together."""
    volume["attachments"] = [
        a for a in volume["attachments"] if a["attachment_id"] != attachment_id
    ]
    for bdm in sim.store.find("bdm", region=volume["_region"], attachment_id=attachment_id):
        sim.store.delete("bdm", bdm["id"])


def project_volumes(sim: CloudSim, region: str, project_id: str | None) -> list[dict[str, Any]]:
    """Settled volumes of a project (all projects when None), oldest first."""
    volumes = sim.store.list("volume", region=region, project_id=project_id)
    return [v for v in (settle(sim, v) for v in volumes) if v is not None]


def load_volume(sim: CloudSim, req: Request, volume_id: str) -> dict[str, Any]:
    """The settled volume if the caller may see it (its project's, or any for an admin), else
    404 in the shape of the service asking (Cinder, or Nova on its behalf)."""
    volume = sim.store.get("volume", volume_id)
    ok = volume is not None and volume["_region"] == req.region
    if ok and volume and not req.ctx.is_admin and volume["project_id"] != req.ctx.project_id:
        ok = False
    settled = settle(sim, volume) if ok and volume else None
    if settled is None:
        raise ApiError.for_service(req.service, 404, f"Volume {volume_id} could not be found.")
    return settled


# ---- volumes: views ------------------------------------------------------------------------
def attachments_view(req: Request, volume: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for item in volume["attachments"]:
        if item["attach_status"] != "attached":
            continue  # Cinder shows an attachment once Nova has completed it
        out.append(
            {
                "id": volume["id"],
                "attachment_id": item["attachment_id"],
                "volume_id": volume["id"],
                "server_id": item["server_id"],
                # Only admins (and services) see the compute host, as in Cinder.
                "host_name": item.get("host_name") if req.ctx.is_admin else None,
                "device": item["device"],
                "attached_at": cinder_time(item["attached_at"]),
            }
        )
    return out


def volume_view(req: Request, volume: dict[str, Any], created: bool = False) -> dict[str, Any]:
    """Cinder's detail view at the request's microversion; `created` is the answer to a create
    (microsecond `created_at`, `updated_at` null, none of the extension attributes)."""
    admin = req.ctx.is_admin
    out: dict[str, Any] = {
        "id": volume["id"],
        "status": volume["status"],
        "size": volume["size"],
        "availability_zone": volume["availability_zone"],
        "created_at": cinder_time(volume["_created"], micro=created),
        "updated_at": None if created else cinder_time(volume.get("_updated")),
        "name": volume["name"],
        "description": volume["description"],
        "volume_type": volume["volume_type"],
        "snapshot_id": None,
        "source_volid": volume.get("source_volid"),
        "metadata": dict(volume["metadata"]),
        "links": links(req, "volumes", volume["id"]),
        "user_id": volume["user_id"],
        "bootable": "true" if volume.get("bootable") else "false",
        "encrypted": False,
        "replication_status": None,
        "consistencygroup_id": None,
        "multiattach": False,
        "attachments": attachments_view(req, volume),
    }
    if admin:
        out["migration_status"] = None
    if mv(req, (3, 13)):
        out["group_id"] = None
    if admin and mv(req, (3, 21)):
        out["provider_id"] = None
    if mv(req, (3, 48)):
        out["shared_targets"] = False
        out["service_uuid"] = stable_id("cinder-volume-service", volume["_region"])
    if admin and mv(req, (3, 61)):
        out["cluster_name"] = None
    if mv(req, (3, 63)):
        out["volume_type_id"] = volume["volume_type_id"]
    if mv(req, (3, 65)):
        out["consumes_quota"] = True
    if created:
        return out
    out["os-vol-tenant-attr:tenant_id"] = volume["project_id"]
    if admin:
        out["os-vol-mig-status-attr:migstat"] = None
        out["os-vol-mig-status-attr:name_id"] = None
        out["os-vol-host-attr:host"] = HOST
    if volume.get("_image"):
        out["volume_image_metadata"] = dict(volume["_image"])
    return out


def summary_view(req: Request, volume: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": volume["id"],
        "name": volume["name"],
        "links": links(req, "volumes", volume["id"]),
    }


# ---- volumes: list -------------------------------------------------------------------------
def parse_bool(value: str) -> bool:
    return str(value).strip().lower() in ("1", "t", "true", "on", "y", "yes")


def parse_metadata_filter(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise bad(f"Invalid input received: Invalid metadata filter {raw}") from None
    if not isinstance(value, dict):
        raise bad(f"Invalid input received: Invalid metadata filter {raw}")
    return value


TIME_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b, "eq": lambda a, b: a == b, "neq": lambda a, b: a != b,
}  # fmt: skip


def time_filter(field: str, raw: str) -> Callable[[dict[str, Any]], bool]:
    """`created_at=gt:2026-01-01T00:00:00,lt:...` as Cinder reads it."""
    tests: list[tuple[Callable[[float, float], bool], float]] = []
    for unit in raw.split(","):
        op, _, moment = unit.partition(":")
        if op not in TIME_OPS:
            raise bad(f"Invalid {op} operator")
        try:
            parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            raise bad(f"Invalid {moment} value") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        tests.append((TIME_OPS[op], int(parsed.timestamp())))
    key = "_created" if field == "created_at" else "_updated"

    def check(volume: dict[str, Any]) -> bool:
        value = volume.get(key)
        return value is not None and all(t(int(value), when) for t, when in tests)

    return check


def volume_filter(req: Request, params: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    """One predicate for every filter in the query (already checked against FILTERS)."""
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for key, raw in params.items():
        folded, flag = raw.casefold(), parse_bool(raw)
        if key == "name":
            # The lab's MySQL compares with a case-insensitive collation.
            checks.append(lambda v, w=folded: (v["name"] or "").casefold() == w)
        elif key == "status":
            checks.append(lambda v, w=folded: v["status"].casefold() == w)
        elif key == "metadata":
            wanted = parse_metadata_filter(raw)
            checks.append(
                lambda v, w=wanted: all(v["metadata"].get(k) == str(x) for k, x in w.items())
            )
        elif key == "bootable":
            checks.append(lambda v, w=flag: bool(v.get("bootable")) == w)
        elif key == "size":
            checks.append(lambda v, w=raw: str(v["size"]) == w)
        elif key == "availability_zone":
            checks.append(lambda v, w=raw: v["availability_zone"] == w)
        elif key in ("migration_status", "group_id"):
            checks.append(lambda v: False)  # cloudsim never migrates or groups volumes
        elif key == "consumes_quota":
            checks.append(lambda v, w=flag: w)
        elif key in ("created_at", "updated_at"):
            checks.append(time_filter(key, raw))
        elif key in ("user_id", "volume_type_id", "id"):
            checks.append(lambda v, k=key, w=raw: v.get(k) == w)
        elif key in ("project_id", "tenant_id"):
            checks.append(lambda v, w=raw: v["project_id"] == w)
        else:
            # An admin may filter on anything; Cinder answers nothing for a column it lacks.
            checks.append(lambda v: False)
    return lambda volume: all(check(volume) for check in checks)


def sort_spec(params: dict[str, str]) -> list[tuple[str, bool]]:
    """[(field, descending)], with Cinder's tie-breakers created_at and id (first direction)."""
    if "sort" in params and ("sort_key" in params or "sort_dir" in params):
        raise bad("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
                  "with the 'sort' parameter.")  # fmt: skip
    pairs: list[tuple[str, str]] = []
    if "sort" in params:
        for item in params["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), (direction or "desc").strip().lower()))
    elif "sort_key" in params:
        pairs.append((params["sort_key"], params.get("sort_dir", "desc").lower()))
    else:
        pairs.append(("created_at", "desc"))
    spec = []
    for key, direction in pairs:
        if key not in SORT_FIELDS:
            raise bad("Invalid input received: Invalid sort key")
        if direction not in ("asc", "desc"):
            raise bad("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'.")
        spec.append((SORT_FIELDS[key], direction == "desc"))
    fields = [f for f, _ in spec]
    for extra in ("_created", "id"):
        if extra not in fields:
            spec.append((extra, spec[0][1]))
    return spec


def sort_volumes(volumes: list[dict[str, Any]], spec: list[tuple[str, bool]]) -> None:
    """Sort in place like MySQL: NULLs first ascending, last descending; strings ignore case."""

    def key_for(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
        def key(volume: dict[str, Any]) -> tuple[int, Any]:
            value = volume.get(field)
            if value is None:
                return (0, 0)
            return (1, value.casefold() if isinstance(value, str) else value)

        return key

    for field, descending in reversed(spec):
        volumes.sort(key=key_for(field), reverse=descending)


def page_params(params: dict[str, str]) -> tuple[str | None, int, int]:
    marker = params.get("marker")
    raw_limit = params.get("limit")
    limit = MAX_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise bad("limit param must be an integer") from None
        if limit < 0:
            raise bad("limit param must be positive")
        limit = min(limit, MAX_LIMIT)
    try:
        offset = int(params.get("offset") or 0)
    except ValueError:
        raise bad("offset param must be an integer") from None
    if offset < 0:
        raise bad("offset param must be positive")
    return marker, limit, offset


def list_volumes(sim: CloudSim, req: Request, detail: bool = False) -> Response:
    params = {k: v[-1] for k, v in req.query.items()}
    marker, limit, offset = page_params(params)
    spec = sort_spec(params)
    show_count = mv(req, (3, 45)) and parse_bool(params.get("with_count", "false"))
    filters = {k: v for k, v in params.items() if k not in LIST_PARAMS}
    everyone = req.ctx.is_admin and parse_bool(filters.pop("all_tenants", "0"))
    filters.pop("all_projects", None)
    if not req.ctx.is_admin:
        filters.pop("all_tenants", None)  # silently ignored for members, as in Cinder
        invalid = [k for k in filters if k not in FILTERS]
        if invalid:
            raise bad(f"Invalid filters {','.join(invalid)} are found in query options.")
    elif not everyone:
        filters.pop("project_id", None)
    if not mv(req, (3, 65)):
        filters.pop("consumes_quota", None)
    scope = None if everyone else req.ctx.project_id
    visible = project_volumes(sim, req.region, scope)
    matches = volume_filter(req, filters)
    found = [v for v in visible if matches(v)]
    total = len(found)
    if marker:
        anchor = next((v for v in visible if v["id"] == marker), None)
        if anchor is None:
            raise ApiError.cinder(404, f"Volume {marker} could not be found.")
        if anchor not in found:
            found.append(anchor)
        sort_volumes(found, spec)
        found = found[found.index(anchor) + 1 :]
    else:
        sort_volumes(found, spec)
    page = found[offset : offset + limit]
    view = volume_view if detail else summary_view
    body: dict[str, Any] = {"volumes": [view(req, v) for v in page]}
    if page and limit <= len(page):
        project = url_project(req)
        path = f"{api_root(req)}/v3{'/' + project if project else ''}/volumes"
        query = [(k, x) for k, vs in req.query.items() if k != "marker" for x in vs]
        query.append(("marker", page[-1]["id"]))
        href = f"{path}{'/detail' if detail else ''}?{urlencode(query)}"
        body["volumes_links"] = [{"rel": "next", "href": href}]
    if show_count:
        body["count"] = total
    return Response(200, body)


# ---- volumes: create, get, update, delete --------------------------------------------------
def check_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_input(field, value, f"{value!r} is not of type 'string', 'null'")
    value = value.strip()
    if len(value) > 255:
        raise bad(f"Invalid input received: {field} has {len(value)} characters, more than 255.")
    return value


def check_metadata(value: Any, allow_null: bool = True) -> dict[str, str]:
    if value is None and allow_null:
        return {}
    if not isinstance(value, dict):
        kinds = "'object', 'null'" if allow_null else "'object'"
        raise invalid_input("metadata", value, f"{value!r} is not of type {kinds}")
    for key, item in value.items():
        if not META_KEY_RE.match(str(key)):
            raise invalid_input("metadata", value, f"{key!r} does not match any of the regexes: "
                                "'^[a-zA-Z0-9-_:. /]{1,255}$'")  # fmt: skip
        if not isinstance(item, str):
            raise invalid_input(key, item, f"{item!r} is not of type 'string'")
        if len(item) > 255:
            raise invalid_input(key, item, f"{item!r} is too long")
    return dict(value)


def check_size(value: Any, field: str = "size") -> int | None:
    """Cinder's volume_size schema: an integer or a string of digits, 1 to 2**31-1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid_input(field, value, f"{value!r} is not of type 'integer', 'string', 'null'")
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+", value):
            raise invalid_input(field, value, f"{value!r} does not match '^[0-9]+$'")
        number = int(value)
    else:
        number = value
    if number < 1:
        raise invalid_input(field, value, f"{value} is less than the minimum of 1")
    if number > DB_MAX_INT:
        raise invalid_input(field, value, f"{value} is greater than the maximum of {DB_MAX_INT}")
    return number


def image_for_volume(sim: CloudSim, req: Request, ref: str) -> dict[str, Any]:
    image = sim.store.get("image", f"{req.region}/{ref}")
    visible = image is not None and (
        req.ctx.is_admin
        or image.get("visibility") in ("public", "community", "shared")
        or image.get("owner") == req.ctx.project_id
    )
    if not image or not visible:
        raise bad("Invalid image identifier or unable to access requested image.")
    return image


def check_image_fits(image: dict[str, Any], size: int) -> None:
    """cinder.volume.volume_utils.check_image_metadata."""
    if image.get("status") != "active":
        raise bad(f"Invalid input received: Image {image['id']} is not active.")
    image_gb = math.ceil(int(image.get("size") or 0) / GB)
    if image_gb > size:
        raise bad(f"Invalid input received: Size of specified image {image_gb}GB is larger than "
                  f"volume size {size}GB.")  # fmt: skip
    min_disk = int(image.get("min_disk") or 0)
    if size < min_disk:
        raise bad(f"Invalid input received: Volume size {size}GB cannot be smaller than the "
                  f"image minDisk size {min_disk}GB.")  # fmt: skip


def image_metadata(image: dict[str, Any]) -> dict[str, Any]:
    """`volume_image_metadata`: the Glance properties Cinder copies onto a volume it made from
    an image (all strings, as Cinder stores them)."""
    return {
        "image_id": image["id"],
        "image_name": image["name"],
        "container_format": image.get("container_format"),
        "disk_format": image.get("disk_format"),
        "min_disk": str(image.get("min_disk", 0)),
        "min_ram": str(image.get("min_ram", 0)),
        "size": str(image.get("size", 0)),
        "checksum": image.get("checksum"),
    }


def new_volume(
    req: Request,
    *,
    name: str | None,
    description: str | None,
    size: int,
    vtype: dict[str, Any],
    metadata: dict[str, str],
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `creating` volume of the caller's project, unsaved and with nothing scheduled: shared by
    Cinder's create and by Nova's boot from volume (which asks Cinder as the same user)."""
    return {
        "id": new_id(),
        "name": name,
        "description": description,
        "size": size,
        "status": "creating",
        "availability_zone": ZONE,
        "volume_type": vtype["name"],
        "volume_type_id": vtype["id"],
        "source_volid": source["id"] if source else None,
        "metadata": metadata,
        "user_id": req.ctx.user_id,
        "project_id": req.ctx.project_id,
        "bootable": bool(source and source.get("bootable")),
        "attachments": [],
        "_region": req.region,
        "_created": time.time(),
        "_updated": None,
        "_image": None,
        "_steps": [],
    }


def schedule_image_copy(sim: CloudSim, volume: dict[str, Any], image: dict[str, Any]) -> bool:
    """Copy `image` onto a new volume: `downloading`, then `available`, bootable and with the
    image's metadata, as a production Cinder does. With the knob `image_volume_errors` the copy
    fails instead and the volume goes `error`, as every one does on the lab (its fake driver
    cannot copy an image). False when it fails."""
    if sim.knobs.take_image_volume_error():
        schedule(sim, volume, {"after": 1.0, "status": "error"})
        return False
    schedule(
        sim,
        volume,
        {"after": 0.5, "status": "downloading"},
        {"after": 1.0, "status": "available", "image": image_metadata(image)},
    )
    return True


def create_volume(sim: CloudSim, req: Request) -> Response:
    from cloudsim import block_storage_quota

    require_writer(req, "volume:create")
    body = req.body
    if not isinstance(body, dict) or "volume" not in body:
        raise bad("'volume' is a required property")
    data = body["volume"]
    if not isinstance(data, dict):
        raise invalid_input("volume", data, f"{data!r} is not of type 'object'")
    allowed = set(CREATE_KEYS)
    if mv(req, (3, 13)):
        allowed.add("group_id")
    if mv(req, (3, 47)):
        allowed.add("backup_id")
    unexpected = [k for k in data if k not in allowed]
    if unexpected and mv(req, (3, 53)):
        names = ", ".join(repr(k) for k in unexpected)
        raise invalid_input("volume", data, f"Additional properties are not allowed ({names} "
                            f"{'was' if len(unexpected) == 1 else 'were'} unexpected)")  # fmt: skip
    name = check_text("name", data.get("name", data.get("display_name")))
    description = check_text(
        "description", data.get("description", data.get("display_description"))
    )
    metadata = check_metadata(data.get("metadata"))
    size = check_size(data.get("size"))
    zone = data.get("availability_zone")
    if parse_bool(str(data.get("multiattach", False))):
        raise bad(
            "multiattach parameter has been removed. The default behavior is to use multiattach "
            "enabled volume types. Contact your administrator to create a multiattach enabled "
            "volume type and use it to create multiattach volumes."
        )
    type_ref = data.get("volume_type")
    vtype = find_type(sim, req, str(type_ref)) if type_ref else default_type(sim, req.region)
    if data.get("snapshot_id"):
        raise ApiError.cinder(404, f"Snapshot {data['snapshot_id']} could not be found.")
    if data.get("backup_id"):
        raise ApiError.cinder(404, f"Backup {data['backup_id']} could not be found.")
    source = None
    if data.get("source_volid"):
        source = load_volume(sim, req, str(data["source_volid"]))
        size = size or source["size"]
        if not type_ref:  # a clone keeps its source's type unless told otherwise
            vtype = find_type(sim, req, source["volume_type_id"])
        if size < source["size"]:
            raise bad("Invalid input received: Clones of volumes must be at least the size of "
                      f"the source volume ({source['size']}GB).")  # fmt: skip
    image_ref = data.get("imageRef") or data.get("image_id")
    image = image_for_volume(sim, req, str(image_ref)) if image_ref else None
    if size is None:
        raise bad(GENERIC_400)
    if zone is not None and zone != ZONE:
        raise bad(f"Availability zone '{zone}' is invalid.")
    if image:
        check_image_fits(image, size)
    block_storage_quota.check_create(sim, req, size, vtype["name"])
    volume = new_volume(req, name=name, description=description, size=size, vtype=vtype,
                        metadata=metadata, source=source)  # fmt: skip
    if image:
        schedule_image_copy(sim, volume, image)
    else:
        schedule(sim, volume, {"after": 1.0, "status": "available"})
    save(sim, volume)
    return Response(202, {"volume": volume_view(req, volume, created=True)})


def get_volume(sim: CloudSim, req: Request, volume_id: str) -> Response:
    return Response(200, {"volume": volume_view(req, load_volume(sim, req, volume_id))})


def update_volume(sim: CloudSim, req: Request, volume_id: str) -> Response:
    require_writer(req, "volume:update")
    body = req.body
    if not isinstance(body, dict) or "volume" not in body:
        raise bad("'volume' is a required property")
    data = body["volume"]
    if not isinstance(data, dict):
        raise invalid_input("volume", data, f"{data!r} is not of type 'object'")
    allowed = ("name", "description", "display_name", "display_description", "metadata")
    unexpected = [k for k in data if k not in allowed]
    if unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        raise invalid_input("volume", data, f"Additional properties are not allowed ({names} "
                            f"{'was' if len(unexpected) == 1 else 'were'} unexpected)")  # fmt: skip
    if not data and mv(req, (3, 53)):
        raise invalid_input("volume", data, f"{data} is not valid under any of the given schemas")
    changes: dict[str, Any] = {}
    for field, alias in (("name", "display_name"), ("description", "display_description")):
        if field in data or alias in data:
            changes[field] = check_text(field, data.get(field, data.get(alias)))
    if "metadata" in data:
        changes["metadata"] = check_metadata(data["metadata"], allow_null=False)
    volume = load_volume(sim, req, volume_id)
    volume.update(changes)
    volume["_updated"] = time.time()
    save(sim, volume)
    return Response(200, {"volume": volume_view(req, volume)})


def delete_volume(sim: CloudSim, req: Request, volume_id: str) -> Response:
    require_writer(req, "volume:delete")
    volume = load_volume(sim, req, volume_id)
    if volume["status"] not in DELETABLE or volume["attachments"]:
        raise bad(DELETE_REFUSED)
    volume["status"] = "deleting"
    volume["_updated"] = time.time()
    schedule(sim, volume, {"after": 1.0, "gone": True})
    save(sim, volume)
    return Response(202, None, {"Content-Type": "text/html; charset=UTF-8"})


# ---- volume metadata -----------------------------------------------------------------------
def volume_metadata(sim: CloudSim, req: Request, volume_id: str, key: str = "") -> Response:
    """GET/POST/PUT /volumes/{id}/metadata and GET/PUT/DELETE /metadata/{key}."""
    if req.method != "GET":
        require_writer(req, "volume:update_volume_metadata")
    volume = load_volume(sim, req, volume_id)
    current = dict(volume["metadata"])
    if key and req.method in ("GET", "DELETE") and key not in current:
        raise ApiError.cinder(404, f"Volume {volume_id} has no metadata with key {key}.")
    if req.method == "GET":
        return Response(200, {"meta": {key: current[key]}} if key else {"metadata": current})
    if req.method == "DELETE":
        current.pop(key)
    else:
        body = req.body if isinstance(req.body, dict) else {}
        if key:
            meta = body.get("meta")
            if not isinstance(meta, dict) or key not in meta or len(meta) != 1:
                raise bad("Request body and URI mismatch")
            current.update(check_metadata(meta, allow_null=False))
        else:
            incoming = check_metadata(body.get("metadata"), allow_null=False)
            current = incoming if req.method == "PUT" else {**current, **incoming}
    volume["metadata"] = current
    volume["_updated"] = time.time()
    save(sim, volume)
    if req.method == "DELETE":
        return Response(200)
    if key:
        return Response(200, {"meta": {key: current[key]}})
    return Response(200, {"metadata": current})


# ---- actions -------------------------------------------------------------------------------
def volume_action(sim: CloudSim, req: Request, volume_id: str) -> Response:
    body = req.body
    if not isinstance(body, dict) or not body:
        raise bad("Malformed request body")
    name = next(iter(body))
    handler = ACTIONS.get(name)
    if handler is None:
        raise bad(f"There is no such action: {name}. Verify the request body and Content-Type "
                  "header and try again.")  # fmt: skip
    return handler(sim, req, volume_id, body[name])


def extend(sim: CloudSim, req: Request, volume_id: str, data: Any) -> Response:
    """os-extend: `available` volumes, and `in-use` ones from 3.42 (Cinder tells Nova)."""
    from cloudsim import block_storage_quota

    if not isinstance(data, dict) or "new_size" not in data:
        raise invalid_input("os-extend", data, "'new_size' is a required property")
    new_size = check_size(data["new_size"], field="new_size")
    volume = load_volume(sim, req, volume_id)
    attached = volume["status"] == "in-use" and mv(req, (3, 42))
    require_writer(req, "volume:extend_attached_volume" if attached else "volume:extend")
    assert new_size is not None
    if new_size <= volume["size"]:
        raise bad("Invalid input received: New size for extend must be greater than current "
                  f"size. (current: {volume['size']}, extended: {new_size}).")  # fmt: skip
    expected = "in-use" if attached else "available"
    if volume["status"] != expected:
        raise bad(
            f"Invalid volume: Volume {volume['id']} status must be '{{'status': '{expected}'}}' "
            f"to extend, currently {volume['status']}."
        )
    block_storage_quota.check_extend(sim, req, volume, new_size)
    volume["status"] = "extending"
    volume["_updated"] = time.time()
    schedule(sim, volume, {"after": 1.0, "size": new_size, "status": expected})
    save(sim, volume)
    return Response(202, None, {"Content-Type": "text/html; charset=UTF-8"})


RESET_STATUSES = ("available", "error", "creating", "deleting", "in-use", "attaching",
                  "detaching", "error_deleting", "maintenance", "reserved", "error_extending",
                  "extending", "downloading")  # fmt: skip


def reset_status(sim: CloudSim, req: Request, volume_id: str, data: Any) -> Response:
    """os-reset_status (admin): the way to put a volume in `error` for a test."""
    if not req.ctx.is_admin:
        raise forbidden("volume_extension:volume_admin_actions:reset_status")
    volume = load_volume(sim, req, volume_id)
    status = (data or {}).get("status") if isinstance(data, dict) else None
    if status is not None and status not in RESET_STATUSES:
        raise bad("Invalid input received: Must specify a valid status")
    if status:
        # Only the status changes, as in Cinder: work the volume service has in flight (a
        # create, a detach) still finishes and sets its own status when it does.
        volume["status"] = status
    volume["_updated"] = time.time()
    save(sim, volume)
    return Response(202, None, {"Content-Type": "text/html; charset=UTF-8"})


def set_bootable(sim: CloudSim, req: Request, volume_id: str, data: Any) -> Response:
    require_writer(req, "volume:update_readonly_flag")
    value = (data or {}).get("bootable") if isinstance(data, dict) else None
    if value is None:
        raise bad("Must specify bootable in request.")
    volume = load_volume(sim, req, volume_id)
    volume["bootable"] = parse_bool(str(value))
    save(sim, volume)
    return Response(200)


ACTIONS: dict[str, Callable[[CloudSim, Request, str, Any], Response]] = {
    "os-extend": extend,
    "os-reset_status": reset_status,
    "os-set_bootable": set_bootable,
}


def action_operation(req: Request) -> str:
    """`block-storage.volume.extend` etc.: the operation an action call counts and faults
    under (read from the body before the handler runs; anything unreadable is `.action`)."""
    try:
        body = json.loads(req.raw_body or b"null")
    except ValueError:
        body = None
    name = next(iter(body), "") if isinstance(body, dict) and body else ""
    action = name[3:] if name.startswith("os-") else name
    return f"block-storage.volume.{action}" if name in ACTIONS else "block-storage.volume.action"


def availability_zones(sim: CloudSim, req: Request) -> Response:
    zone = {"zoneName": ZONE, "zoneState": {"available": True}}
    return Response(200, {"availabilityZoneInfo": [zone]})


# ---- what Nova's server views and deletes need ---------------------------------------------
def server_volumes(sim: CloudSim, region: str, server_id: str) -> list[dict[str, Any]]:
    """Nova's block device mappings of a server that still stand (a detach whose time has come
    is over even if no one has read the volume since). A boot volume's mapping shows from
    `shown_at`, when its volume is made and Nova records the volume's id on it."""
    now = time.time()
    return [
        b
        for b in sim.store.find("bdm", region=region, server_id=server_id)
        if (not b.get("detach_at") or b["detach_at"] > now) and b.get("shown_at", 0) <= now
    ]


def volumes_attached(sim: CloudSim, req: Request, server: dict[str, Any]) -> list[dict[str, Any]]:
    """`os-extended-volumes:volumes_attached` of a server; `delete_on_termination` from 2.3."""
    with_flag = (req.microversion or (2, 1)) >= (2, 3)
    out = []
    for bdm in server_volumes(sim, server["_region"], server["id"]):
        item: dict[str, Any] = {"id": bdm["volume_id"]}
        if with_flag:
            item["delete_on_termination"] = bdm["delete_on_termination"]
        out.append(item)
    return out


def release_server_volumes(sim: CloudSim, server: dict[str, Any]) -> None:
    """A deleted server's volumes: Nova drops its mappings; the volumes stay `in-use` until the
    compute host has disconnected them (about a second in the lab), then are `available`, or
    deleted when attached with delete_on_termination."""
    for bdm in sim.store.find("bdm", region=server["_region"], server_id=server["id"]):
        sim.store.delete("bdm", bdm["id"])
        volume = sim.store.get("volume", bdm["volume_id"])
        volume = settle(sim, volume) if volume else None
        if volume is None:
            continue
        # A boot volume still being made and attached: the build is over, so is that work.
        volume["_steps"] = [s for s in volume["_steps"] if s.get("build") != bdm["attachment_id"]]
        step: dict[str, Any] = {"after": 1.0, "detach": bdm["attachment_id"]}
        if bdm["delete_on_termination"]:
            step["status"] = "deleting"
            schedule(sim, volume, step, {"after": 2.0, "gone": True})
        else:
            schedule(sim, volume, step)
        save(sim, volume)


# ---- routes --------------------------------------------------------------------------------
def register(router: Router) -> None:
    from cloudsim import block_storage_quota, volume_attachments

    def add(
        method: str,
        path: str,
        operation: str,
        handler: Callable[..., Response],
        resolve: Callable[[Request], str] | None = None,
    ) -> None:
        for prefix in ("/v3", "/v3/{url_project_id}"):
            router.add(method, SERVICE, prefix + path, operation, scoped(handler), resolve)

    router.add("GET", SERVICE, "/", "block-storage.versions", versions)
    router.add("GET", SERVICE, "/v3", "block-storage.version", version)
    add("GET", "/volumes", "block-storage.volume.list", list_volumes)
    add("GET", "/volumes/detail", "block-storage.volume.list",
        lambda sim, req: list_volumes(sim, req, detail=True))  # fmt: skip
    add("POST", "/volumes", "block-storage.volume.create", create_volume)
    add("GET", "/volumes/{volume_id}", "block-storage.volume.get", get_volume)
    add("PUT", "/volumes/{volume_id}", "block-storage.volume.update", update_volume)
    add("DELETE", "/volumes/{volume_id}", "block-storage.volume.delete", delete_volume)
    add("POST", "/volumes/{volume_id}/action", "block-storage.volume.action", volume_action,
        action_operation)  # fmt: skip
    for method in ("GET", "POST", "PUT"):
        add(method, "/volumes/{volume_id}/metadata", "block-storage.volume.metadata",
            volume_metadata)  # fmt: skip
    for method in ("GET", "PUT", "DELETE"):
        add(method, "/volumes/{volume_id}/metadata/{key}", "block-storage.volume.metadata",
            volume_metadata)  # fmt: skip
    add("GET", "/types", "block-storage.type.list", list_types)
    add("GET", "/types/{type_id}", "block-storage.type.get", get_type)
    add("GET", "/os-availability-zone", "block-storage.availability_zone.list",
        availability_zones)  # fmt: skip
    block_storage_quota.register(add)
    volume_attachments.register(router)
