"""Neutron quotas (get, details, admin update) and the tags API of taggable resources."""

from __future__ import annotations

import re

from cloudsim import quota
from cloudsim.app import CloudSim, iso
from cloudsim.network import KINDS, TAGGABLE, load, save
from cloudsim.network_objects import bad
from cloudsim.web import ApiError, Request, Response


def get_quota(sim: CloudSim, req: Request, project_id: str, details: bool = False) -> Response:
    if project_id != req.ctx.project_id and not req.ctx.is_admin:
        raise ApiError.neutron(403, "Not authorized.", "HTTPForbidden")
    limits = quota.limits(sim, req.region, project_id, "network")
    if not details:
        return Response(200, {"quota": limits})
    kinds = {v[2]: v[0] for v in KINDS.values()}
    out = {}
    for key, limit in limits.items():
        used = sim.store.count(kinds[key], req.region, project_id) if key in kinds else 0
        out[key] = {"limit": limit, "used": used, "reserved": 0}
    return Response(200, {"quota": out})


def get_quota_default(sim: CloudSim, req: Request, project_id: str) -> Response:
    if project_id != req.ctx.project_id and not req.ctx.is_admin:
        raise ApiError.neutron(403, "Not authorized.", "HTTPForbidden")
    return Response(200, {"quota": quota.defaults(sim, "network")})


def boolean(name: str, value: object) -> bool:
    """Neutron's convert_to_boolean: a bool, 0/1 or their words, else 400."""
    text = str(value).lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ApiError.neutron(
        400, f"Invalid input for {name}. Reason: '{value}' cannot be converted to boolean.",
        "InvalidInput",
    )  # fmt: skip


def update_quota(sim: CloudSim, req: Request, project_id: str) -> Response:
    if not req.ctx.is_admin:
        raise ApiError.neutron(
            403, "rule:update_quota is disallowed by policy", "PolicyNotAuthorized"
        )
    changes = dict((req.body or {}).get("quota") or {})
    # quota-check-limit-default (Neutron 2024.1): a limit below usage is refused unless `force`
    # is true; `check_limit` is read but no longer turns the check off (as the lab's Neutron
    # answers). The openstack CLI sends one of them with every `quota set`.
    check = True
    if "check_limit" in changes:
        boolean("check_limit", changes.pop("check_limit"))
    if "force" in changes:
        check = not boolean("force", changes.pop("force"))
    unknown = set(changes) - set(quota.NETWORK_DEFAULTS)
    if unknown:
        raise bad(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    for value in changes.values():
        if isinstance(value, bool) or not re.match(r"^-?[0-9]+$", str(value)):
            raise ApiError.neutron(
                400, f"Invalid input for operation: {value!r} is not an integer.", "InvalidInput"
            )
    # Neutron refuses a limit below what is in use, naming the first such resource given.
    kinds = {v[2]: v[0] for v in KINDS.values()}
    for key, value in changes.items():
        limit = int(value)
        used = sim.store.count(kinds[key], req.region, project_id) if key in kinds else 0
        if check and limit != -1 and limit < used:
            raise bad(f"Quota limit {limit} for {key} must be greater than or equal to already "
                      f"used {used}")  # fmt: skip
    return Response(200, {"quota": quota.update(sim, req.region, project_id, "network", changes)})


def tag_handler(action: str):
    def handler(
        sim: CloudSim, req: Request, collection: str, obj_id: str, tag: str = ""
    ) -> Response:
        if collection not in TAGGABLE:
            raise ApiError.neutron(404, "The resource could not be found.", "HTTPNotFound")
        obj = load(sim, req, collection, obj_id)
        tags = list(obj.get("tags") or [])
        if action == "list":
            return Response(200, {"tags": tags})
        if action == "check":
            if tag not in tags:
                raise ApiError.neutron(404, f"Tag {tag} could not be found.", "TagNotFound")
            return Response(204)
        if action == "replace":
            tags = list(dict.fromkeys((req.body or {}).get("tags") or []))
        elif action == "add" and tag not in tags:
            tags.append(tag)
        elif action == "remove":
            if tag not in tags:
                raise ApiError.neutron(404, f"Tag {tag} could not be found.", "TagNotFound")
            tags.remove(tag)
        elif action == "clear":
            tags = []
        obj["tags"] = tags
        obj["updated_at"] = iso()
        obj["revision_number"] += 1
        save(sim, collection, obj)
        if action == "replace":
            return Response(200, {"tags": tags})
        return Response(201 if action == "add" else 204)

    return handler
