"""Nova's instance actions (`/servers/{id}/os-instance-actions`): what was asked of a server,
by whom, and how each step (event) of it ended.

They matter because Nova's asynchronous failures leave no trace on the server itself: a resize
the scheduler cannot place brings the server back to its old flavor with no fault, and only the
`resize` action (message "Error", events with result "Error") says it failed and why.

Each action is stored at the time of the request with its events planned (start, finish,
result), and shown lazily: an event appears once its start time has passed, and has a
`finish_time` and `result` once its finish time has, so the record always agrees with the
server's state, which is computed from the same timestamps (see `compute.settle`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from cloudsim.app import CloudSim
from cloudsim.compute import load_server, mv
from cloudsim.web import ApiError, Request, Response, Router

KIND = "instance_action"
#: The compute host every event happens on (the `OS-EXT-SRV-ATTR:host` admins see).
HOST = "cloudsim"
MAX_LIMIT = 1000  # Nova's [api] max_limit


def event(
    name: str, start: float, finish: float, error: str | None = None, traceback: str = ""
) -> dict[str, Any]:
    """One planned event; `error` (Nova's exception message) makes its result "Error"."""
    return {
        "event": name,
        "start": start,
        "finish": finish,
        "result": "Error" if error else "Success",
        "details": error,
        "traceback": traceback or None,
    }


def record(
    sim: CloudSim,
    req: Request,
    server: dict[str, Any],
    action: str,
    events: list[dict[str, Any]],
    start: float | None = None,
) -> None:
    """Store the action this request starts on the server.

    As in Nova, `user_id` and `project_id` are the caller's (an admin acting on a member's
    server is named), the request id is the one the answer carries in `x-openstack-request-id`,
    and the record outlives the server (it is keyed by server, not stored in it).
    """
    doc = {
        "id": f"{server['id']}/{req.request_id}",
        "action": action,
        "instance_uuid": server["id"],
        "request_id": req.request_id,
        "user_id": req.ctx.user_id,
        "project_id": req.ctx.project_id,
        "start": start if start is not None else time.time(),
        "host_id": server["hostId"],
        "events": events,
    }
    sim.store.put(KIND, doc, region=server["_region"], project_id=server["tenant_id"])


def cut_short(sim: CloudSim, server: dict[str, Any], now: float) -> None:
    """A server being deleted stops what it was doing: events not yet started never happen, and
    running ones end now (a build or resize interrupted by a delete leaves no future events)."""
    for doc in sim.store.find(KIND, region=server["_region"], instance_uuid=server["id"]):
        kept, changed = [], False
        for item in doc["events"]:
            if item["start"] > now:
                changed = True
                continue
            if item["finish"] > now:
                item["finish"], changed = now, True
            kept.append(item)
        if changed:
            doc["events"] = kept
            sim.store.put(KIND, doc, region=server["_region"], project_id=server["tenant_id"])


def nova_time(ts: float) -> str:
    """Nova's format; its database keeps whole seconds (the lab: 2026-12-01T03:43:49.000000)."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.000000")


def updated_at(doc: dict[str, Any], now: float) -> float:
    """Nova touches the action when it starts and whenever one of its events starts or ends."""
    moments = [doc["start"]]
    for item in doc["events"]:
        if item["start"] <= now:
            moments.append(item["start"])
        if item["finish"] <= now:
            moments.append(item["finish"])
    return max(moments)


def event_view(req: Request, item: dict[str, Any], host_id: str, now: float) -> dict[str, Any]:
    """As Nova's policy shows an event: `traceback` to admins only, `host` to admins from 2.62,
    `hostId` to everyone from 2.62, `details` to admins from 2.84 (policy
    os-instance-actions:events:details is admin-only: members do not see why it failed)."""
    done = item["finish"] <= now
    out: dict[str, Any] = {
        "event": item["event"],
        "start_time": nova_time(item["start"]),
        "finish_time": nova_time(item["finish"]) if done else None,
        "result": item["result"] if done else None,
    }
    admin = req.ctx.is_admin
    if admin:
        out["traceback"] = item["traceback"] if done else None
    if admin and mv(req, (2, 62)):
        out["host"] = HOST
    if mv(req, (2, 62)):
        out["hostId"] = host_id
    if admin and mv(req, (2, 84)):
        out["details"] = item["details"] if done else None
    return out


def action_view(
    req: Request, doc: dict[str, Any], now: float, with_events: bool = False
) -> dict[str, Any]:
    """The action as Nova shows it at `now`: only events that have started, its `message`
    "Error" once one of them has failed."""
    started = [e for e in doc["events"] if e["start"] <= now]
    failed = any(e["result"] == "Error" and e["finish"] <= now for e in started)
    out: dict[str, Any] = {
        "action": doc["action"],
        "instance_uuid": doc["instance_uuid"],
        "request_id": doc["request_id"],
        "user_id": doc["user_id"],
        "project_id": doc["project_id"],
        "start_time": nova_time(doc["start"]),
        # Nova sets the action's message to "Error" when one of its events fails.
        "message": "Error" if failed else None,
    }
    if mv(req, (2, 58)):
        out["updated_at"] = nova_time(updated_at(doc, now))
    if with_events:
        # Newest first, as Nova orders them (created_at desc, id desc).
        order = sorted(enumerate(started), key=lambda p: (p[1]["start"], p[0]), reverse=True)
        out["events"] = [event_view(req, e, doc["host_id"], now) for _, e in order]
    return out


def server_actions(sim: CloudSim, req: Request, server_id: str) -> list[dict[str, Any]]:
    """The server's actions, oldest first, or Nova's 404.

    From 2.21 Nova reads deleted instances too, so a deleted server's actions stay readable by
    its project (and admins); before 2.21 a deleted server is `Instance X could not be found.`
    """
    try:
        server = load_server(sim, req, server_id)
    except ApiError:
        if not mv(req, (2, 21)):
            raise
        project = None if req.ctx.is_admin else req.ctx.project_id
        docs = sim.store.find(KIND, region=req.region, project_id=project, instance_uuid=server_id)
        if not docs:
            raise
        return docs
    return sim.store.find(KIND, region=req.region, instance_uuid=server["id"])


def one_value(req: Request, name: str) -> str | None:
    """Nova's query schema takes each parameter once; a repeated one is a 400."""
    values = req.args(name)
    if len(values) > 1:
        raise ApiError.nova(
            400,
            f"Invalid input for query parameters {name}. Value: {values}. {values} is too long",
        )
    return values[0] if values else None


def parse_time(req: Request, name: str) -> float | None:
    """A `changes-since`/`changes-before` value as a timestamp (no zone: UTC, as Nova reads)."""
    raw = one_value(req, name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError.nova(
            400, f"Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a "
            "'date-time'"
        ) from None  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def check_query(req: Request) -> None:
    """Nova validates the query from 2.58 on (before, anything is ignored)."""
    allowed = ["limit", "marker", "changes-since"]
    if mv(req, (2, 66)):
        allowed.append("changes-before")
    unknown = [k for k in req.query if k not in allowed]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise ApiError.nova(400, f"Additional properties are not allowed ({names} {verb} "
                            "unexpected)")  # fmt: skip


def list_actions(sim: CloudSim, req: Request, server_id: str) -> Response:
    """Newest first; pages and filters only from 2.58, where Nova added them."""
    docs = server_actions(sim, req, server_id)
    docs.reverse()  # newest first
    now = time.time()
    if not mv(req, (2, 58)):
        return Response(200, {"instanceActions": [action_view(req, d, now) for d in docs]})
    check_query(req)
    since, before = parse_time(req, "changes-since"), parse_time(req, "changes-before")
    if since is not None and before is not None and before < since:
        raise ApiError.nova(
            400, "The value of changes-since must be less than or equal to changes-before."
        )
    limit_arg = one_value(req, "limit")
    if limit_arg is not None and not limit_arg.isdigit():
        raise ApiError.nova(
            400, f"Invalid input for query parameters limit. Value: {limit_arg}. "
            f"'{limit_arg}' does not match '^[0-9]*$'"
        )  # fmt: skip
    limit = min(int(limit_arg), MAX_LIMIT) if limit_arg is not None else MAX_LIMIT
    marker = one_value(req, "marker")
    if marker is not None:
        ids = [d["request_id"] for d in docs]
        if marker not in ids:
            # Nova's message names None: its database layer overwrites the marker before
            # formatting the error (seen in the lab).
            raise ApiError.nova(400, "Marker None could not be found.")
        docs = docs[ids.index(marker) + 1 :]
    if since is not None:
        docs = [d for d in docs if int(updated_at(d, now)) >= since]
    if before is not None:
        docs = [d for d in docs if int(updated_at(d, now)) <= before]
    page = docs[:limit]
    body: dict[str, Any] = {"instanceActions": [action_view(req, d, now) for d in page]}
    if limit and len(page) == limit:
        params = {k: v[-1] for k, v in req.query.items() if k != "marker"}
        params["marker"] = page[-1]["request_id"]
        base = f"{req.base_url}/{req.region}/compute/v2.1/servers/{server_id}"
        href = f"{base}/os-instance-actions?{urlencode(sorted(params.items()))}"
        body["links"] = [{"rel": "next", "href": href}]
    return Response(200, body)


def get_action(sim: CloudSim, req: Request, server_id: str, request_id: str) -> Response:
    """One action by the request id that started it, with its events as policy allows."""
    docs = server_actions(sim, req, server_id)
    doc = next((d for d in docs if d["request_id"] == request_id), None)
    if doc is None:
        raise ApiError.nova(404, f"Action {request_id} not found")
    # Events: always for admins; for the server's project from 2.51 (policy
    # os-instance-actions:events is admin-only, 2.51 opened the non-traceback part).
    with_events = req.ctx.is_admin or mv(req, (2, 51))
    return Response(200, {"instanceAction": action_view(req, doc, time.time(), with_events)})


def register(router: Router) -> None:
    path = "/v2.1/servers/{server_id}/os-instance-actions"
    router.add("GET", "compute", path, "compute.server_action.list", list_actions)
    router.add("GET", "compute", path + "/{request_id}", "compute.server_action.get", get_action)
