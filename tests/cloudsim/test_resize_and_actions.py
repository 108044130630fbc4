"""Nova's resize (resize, confirmResize, revertResize) and instance actions, as cloudsim serves
them through openstacksdk, pinned to what the lab's Nova showed:

- a resize the scheduler cannot place (the lab: one host, no resize to the same host) is
  accepted (202), shows RESIZE / resize_prep, then the server is back on its old flavor and
  status with no fault; only the `resize` action says "Error", with NoValidHost's message in
  its events' `details` (admins, 2.84) and a traceback (admins);
- the API's refusals and their messages; quota on growth;
- os-instance-actions: fields per microversion and policy, pages, deleted servers (2.21).
"""

from __future__ import annotations

import time
from typing import Any

import openstack.connection
import pytest

from tests.cloudsim.conftest import boot

MV = "2.100"
NO_VALID_HOST = "No valid host was found. No valid host found for resize"
RESIZE_TASKS = ["resize_prep", "resize_migrating", "resize_migrated", "resize_finish"]


@pytest.fixture(autouse=True)
def quick_actions(sim):
    """Confirm and stop/start finish at once here (another test may have slowed them)."""
    sim.control.set_action_time(0)
    yield
    sim.control.set_action_time(0)


def raw(conn: openstack.connection.Connection, server_id: str) -> dict[str, Any]:
    return conn.compute.get(f"/servers/{server_id}", microversion=MV).json()["server"]


def act(conn: openstack.connection.Connection, server_id: str, body: dict[str, Any], mv=MV):
    return conn.compute.post(f"/servers/{server_id}/action", json=body, microversion=mv)


def active(conn, network_id: str, name: str = "vm", flavor: str | None = None):
    if flavor is None:
        server = boot(conn, network_id, name=name)
    else:
        image = next(i for i in conn.image.images() if i.name.startswith("cirros"))
        server = conn.compute.create_server(
            name=name, flavor_id=flavor, image_id=image.id, networks=[{"uuid": network_id}]
        )
    return conn.compute.wait_for_server(server, interval=0.1, wait=10)


def states(server: dict[str, Any]) -> tuple[Any, ...]:
    return (
        server["status"],
        server["OS-EXT-STS:vm_state"],
        server["OS-EXT-STS:task_state"],
        server["flavor"]["original_name"],
    )


def settle_to(conn, server_id: str, status: str, wait: float = 10) -> dict[str, Any]:
    """Poll until the server shows `status` with no task; return every state seen on the way."""
    seen: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        server = raw(conn, server_id)
        if not seen or seen[-1] != states(server):
            seen.append(states(server))
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return {"server": server, "seen": seen}
        time.sleep(0.05)
    raise AssertionError(f"{server_id} never became {status}: {seen}")


def usage(conn) -> tuple[int, int]:
    absolute = conn.compute.get_limits().absolute
    return absolute.total_cores_used, absolute.total_ram_used


def test_resize_then_confirm(sim, member, net):
    sim.control.set_build_time(1.0)
    server = active(member, net.id, name="grow")
    addresses = raw(member, server.id)["addresses"]
    assert usage(member) == (1, 512)
    r = act(member, server.id, {"resize": {"flavorRef": "3"}})
    assert r.status_code == 202 and r.text == ""
    resizing = raw(member, server.id)
    assert states(resizing) == ("RESIZE", "active", "resize_prep", "m1.tiny")
    assert resizing["addresses"] == addresses and "fault" not in resizing
    assert usage(member) == (1, 512)  # the old flavor until the new one is running
    done = settle_to(member, server.id, "VERIFY_RESIZE")
    tasks = [seen[2] for seen in done["seen"][:-1]]  # in order, though polling may skip one
    assert tasks[0] == "resize_prep" and tasks == sorted(tasks, key=RESIZE_TASKS.index)
    verify = done["server"]
    assert states(verify) == ("VERIFY_RESIZE", "resized", None, "m1.medium")
    assert verify["flavor"]["vcpus"] == 2 and verify["flavor"]["ram"] == 4096
    assert verify["OS-EXT-STS:power_state"] == 1 and verify["addresses"] == addresses
    assert usage(member) == (2, 4096)  # Nova counts the flavor the instance now has
    assert [s.name for s in member.compute.servers(status="VERIFY_RESIZE")] == ["grow"]
    confirm = act(member, server.id, {"confirmResize": None})
    assert confirm.status_code == 204
    assert states(raw(member, server.id)) == ("ACTIVE", "active", None, "m1.medium")
    assert usage(member) == (2, 4096)
    assert member.compute.get_server(server.id).flavor.original_name == "m1.medium"
    actions = list(member.compute.server_actions(server))
    assert [a.action for a in actions] == ["confirmResize", "resize", "create"]
    assert actions[0].request_id == confirm.headers["x-openstack-request-id"]
    assert actions[1].request_id == r.headers["x-openstack-request-id"]
    assert all(a.message is None for a in actions)
    detail = member.compute.get_server_action(actions[1].request_id, server.id)
    assert [(e.event, e.result) for e in detail.events] == [
        ("compute_finish_resize", "Success"),
        ("compute_resize_instance", "Success"),
        ("compute_prep_resize", "Success"),
        ("cold_migrate", "Success"),
        ("conductor_migrate_server", "Success"),
    ]


