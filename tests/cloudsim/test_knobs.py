"""The control API: latency, build time, injected failures, counts, quotas, reset."""

from __future__ import annotations

import time

import openstack.exceptions
import pytest
import requests

from cloudsim.control import CloudSimControlError
from tests.cloudsim.conftest import boot


def test_latency_per_operation_and_everywhere(sim, member):
    list(member.compute.flavors())  # discovery and login out of the way
    sim.control.set_latency(0.5, "compute.flavor.list")
    started = time.monotonic()
    list(member.compute.flavors())
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    list(member.network.networks())
    assert time.monotonic() - started < 0.4
    sim.control.clear_latency()
    sim.control.set_latency(0.3)
    started = time.monotonic()
    list(member.network.networks())
    assert time.monotonic() - started >= 0.3
    assert sim.control.state()["latency"] == {"*": 0.3}


@pytest.mark.parametrize("status", [500, 503])
def test_fail_next_calls_then_recover(sim, member, status):
    sim.control.fail("network.network.create", status=status, times=2)
    for _ in range(2):
        r = member.network.post("/networks", json={"network": {"name": "flaky"}})
        assert r.status_code == status
        assert "NeutronError" in r.json()
    assert not [n for n in member.network.networks() if n.name == "flaky"]
    created = member.network.create_network(name="flaky")
    member.network.delete_network(created)
    assert sim.control.count("network.network.create") == 3


def test_glob_faults_and_compute_shape(sim, member):
    sim.control.fail("compute.*", status=503)
    r = member.compute.get("/flavors", microversion="2.79")
    assert r.status_code == 503
    assert r.json() == {"serviceUnavailable": {"code": 503, "message": "Service Unavailable"}}
    assert member.compute.get("/flavors", microversion="2.79").status_code == 200


def test_lost_response_creates_anyway(sim, member, net):
    sim.control.lose_response("compute.server.create")
    with pytest.raises(openstack.exceptions.HttpException) as err:
        boot(member, net.id, name="lost")
    assert err.value.status_code == 500
    assert [s.name for s in member.compute.servers()] == ["lost"]


def test_hang_past_client_timeout(sim, member):
    sim.control.hang("network.router.list", seconds=2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{sim.base_url}/RegionOne/network/v2.0/routers",
            headers={"X-Auth-Token": member.auth_token},
            timeout=0.5,
        )
    assert time.monotonic() - started < 1.5
    time.sleep(1.6)  # let the hung request finish before the next test
    assert list(member.network.routers()) == []


def test_hang_with_apply_does_the_work(sim, member):
    sim.control.hang("network.network.create", seconds=0.5, apply=True)
    r = member.network.post("/networks", json={"network": {"name": "slow-but-made"}})
    assert r.status_code == 503
    made = [n for n in member.network.networks() if n.name == "slow-but-made"]
    assert len(made) == 1
    member.network.delete_network(made[0])


def test_next_builds_end_in_error(sim, member, net):
    sim.control.set_build_time(0.1)
    sim.control.fail_builds("No valid host was found.", times=1)
    bad = boot(member, net.id, name="doomed")
    good = boot(member, net.id, name="fine")
    time.sleep(0.3)
    bad = member.compute.get_server(bad.id)
    assert bad.status == "ERROR"
    assert bad.fault["message"] == "No valid host was found."
    assert bad.fault["code"] == 500 and bad.fault["created"]
    assert bad.addresses == {}
    assert member.compute.get_server(good.id).status == "ACTIVE"


def test_counts_and_reset(sim, member, admin):
    admin.identity.create_project(name="temporary", domain_id="default")
    list(member.compute.flavors())
    counts = sim.control.counts()
    assert counts["compute.flavor.list"] >= 1
    sim.control.clear_counts()
    assert sim.control.counts() == {}
    sim.control.reset()
    assert "temporary" not in {p["name"] for p in sim.control.projects()}
    assert {"admin", "team-a", "team-b"} <= {p["name"] for p in sim.control.projects()}
    assert list(member.compute.flavors())  # tokens are re-issued after a reset


def test_control_api_rejects_nonsense(sim):
    with pytest.raises(CloudSimControlError):
        sim.control._call("POST", "/faults", {"operation": "x", "mode": "explode"})
    with pytest.raises(CloudSimControlError):
        sim.control.set_quotas(project_name="no-such-project", compute={"instances": 1})


def test_delete_time_keeps_the_server_deleting_for_a_while(sim, member, net):
    sim.control.set_build_time(0)
    sim.control.set_delete_time(0.5)
    server = boot(member, net.id, name="lingering")
    member.compute.delete_server(server)
    lingering = member.compute.get_server(server.id)
    assert lingering.task_state == "deleting"
    assert member.compute.delete(f"/servers/{server.id}").status_code == 204
    member.compute.wait_for_delete(lingering, interval=0.1, wait=5)
    assert list(member.network.ports(device_id=server.id)) == []
