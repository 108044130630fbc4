"""Nova's resize: `resize` to another flavor, then `confirmResize` or `revertResize`.

The API checks follow nova/compute/api.py (`resize`, `confirm_resize`, `revert_resize`) in its
order: lock, vm_state and task_state, flavor, zero disk, same flavor, quota on growth. What the
compute hosts then do is played from timestamps like a build (see `compute.settle`), over the
build time (`/_sim/build-time`):

- resize: status RESIZE (vm_state `active` or `stopped` as before) through task states
  `resize_prep`, `resize_migrating`, `resize_migrated`, `resize_finish`; then VERIFY_RESIZE
  (vm_state `resized`) with the new flavor, which the quota now counts (Nova counts the flavor
  the instance has, and finish_resize gives it the new one).
- confirmResize: back to ACTIVE, or SHUTOFF if the server was stopped, keeping the new flavor
  (over the action time, `/_sim/action-time`, during which the status stays VERIFY_RESIZE).
- revertResize: REVERT_RESIZE (task `resize_reverting`), then the old flavor and old status.
- a failure (`/_sim/resize-errors`: the scheduler finds no host, as in the lab; or a smaller
  disk, which libvirt refuses on the source host) brings the server back to its old flavor and
  state with no fault and no ERROR; only the `resize` instance action says so.
"""

from __future__ import annotations

import time
from typing import Any

from cloudsim import quota
from cloudsim.app import CloudSim, iso
from cloudsim.compute import (
    ACTIVE,
    POWER_STATES,
    SHUTOFF,
    VM_STATES,
    find_flavor,
    save_server,
    set_status,
)
from cloudsim.compute_actions import event, record
from cloudsim.compute_servers import conflict, quota_used
from cloudsim.web import ApiError, Request, Response

RESIZE, VERIFY_RESIZE, REVERT_RESIZE = "RESIZE", "VERIFY_RESIZE", "REVERT_RESIZE"
RESIZED = "resized"
#: From which fraction of the resize time each task state shows (nova/compute/manager.py:
#: prep_resize on the destination, resize_instance on the source, finish_resize on the
#: destination).
TASK_STEPS = ((0.0, "resize_prep"), (0.3, "resize_migrating"), (0.6, "resize_migrated"),
              (0.75, "resize_finish"))  # fmt: skip
DISK_DOWN = "Resize error: Unable to resize disk down."
NO_VALID_HOST_TRACE = (
    '  File "/usr/lib/python3/dist-packages/nova/conductor/manager.py", line 362, in '
    "migrate_server\n    self._cold_migrate(context, instance, flavor,\n"
    '  File "/usr/lib/python3/dist-packages/nova/conductor/manager.py", line 431, in '
    "_cold_migrate\n    raise exception.NoValidHost(reason=msg)\n"
)
DISK_DOWN_TRACE = (
    '  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 6384, in '
    "_resize_instance\n    disk_info = self.driver.migrate_disk_and_power_off(\n"
    '  File "/usr/lib/python3/dist-packages/nova/virt/libvirt/driver.py", line 12843, in '
    "migrate_disk_and_power_off\n    raise exception.InstanceFaultRollback(\n"
)


def set_state(
    server: dict[str, Any], status: str, vm_state: str, task_state: str | None, power: int
) -> None:
    """Set the status and Nova's extended states if they change (`updated` moves only then)."""
    wanted = {
        "status": status,
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:power_state": power,
    }
    if any(server.get(k) != v for k, v in wanted.items()):
        server.update(wanted)
        server["updated"] = iso()


def resize_task(resize: dict[str, Any], now: float) -> str:
    """The task state at `now`: a scheduler failure never leaves `resize_prep`, a refusal on the
    source host never gets past `resize_migrating`."""
    span = max(resize["done_at"] - resize["start"], 1e-9)
    fraction = (now - resize["start"]) / span
    task = next(name for start, name in reversed(TASK_STEPS) if fraction >= start)
    if resize["fails"] == "scheduler":
        return "resize_prep"
    if resize["fails"] == "compute" and task in ("resize_migrated", "resize_finish"):
        return "resize_migrating"
    return task