def test_resize_of_a_stopped_server_ends_stopped(sim, member, net):
    sim.control.set_build_time(0.5)
    server = active(member, net.id, name="cold")
    member.compute.stop_server(server)
    member.compute.resize_server(server, "2")
    assert states(raw(member, server.id))[:3] == ("RESIZE", "stopped", "resize_prep")
    verify = settle_to(member, server.id, "VERIFY_RESIZE")["server"]
    assert verify["OS-EXT-STS:power_state"] == 4  # finish_resize leaves it powered off
    member.compute.confirm_server_resize(server)
    stopped = raw(member, server.id)
    assert states(stopped) == ("SHUTOFF", "stopped", None, "m1.small")
    assert stopped["OS-EXT-STS:power_state"] == 4


def test_revert_goes_back_to_the_old_flavor_and_status(sim, member, net):
    sim.control.set_build_time(0.6)
    server = active(member, net.id, name="undo")
    member.compute.resize_server(server, "2")
    settle_to(member, server.id, "VERIFY_RESIZE")
    assert usage(member) == (1, 2048)
    r = act(member, server.id, {"revertResize": None})
    assert r.status_code == 202
    assert states(raw(member, server.id)) == (
        "REVERT_RESIZE", "resized", "resize_reverting", "m1.small"
    )  # fmt: skip
    again = act(member, server.id, {"revertResize": None})
    assert again.status_code == 409
    assert again.json()["conflictingRequest"]["message"] == (
        f"Cannot 'revertResize' instance {server.id} while it is in task_state resize_reverting"
    )
    back = settle_to(member, server.id, "ACTIVE")["server"]
    assert states(back) == ("ACTIVE", "active", None, "m1.tiny")
    assert usage(member) == (1, 512)
    revert = member.compute.get_server_action(r.headers["x-openstack-request-id"], server.id)
    assert revert.action == "revertResize"
    assert [e.event for e in revert.events] == [
        "compute_finish_revert_resize", "compute_revert_resize"
    ]  # fmt: skip


def test_refusals_are_novas(sim, member, net):
    sim.control.set_build_time(2.0)  # resize_prep for 0.6 s
    server = active(member, net.id, name="picky")
    sid = server.id

    def refused(body: dict[str, Any], status: int, message: str) -> None:
        r = act(member, sid, body)
        key = {400: "badRequest", 409: "conflictingRequest"}[status]
        assert (r.status_code, r.json()) == (status, {key: {"code": status, "message": message}})

    refused({"resize": {"flavorRef": "nope"}}, 400, "Flavor nope could not be found.")
    refused({"resize": {"flavorRef": "1"}}, 400, "When resizing, instances must change flavor!")
    refused({"resize": {"flavorRef": 1}}, 400, "When resizing, instances must change flavor!")
    refused({"resize": {}}, 400, "Invalid input for field/attribute resize. Value: {}. "
            "'flavorRef' is a required property")  # fmt: skip
    refused({"resize": None}, 400, "Invalid input for field/attribute resize. Value: None. None "
            "is not of type 'object'")  # fmt: skip
    refused({"resize": {"flavorRef": "2", "extra": 1}}, 400, "Invalid input for field/attribute "
            "resize. Value: {'flavorRef': '2', 'extra': 1}. Additional properties are not allowed "
            "('extra' was unexpected)")  # fmt: skip
    refused({"resize": {"flavorRef": "2", "OS-DCF:diskConfig": "BOGUS"}}, 400, "Invalid input "
            "for field/attribute OS-DCF:diskConfig. Value: BOGUS. 'BOGUS' is not one of "
            "['AUTO', 'MANUAL']")  # fmt: skip
    for name in ("confirmResize", "revertResize"):
        refused({name: None}, 409, f"Cannot '{name}' instance {sid} while it is in vm_state active")
    assert act(member, sid, {"resize": {"flavorRef": "2"}}).status_code == 202
    refused({"resize": {"flavorRef": "3"}}, 409,
            f"Cannot 'resize' instance {sid} while it is in task_state resize_prep")  # fmt: skip
    refused({"os-stop": None}, 409,
            f"Cannot 'stop' instance {sid} while it is in task_state resize_prep")  # fmt: skip
    settle_to(member, sid, "VERIFY_RESIZE")
    refused({"os-stop": None}, 409, f"Cannot 'stop' instance {sid} while it is in vm_state resized")
    refused({"resize": {"flavorRef": "3"}}, 409,
            f"Cannot 'resize' instance {sid} while it is in vm_state resized")  # fmt: skip
    # Only what was accepted is recorded.
    assert [a.action for a in member.compute.server_actions(sid)] == ["resize", "create"]
    building = boot(member, net.id, name="young")
    refused_building = act(member, building.id, {"resize": {"flavorRef": "2"}})
    assert refused_building.json()["conflictingRequest"]["message"] == (
        f"Cannot 'resize' instance {building.id} while it is in vm_state building"
    )


