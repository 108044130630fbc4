"""The control API under /_sim: knobs, injected faults, quotas, counts and reset (JSON)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from cloudsim import quota
from cloudsim.app import CloudSim
from cloudsim.knobs import FAULT_MODES, Fault
from cloudsim.web import ApiError, Request, Response, Router


def bad(message: str) -> ApiError:
    return ApiError(400, {"error": message})


def body_of(req: Request) -> dict[str, Any]:
    data = req.body or {}
    if not isinstance(data, dict):
        raise bad("a JSON object is expected")
    return data


def health(sim: CloudSim, req: Request) -> Response:
    return Response(200, {"ok": True, "regions": sim.regions})


def state(sim: CloudSim, req: Request) -> Response:
    return Response(200, sim.knobs.snapshot())


def set_latency(sim: CloudSim, req: Request) -> Response:
    data = body_of(req)
    operation = data.get("operation", "*")
    with sim.knobs.lock:
        sim.knobs.latency[operation] = float(data.get("seconds", 0))
    return Response(200, sim.knobs.snapshot())


def clear_latency(sim: CloudSim, req: Request) -> Response:
    with sim.knobs.lock:
        sim.knobs.latency.clear()
    return Response(200, sim.knobs.snapshot())


def set_build_time(sim: CloudSim, req: Request) -> Response:
    sim.knobs.build_time = float(body_of(req).get("seconds", 0))
    return Response(200, sim.knobs.snapshot())


def set_delete_time(sim: CloudSim, req: Request) -> Response:
    sim.knobs.delete_time = float(body_of(req).get("seconds", 0))
    return Response(200, sim.knobs.snapshot())


def set_action_time(sim: CloudSim, req: Request) -> Response:
    sim.knobs.action_time = float(body_of(req).get("seconds", 0))
    return Response(200, sim.knobs.snapshot())


def set_volume_time(sim: CloudSim, req: Request) -> Response:
    sim.knobs.volume_time = float(body_of(req).get("seconds", 0))
    return Response(200, sim.knobs.snapshot())


def add_fault(sim: CloudSim, req: Request) -> Response:
    data = body_of(req)
    known = {f.name for f in fields(Fault)}
    unknown = set(data) - known - {"times"}
    if unknown:
        raise bad(f"unknown keys: {sorted(unknown)}")
    if not data.get("operation"):
        raise bad("operation is required, e.g. compute.server.create")
    if data.get("mode", "error") not in FAULT_MODES:
        raise bad(f"mode must be one of {list(FAULT_MODES)}")
    fault = Fault(**{k: v for k, v in data.items() if k in known})
    sim.knobs.add_fault(fault, int(data.get("times", 1)))
    return Response(200, sim.knobs.snapshot())


def clear_faults(sim: CloudSim, req: Request) -> Response:
    with sim.knobs.lock:
        sim.knobs.faults.clear()
        sim.knobs.build_errors.clear()
        sim.knobs.resize_errors.clear()
        sim.knobs.image_volume_errors = 0
        sim.knobs.outages.clear()
    return Response(200, sim.knobs.snapshot())


def start_outage(sim: CloudSim, req: Request) -> Response:
    """Take a region down until told otherwise: ``error`` answers ``status`` at once, ``hang``
    first sleeps ``seconds`` (a cloud that stopped answering)."""
    data = body_of(req)
    region = data.get("region")
    if region not in sim.regions:
        raise bad(f"region must be one of {sim.regions}")
    mode = data.get("mode", "error")
    if mode not in ("error", "hang"):
        raise bad("mode must be error or hang")
    outage = Fault(
        operation="*",
        mode=mode,
        status=int(data.get("status", 503)),
        seconds=float(data.get("seconds", 0)),
        message=data.get("message", ""),
    )
    with sim.knobs.lock:
        sim.knobs.outages[region] = outage
    return Response(200, sim.knobs.snapshot())


def end_outage(sim: CloudSim, req: Request) -> Response:
    """Bring a region back (``{"region": ...}``), or every region (no body)."""
    region = (req.body or {}).get("region") if isinstance(req.body, dict) else None
    with sim.knobs.lock:
        if region:
            sim.knobs.outages.pop(region, None)
        else:
            sim.knobs.outages.clear()
    return Response(200, sim.knobs.snapshot())


def add_build_errors(sim: CloudSim, req: Request) -> Response:
    data = body_of(req)
    message = (
        data.get("message") or "No valid host was found. There are not enough hosts available."
    )
    with sim.knobs.lock:
        sim.knobs.build_errors.extend([message] * int(data.get("times", 1)))
    return Response(200, sim.knobs.snapshot())


def add_resize_errors(sim: CloudSim, req: Request) -> Response:
    """Plan resizes that fail as the lab's do when no other host can take the server."""
    data = body_of(req)
    message = data.get("message") or "No valid host was found. No valid host found for resize"
    with sim.knobs.lock:
        sim.knobs.resize_errors.extend([message] * int(data.get("times", 1)))
    return Response(200, sim.knobs.snapshot())