def settle_resize(sim: CloudSim, server: dict[str, Any]) -> dict[str, Any]:
    """Bring a server in a resize, confirm or revert to where its timestamps say it is."""
    resize = server["_resize"]
    now = time.time()
    before = {k: server.get(k) for k in ("status", "OS-EXT-STS:task_state", "_flavor")}
    old_status = resize["old_status"]
    phase = resize["phase"]
    if phase == "resize" and now < resize["done_at"]:
        task = resize_task(resize, now)
        # migrate_disk_and_power_off stops the guest on the source host.
        powered_off = task in ("resize_migrated", "resize_finish")
        power = 4 if powered_off else POWER_STATES[old_status]
        set_state(server, RESIZE, VM_STATES[old_status], task, power)
    elif phase == "resize" and resize["fails"]:
        server.pop("_resize")
        set_status(server, old_status)
    elif phase == "resize":
        # finish_resize: the instance has the new flavor, powered on only if it was running.
        server["_flavor"] = resize["new_flavor"]
        server["OS-SRV-USG:launched_at"] = iso(resize["done_at"], micro=True)[:-1]
        resize["phase"] = "verify"
        set_state(server, VERIFY_RESIZE, RESIZED, None, POWER_STATES[old_status])
    elif phase == "revert" and now < resize["done_at"]:
        set_state(server, REVERT_RESIZE, RESIZED, "resize_reverting", POWER_STATES[old_status])
    elif phase == "revert":
        server.pop("_resize")
        server["_flavor"] = resize["old_flavor"]
        server["OS-SRV-USG:launched_at"] = iso(resize["done_at"], micro=True)[:-1]
        set_status(server, old_status)
    elif phase == "confirm" and now >= resize["done_at"]:
        server.pop("_resize")
        set_status(server, old_status)
    if {k: server.get(k) for k in before} != before:
        save_server(sim, server)
    return server


def check_growth(
    sim: CloudSim, server: dict[str, Any], current: dict[str, Any], target: dict[str, Any]
) -> None:
    """Nova's _check_quota_for_upsize: only growth of cores and RAM counts, against the usage
    of the server's project (which includes this server at its current flavor); every
    resource over its limit is named in one message."""
    deltas = {
        "cores": target["vcpus"] - current["vcpus"],
        "ram": target["ram"] - current["ram"],
    }
    deltas = {k: v for k, v in deltas.items() if v > 0}
    if not deltas:
        return
    limits = quota.limits(sim, server["_region"], server["tenant_id"], "compute")
    used = quota_used(sim, server["_region"], server["tenant_id"])
    overs = sorted(k for k, v in deltas.items() if not quota.allows(limits[k], used[k], v))
    if not overs:
        return
    names = ", ".join(overs)
    wanted = ", ".join(str(deltas[k]) for k in overs)
    in_use = ", ".join(str(used[k]) for k in overs)
    allowed = ", ".join(str(limits[k]) for k in overs)
    raise ApiError.nova(
        403,
        f"Quota exceeded for {names}: Requested {wanted}, but already used {in_use} of "
        f"{allowed} {names}",
    )


def check_unlocked_and_idle(
    req: Request, server: dict[str, Any], action: str, vm_states: set[str]
) -> None:
    """Nova's check_instance_lock (admins pass) then check_instance_state (task_state None)."""
    if server.get("locked") and not req.ctx.is_admin:
        raise ApiError.nova(409, f"Instance {server['id']} is locked")
    if server["OS-EXT-STS:vm_state"] not in vm_states:
        raise conflict(server, action)
    task_state = server["OS-EXT-STS:task_state"]
    if task_state is not None:
        raise ApiError.nova(
            409, f"Cannot '{action}' instance {server['id']} while it is in task_state {task_state}"
        )