def test_growth_needs_quota(sim, member, net):
    sim.control.set_build_time(1.0)
    server = active(member, net.id, name="hungry")
    try:
        sim.control.set_quotas(project_name="team-a", compute={"cores": 1})
        r = act(member, server.id, {"resize": {"flavorRef": "3"}})
        assert (r.status_code, r.json()) == (403, {"forbidden": {"code": 403, "message":
            "Quota exceeded for cores: Requested 1, but already used 1 of 1 cores"}})  # fmt: skip
        sim.control.set_quotas(project_name="team-a", compute={"cores": 1, "ram": 1000})
        r = act(member, server.id, {"resize": {"flavorRef": "3"}})
        assert r.json()["forbidden"]["message"] == (
            "Quota exceeded for cores, ram: Requested 1, 3584, but already used 1, 512 of 1, 1000 "
            "cores, ram"
        )
        # The same cores and less RAM: nothing grows, nothing to check.
        assert act(member, server.id, {"resize": {"flavorRef": "42"}}).status_code == 202
        assert raw(member, server.id)["status"] == "RESIZE"
    finally:
        sim.control.set_quotas(project_name="team-a", compute={"cores": 20, "ram": 51200})


def test_a_resize_with_no_host_comes_back_unchanged_as_in_the_lab(sim, member, admin, net):
    sim.control.set_build_time(0.8)
    server = active(member, net.id, name="nohost")
    sim.control.fail_resizes(times=1)
    r = act(member, server.id, {"resize": {"flavorRef": "3"}})
    assert r.status_code == 202
    request_id = r.headers["x-openstack-request-id"]
    outcome = settle_to(member, server.id, "ACTIVE")
    assert outcome["seen"] == [
        ("RESIZE", "active", "resize_prep", "m1.tiny"),
        ("ACTIVE", "active", None, "m1.tiny"),
    ]
    assert "fault" not in outcome["server"] and usage(member) == (1, 512)
    (latest, created) = member.compute.server_actions(server)
    assert (latest.action, latest.request_id, latest.message) == ("resize", request_id, "Error")
    assert created.message is None
    mine = member.compute.get_server_action(request_id, server.id)
    assert [(e.event, e.result) for e in mine.events] == [
        ("cold_migrate", "Error"), ("conductor_migrate_server", "Error")
    ]  # fmt: skip
    # Policy: members see neither the traceback nor (2.84) the details.
    assert all(e.details is None and e.traceback is None and e.host is None for e in mine.events)
    theirs = admin.compute.get_server_action(request_id, server.id)
    assert {e.details for e in theirs.events} == {NO_VALID_HOST}
    assert all("NoValidHost" in e.traceback and e.host == "cloudsim" for e in theirs.events)
    # The knob is used up: the next resize works.
    member.compute.resize_server(server, "3")
    assert settle_to(member, server.id, "VERIFY_RESIZE")["server"]["flavor"]["vcpus"] == 2


def test_a_stopped_server_whose_resize_fails_stays_stopped(sim, member, net):
    sim.control.set_build_time(0.6)
    server = active(member, net.id, name="cold-nohost")
    member.compute.stop_server(server)
    sim.control.fail_resizes("No valid host was found. There are not enough hosts available.")
    member.compute.resize_server(server, "2")
    assert states(raw(member, server.id))[:3] == ("RESIZE", "stopped", "resize_prep")
    assert states(settle_to(member, server.id, "SHUTOFF")["server"]) == (
        "SHUTOFF", "stopped", None, "m1.tiny"
    )  # fmt: skip