def add_image_volume_errors(sim: CloudSim, req: Request) -> Response:
    """Plan volumes from an image that fail to copy it, as every one does on the lab."""
    times = int(body_of(req).get("times", 1))
    with sim.knobs.lock:
        sim.knobs.image_volume_errors += max(times, 0)
    return Response(200, sim.knobs.snapshot())


def counts(sim: CloudSim, req: Request) -> Response:
    return Response(200, {"counts": sim.knobs.snapshot()["counts"]})


def journal(sim: CloudSim, req: Request) -> Response:
    """The last calls (newest last), those of one global request id with ``global_request_id``."""
    wanted = req.arg("global_request_id")
    calls = [c for c in list(sim.journal) if not wanted or c["global_request_id"] == wanted]
    return Response(200, {"calls": calls})


def clear_counts(sim: CloudSim, req: Request) -> Response:
    with sim.knobs.lock:
        sim.knobs.counts.clear()
    return Response(200, {"counts": {}})


def find_project_id(sim: CloudSim, data: dict[str, Any]) -> str:
    if data.get("project_id"):
        return str(data["project_id"])
    name = data.get("project_name")
    for project in sim.store.list("project"):
        if project["name"] == name:
            return str(project["id"])
    raise ApiError(404, {"error": f"no project named {name!r}"})


def set_quotas(sim: CloudSim, req: Request) -> Response:
    data = body_of(req)
    project_id = find_project_id(sim, data)
    regions = [data["region"]] if data.get("region") else sim.regions
    out = {}
    for region in regions:
        out[region] = {
            "compute": quota.update(sim, region, project_id, "compute", data.get("compute") or {}),
            "network": quota.update(sim, region, project_id, "network", data.get("network") or {}),
            "volume": quota.update(sim, region, project_id, "volume", data.get("volume") or {}),
        }
    return Response(200, {"project_id": project_id, "quotas": out})


def projects(sim: CloudSim, req: Request) -> Response:
    items = [
        {"id": p["id"], "name": p["name"], "domain_id": p["domain_id"]}
        for p in sim.store.list("project")
    ]
    return Response(200, {"projects": items})


def reset(sim: CloudSim, req: Request) -> Response:
    sim.reset()
    return Response(200, {"ok": True})


def register(router: Router) -> None:
    add = router.add
    add("GET", "sim", "/health", "sim.health", health)
    add("GET", "sim", "/state", "sim.state", state)
    add("POST", "sim", "/latency", "sim.latency", set_latency)
    add("DELETE", "sim", "/latency", "sim.latency", clear_latency)
    add("POST", "sim", "/build-time", "sim.build_time", set_build_time)
    add("POST", "sim", "/delete-time", "sim.delete_time", set_delete_time)
    add("POST", "sim", "/action-time", "sim.action_time", set_action_time)
    add("POST", "sim", "/volume-time", "sim.volume_time", set_volume_time)
    add("POST", "sim", "/faults", "sim.faults", add_fault)
    add("DELETE", "sim", "/faults", "sim.faults", clear_faults)
    add("POST", "sim", "/outages", "sim.outages", start_outage)
    add("DELETE", "sim", "/outages", "sim.outages", end_outage)
    add("POST", "sim", "/build-errors", "sim.build_errors", add_build_errors)
    add("POST", "sim", "/resize-errors", "sim.resize_errors", add_resize_errors)
    add("POST", "sim", "/image-volume-errors", "sim.image_volume_errors", add_image_volume_errors)
    add("GET", "sim", "/counts", "sim.counts", counts)
    add("DELETE", "sim", "/counts", "sim.counts", clear_counts)
    add("GET", "sim", "/journal", "sim.journal", journal)
    add("POST", "sim", "/quotas", "sim.quotas", set_quotas)
    add("GET", "sim", "/projects", "sim.projects", projects)
    add("POST", "sim", "/reset", "sim.reset", reset)
