"""Nova as cloudsim serves it: versions, microversion headers, servers, errors, quotas."""

from __future__ import annotations

import time

import pytest
import requests

from tests.cloudsim.conftest import boot


def test_version_documents(sim, member):
    root = requests.get(f"{sim.base_url}/RegionOne/compute/", timeout=5).json()
    current = next(v for v in root["versions"] if v["id"] == "v2.1")
    assert current["min_version"] == "2.1"
    assert tuple(int(x) for x in current["version"].split(".")) >= (2, 79)
    doc = requests.get(f"{sim.base_url}/RegionOne/compute/v2.1", timeout=5).json()["version"]
    assert doc["version"] == current["version"]
    assert doc["links"][0]["href"].endswith("/RegionOne/compute/v2.1/")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "2.1"),
        ({"OpenStack-API-Version": "compute 2.79"}, "2.79"),
        ({"X-OpenStack-Nova-API-Version": "2.60"}, "2.60"),
        ({"OpenStack-API-Version": "compute latest"}, "2.100"),
    ],
)
def test_microversion_headers(member, headers, expected):
    r = member.compute.get("/flavors", headers=headers, microversion=None)
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == f"compute {expected}"
    assert r.headers["X-OpenStack-Nova-API-Version"] == expected


def test_unsupported_microversion_is_406(member):
    r = member.compute.get("/flavors", headers={"OpenStack-API-Version": "compute 3.0"})
    assert r.status_code == 406
    assert "Version 3.0 is not supported" in r.json()["computeFault"]["message"]


def test_server_lifecycle_and_representation(sim, member, net):
    server = boot(member, net.id, name="life", tags=["portal-request-1"], metadata={"k": "v"})
    assert member.compute.get_server(server.id).status == "BUILD"
    server = member.compute.wait_for_server(server, interval=0.2, wait=10)
    assert server.status == "ACTIVE"
    assert server.flavor.original_name == "m1.tiny"
    assert server.tags == ["portal-request-1"]
    assert server.metadata == {"k": "v"}
    (address,) = server.addresses["sim-test-net"]
    assert address["addr"] == "10.50.0.2" and address["OS-EXT-IPS:type"] == "fixed"
    old = member.compute.get(f"/servers/{server.id}", microversion="2.1").json()["server"]
    assert set(old["flavor"]) == {"id", "links"} and "tags" not in old
    ports = list(member.network.ports(device_id=server.id))
    assert [p.device_owner for p in ports] == ["compute:nova"]
    member.compute.stop_server(server)
    assert member.compute.get_server(server.id).status == "SHUTOFF"
    member.compute.start_server(server)
    member.compute.reboot_server(server, "HARD")
    assert member.compute.get_server(server.id).status == "ACTIVE"
    member.compute.delete_server(server)
    missing = member.compute.get(f"/servers/{server.id}", microversion="2.79")
    assert missing.status_code == 404
    assert missing.json() == {
        "itemNotFound": {"code": 404, "message": f"Instance {server.id} could not be found."}
    }
    assert list(member.network.ports(device_id=server.id)) == []


def test_filters_and_pagination(sim, member, net):
    sim.control.set_build_time(0)
    for i in range(5):
        boot(member, net.id, name=f"page-{i}", tags=["even" if i % 2 == 0 else "odd", "all"])
    first = member.compute.get("/servers?limit=2", microversion="2.79").json()
    assert len(first["servers"]) == 2 and first["servers_links"][0]["rel"] == "next"
    assert [s.name for s in member.compute.servers(limit=2)] == [
        f"page-{i}" for i in range(4, -1, -1)
    ]
    assert {s.name for s in member.compute.servers(tags="even")} == {"page-0", "page-2", "page-4"}
    assert len(list(member.compute.servers(tags="even,all"))) == 3
    assert len(list(member.compute.servers(any_tags="even,odd"))) == 5
    assert [s.name for s in member.compute.servers(name="^page-3$")] == ["page-3"]
    assert len(list(member.compute.servers(name="page"))) == 5
    assert len(list(member.compute.servers(status="ACTIVE"))) == 5
    assert list(member.compute.servers(status="SHUTOFF")) == []
    bad = member.compute.get("/servers?marker=nope", microversion="2.79")
    assert (
        bad.status_code == 400 and bad.json()["badRequest"]["message"] == "marker [nope] not found"
    )


def test_quota_exceeded_is_nova_shaped(sim, member, net):
    sim.control.set_quotas(project_name="team-a", region="RegionOne", compute={"instances": 1})
    try:
        boot(member, net.id, name="one")
        flavor = member.compute.find_flavor("m1.tiny")
        image = next(iter(member.image.images()))
        body = {"server": {"name": "two", "flavorRef": flavor.id, "imageRef": image.id,
                           "networks": [{"uuid": net.id}]}}  # fmt: skip
        r = member.compute.post("/servers", json=body, microversion="2.79")
        assert r.status_code == 403
        assert r.json() == {
            "forbidden": {
                "code": 403,
                "message": "Quota exceeded for instances: Requested 1, but already used 1 of 1 "
                "instances",
            }
        }
        quota = member.compute.get_quota_set(member.current_project_id, usage=True)
        assert quota.instances == 1 and quota.usage["instances"] == 1
        assert member.compute.get_limits().absolute.instances_used == 1
    finally:
        sim.control.set_quotas(project_name="team-a", compute={"instances": 10})


def test_quota_update_needs_admin(member, admin):
    project_id = member.current_project_id
    r = member.compute.put(
        f"/os-quota-sets/{project_id}", json={"quota_set": {"cores": 5}}, microversion="2.79"
    )
    assert r.status_code == 403
    admin.compute.update_quota_set(project_id, cores=33)
    assert member.compute.get_quota_set(project_id).cores == 33
    admin.compute.update_quota_set(project_id, cores=20)


def test_bad_requests(member, net):
    r = member.compute.post(
        "/servers",
        json={"server": {"name": "x", "flavorRef": "nope", "imageRef": "x", "networks": "none"}},
        microversion="2.79",
    )
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Flavor nope could not be found."
    r = member.compute.post(
        "/servers", json={"server": {"name": "x", "flavorRef": "1", "imageRef": "x"}},
        microversion="2.79",
    )  # fmt: skip
    assert "'networks' is a required property" in r.json()["badRequest"]["message"]


def test_keypairs(member):
    from tests.keys import ed25519_key

    created = member.compute.create_keypair(name="ops", public_key=ed25519_key("ops@agency"))
    assert len(created.fingerprint.split(":")) == 16
    assert [k.name for k in member.compute.keypairs()] == ["ops"]
    member.compute.delete_keypair("ops")
    assert list(member.compute.keypairs()) == []


def test_build_is_lazy_and_timed(sim, member, net):
    sim.control.set_build_time(1.0)
    server = boot(member, net.id, name="slow")
    started = time.monotonic()
    member.compute.wait_for_server(server, interval=0.1, wait=10)
    assert 0.7 < time.monotonic() - started < 3