def test_a_smaller_disk_is_refused_by_the_host_not_the_api(sim, member, admin, net):
    """Nova's API accepts it; libvirt refuses on the source host and the server rolls back."""
    sim.control.set_build_time(0.5)
    server = active(member, net.id, name="shrink", flavor="2")  # m1.small, 20 GB
    r = act(member, server.id, {"resize": {"flavorRef": "1"}})  # m1.tiny, 1 GB
    assert r.status_code == 202
    back = settle_to(member, server.id, "ACTIVE")
    assert back["seen"][0][:3] == ("RESIZE", "active", "resize_prep")
    assert states(back["server"]) == ("ACTIVE", "active", None, "m1.small")
    action = admin.compute.get_server_action(r.headers["x-openstack-request-id"], server.id)
    assert action.message == "Error"
    assert [(e.event, e.result, e.details) for e in action.events] == [
        ("compute_resize_instance", "Error", "Resize error: Unable to resize disk down."),
        ("compute_prep_resize", "Success", None),
        ("cold_migrate", "Success", None),
        ("conductor_migrate_server", "Success", None),
    ]


def test_instance_action_fields_follow_microversion_and_policy(sim, member, admin, net):
    sim.control.set_build_time(0)
    server = active(member, net.id, name="shapes")
    sim.control.fail_resizes(times=1)
    rid = act(member, server.id, {"resize": {"flavorRef": "2"}}).headers["x-openstack-request-id"]
    base = f"/servers/{server.id}/os-instance-actions"
    keys = {"action", "instance_uuid", "request_id", "user_id", "project_id", "start_time",
            "message"}  # fmt: skip
    old = member.compute.get(base, microversion="2.1").json()["instanceActions"]
    assert [set(a) for a in old] == [keys, keys]
    new = member.compute.get(base, microversion="2.58").json()["instanceActions"][0]
    assert set(new) == keys | {"updated_at"}
    assert new["instance_uuid"] == server.id and new["request_id"] == rid
    assert new["user_id"] == member.current_user_id
    assert new["project_id"] == member.current_project_id
    assert new["start_time"].endswith(".000000") and "Z" not in new["start_time"]

    def event_keys(conn, mv: str) -> list[set[str]] | None:
        body = conn.compute.get(f"{base}/{rid}", microversion=mv).json()["instanceAction"]
        return [set(e) for e in body["events"]] if "events" in body else None

    plain = {"event", "start_time", "finish_time", "result"}
    assert event_keys(member, "2.50") is None  # events for members only from 2.51
    assert event_keys(member, "2.51") == [plain] * 2
    assert event_keys(member, "2.84") == [plain | {"hostId"}] * 2
    assert event_keys(admin, "2.1") == [plain | {"traceback"}] * 2
    assert event_keys(admin, "2.62") == [plain | {"traceback", "host", "hostId"}] * 2
    assert event_keys(admin, "2.84") == [plain | {"traceback", "host", "hostId", "details"}] * 2
    missing = member.compute.get(f"{base}/req-nope", microversion=MV)
    assert (missing.status_code, missing.json()["itemNotFound"]["message"]) == (
        404, "Action req-nope not found"
    )  # fmt: skip


def test_running_events_have_no_finish_yet(sim, member, net):
    sim.control.set_build_time(0.3)
    server = active(member, net.id, name="slow")
    sim.control.set_build_time(3)
    rid = act(member, server.id, {"resize": {"flavorRef": "2"}}).headers["x-openstack-request-id"]
    action = member.compute.get_server_action(rid, server.id)
    assert action.message is None
    assert {(e.event, e.finish_time, e.result) for e in action.events} == {
        ("cold_migrate", None, None), ("conductor_migrate_server", None, None)
    }  # fmt: skip