def invalid(field: str, value: Any, why: str) -> ApiError:
    """Nova's JSON-schema refusal, which quotes the value as Python prints it."""
    return ApiError.nova(400, f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def validate_resize_body(data: Any) -> tuple[str, str | None]:
    """Nova's JSON schema for `resize`: an object with `flavorRef` (string or integer) and
    optionally `OS-DCF:diskConfig`; returns (flavor id, disk config)."""
    if not isinstance(data, dict):
        raise invalid("resize", data, f"{data!r} is not of type 'object'")
    if "flavorRef" not in data:
        raise invalid("resize", data, "'flavorRef' is a required property")
    unexpected = [k for k in data if k not in ("flavorRef", "OS-DCF:diskConfig")]
    if unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        verb = "was" if len(unexpected) == 1 else "were"
        raise invalid("resize", data, f"Additional properties are not allowed ({names} {verb} "
                      "unexpected)")  # fmt: skip
    ref = data["flavorRef"]
    if isinstance(ref, bool) or not isinstance(ref, str | int):
        raise invalid("flavorRef", ref, f"{ref!r} is not of type 'string', 'integer'")
    if ref == "":
        raise invalid("flavorRef", ref, "'' is too short")
    disk_config = data.get("OS-DCF:diskConfig")
    if disk_config is not None and disk_config not in ("AUTO", "MANUAL"):
        raise invalid("OS-DCF:diskConfig", disk_config,
                      f"{disk_config!r} is not one of ['AUTO', 'MANUAL']")  # fmt: skip
    return str(ref), disk_config


def resize_events(
    start: float, span: float, fails: str | None, error: str | None
) -> list[dict[str, Any]]:
    """The events Nova records for a resize, in the order it creates them."""

    def at(fraction: float) -> float:
        return start + fraction * span

    if fails == "scheduler":
        # Seen in the lab: both conductor events fail with NoValidHost's message.
        return [
            event("conductor_migrate_server", start, at(1), error, NO_VALID_HOST_TRACE),
            event("cold_migrate", start, at(1), error, NO_VALID_HOST_TRACE),
        ]
    events = [
        event("conductor_migrate_server", start, at(0.25)),
        event("cold_migrate", start, at(0.25)),
        event("compute_prep_resize", at(0.2), at(0.3)),
    ]
    if fails == "compute":
        events.append(event("compute_resize_instance", at(0.3), at(1), error, DISK_DOWN_TRACE))
    else:
        events.append(event("compute_resize_instance", at(0.3), at(0.75)))
        events.append(event("compute_finish_resize", at(0.75), at(1)))
    return events


def resize(sim: CloudSim, req: Request, server: dict[str, Any], data: Any) -> Response:
    """202 once Nova's API checks pass; the outcome shows on the server and its actions."""
    flavor_id, disk_config = validate_resize_body(data)
    check_unlocked_and_idle(req, server, "resize", {"active", "stopped"})
    flavor = find_flavor(sim, req, flavor_id)
    if not flavor:
        raise ApiError.nova(400, f"Flavor {flavor_id} could not be found.")
    current = server["_flavor"]
    if flavor["disk"] == 0 and current["disk"] != 0:
        # cloudsim's servers boot from images, never from volumes.
        raise ApiError.nova(400, "Server disk was unable to be resized because: Resize to zero "
                            "disk flavor is not allowed.")  # fmt: skip
    if flavor["id"] == current["id"]:
        raise ApiError.nova(400, "When resizing, instances must change flavor!")
    check_growth(sim, server, current, flavor)
    now, span = time.time(), sim.knobs.build_time
    error = sim.knobs.take_resize_error()
    fails = "scheduler" if error else None
    shrinks = flavor["disk"] < current["disk"] or flavor.get("ephemeral", 0) < current.get(
        "ephemeral", 0
    )
    if not error and shrinks:
        # Nova's API accepts this; libvirt's migrate_disk_and_power_off refuses it on the
        # source host and the server rolls back (InstanceFaultRollback).
        fails, error = "compute", DISK_DOWN
    server["_resize"] = {
        "phase": "resize",
        "old_flavor": current,
        "new_flavor": flavor,
        "old_status": ACTIVE if server["status"] == ACTIVE else SHUTOFF,
        "start": now,
        "done_at": now + span,
        "fails": fails,
    }
    # Nova sets auto_disk_config from the request, False (MANUAL) when not given.
    server["OS-DCF:diskConfig"] = disk_config or "MANUAL"
    server["progress"] = 0
    record(sim, req, server, "resize", resize_events(now, span, fails, error), start=now)
    save_server(sim, settle_resize(sim, server))
    return Response(202)


def confirm_resize(sim: CloudSim, req: Request, server: dict[str, Any]) -> Response:
    """204: keep the new flavor; the server returns to the status it had before the resize."""
    check_unlocked_and_idle(req, server, "confirmResize", {RESIZED})
    resize_state = server.get("_resize") or {}
    if resize_state.get("phase") != "verify":
        # Nova finds no migration in status `finished` (a confirm already under way).
        raise ApiError.nova(400, "Instance has not been resized.")
    now, span = time.time(), sim.knobs.action_time
    resize_state.update(phase="confirm", start=now, done_at=now + span)
    record(sim, req, server, "confirmResize", [event("compute_confirm_resize", now, now + span)])
    save_server(sim, settle_resize(sim, server))
    return Response(204)


def revert_resize(sim: CloudSim, req: Request, server: dict[str, Any]) -> Response:
    """202: back to the old flavor and status, through REVERT_RESIZE."""
    check_unlocked_and_idle(req, server, "revertResize", {RESIZED})
    resize_state = server.get("_resize") or {}
    if resize_state.get("phase") != "verify":
        raise ApiError.nova(400, "Instance has not been resized.")
    # Going back to a larger flavor (reverting a shrink) needs the quota for it.
    check_growth(sim, server, server["_flavor"], resize_state["old_flavor"])
    now, span = time.time(), sim.knobs.build_time
    resize_state.update(phase="revert", start=now, done_at=now + span)
    events = [
        event("compute_revert_resize", now, now + span / 2),
        event("compute_finish_revert_resize", now + span / 2, now + span),
    ]
    record(sim, req, server, "revertResize", events, start=now)
    save_server(sim, settle_resize(sim, server))
    return Response(202)


#: Body key -> (handler, operation name for counts, faults and latency).
HANDLERS = {
    "resize": (lambda sim, req, server, body: resize(sim, req, server, body["resize"]),
               "compute.server.resize"),
    "confirmResize": (lambda sim, req, server, body: confirm_resize(sim, req, server),
                      "compute.server.confirm_resize"),
    "revertResize": (lambda sim, req, server, body: revert_resize(sim, req, server),
                     "compute.server.revert_resize"),
}  # fmt: skip