def test_every_lifecycle_action_is_recorded_and_outlives_the_server(sim, member, admin, sdk, net):
    sim.control.set_build_time(0)
    server = active(member, net.id, name="diary")
    ids = []
    for body in ({"os-stop": None}, {"os-start": None}, {"reboot": {"type": "HARD"}}):
        ids.append(act(member, server.id, body).headers["x-openstack-request-id"])
    deleted = member.compute.delete(f"/servers/{server.id}", microversion=MV)
    ids.append(deleted.headers["x-openstack-request-id"])
    path = f"/servers/{server.id}/os-instance-actions"
    assert member.compute.get(path, microversion="2.20").status_code == 404
    listed = member.compute.get(path, microversion="2.21").json()["instanceActions"]
    assert [(a["action"], a["request_id"]) for a in listed[:4]] == list(
        zip(["delete", "reboot", "start", "stop"], ids[::-1], strict=True)
    )
    assert listed[-1]["action"] == "create"
    delete = member.compute.get(f"{path}/{ids[-1]}", microversion="2.84").json()["instanceAction"]
    assert [(e["event"], e["result"]) for e in delete["events"]] == [
        ("compute_terminate_instance", "Success")
    ]
    assert admin.compute.get(path, microversion="2.21").status_code == 200
    # Another project sees neither the live nor the deleted server's actions.
    other = sdk(sim.other_cloud)
    assert other.compute.get(path, microversion="2.21").status_code == 404


def test_another_project_gets_404(sim, member, sdk, net):
    sim.control.set_build_time(0)
    server = active(member, net.id, name="mine")
    rid = next(iter(member.compute.server_actions(server))).request_id
    other = sdk(sim.other_cloud)
    for path in (f"/servers/{server.id}/os-instance-actions",
                 f"/servers/{server.id}/os-instance-actions/{rid}"):  # fmt: skip
        r = other.compute.get(path, microversion=MV)
        assert (r.status_code, r.json()["itemNotFound"]["message"]) == (
            404, f"Instance {server.id} could not be found."
        )  # fmt: skip
    r = act(other, server.id, {"resize": {"flavorRef": "2"}})
    assert r.status_code == 404
    assert raw(member, server.id)["status"] == "ACTIVE"


def test_pages_and_filters_from_2_58(sim, member, net):
    sim.control.set_build_time(0)
    server = active(member, net.id, name="pages")
    member.compute.stop_server(server)
    member.compute.start_server(server)
    base = f"/servers/{server.id}/os-instance-actions"
    first = member.compute.get(f"{base}?limit=2", microversion=MV).json()
    assert [a["action"] for a in first["instanceActions"]] == ["start", "stop"]
    (link,) = first["links"]
    assert link["rel"] == "next"
    marker = first["instanceActions"][-1]["request_id"]
    assert link["href"].endswith(f"{base}?limit=2&marker={marker}")
    rest = member.compute.get(f"{base}?limit=2&marker={marker}", microversion=MV).json()
    assert [a["action"] for a in rest["instanceActions"]] == ["create"] and "links" not in rest
    assert [a.action for a in member.compute.server_actions(server)] == ["start", "stop", "create"]

    def refusal(query: str) -> str:
        r = member.compute.get(f"{base}?{query}", microversion=MV)
        assert r.status_code == 400
        return r.json()["badRequest"]["message"]

    assert refusal("marker=req-nope") == "Marker None could not be found."  # sic, as Nova says
    assert refusal("foo=1") == "Additional properties are not allowed ('foo' was unexpected)"
    assert refusal("limit=abc") == (
        "Invalid input for query parameters limit. Value: abc. 'abc' does not match '^[0-9]*$'"
    )
    assert refusal("changes-since=junk") == (
        "Invalid input for query parameters changes-since. Value: junk. 'junk' is not a 'date-time'"
    )
    future = member.compute.get(f"{base}?changes-since=2999-01-01T00:00:00Z", microversion=MV)
    assert future.json() == {"instanceActions": []}
    # Before 2.58 the query is ignored and everything comes in one page.
    old = member.compute.get(f"{base}?limit=1&foo=1", microversion="2.57").json()
    assert len(old["instanceActions"]) == 3 and "links" not in old


def test_resize_operations_are_counted_and_take_faults(sim, member, net):
    sim.control.set_build_time(0)
    server = active(member, net.id, name="faulty")
    sim.control.clear_counts()
    sim.control.fail("compute.server.resize", status=503)
    r = act(member, server.id, {"resize": {"flavorRef": "2"}})
    assert r.status_code == 503
    assert states(raw(member, server.id)) == ("ACTIVE", "active", None, "m1.tiny")
    assert [a.action for a in member.compute.server_actions(server)] == ["create"]
    member.compute.stop_server(server)  # other actions are `compute.server.action`
    member.compute.resize_server(server, "2")
    member.compute.confirm_server_resize(server)
    counts = sim.control.counts()
    assert counts["compute.server.resize"] == 2
    assert counts["compute.server.confirm_resize"] == 1
    assert counts["compute.server.action"] == 1
    assert counts["compute.server_action.list"] == 1
    assert "compute.server.revert_resize" not in counts
