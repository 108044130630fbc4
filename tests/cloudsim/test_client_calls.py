"""cloudsim's side of the Nova calls the openstack CLI and Ansible make, where the lab cannot
show them (a quota that lets only some of a multiple create through, a console asked for while
building) or where only the raw request shows what the client sends."""

from __future__ import annotations

from tests.cloudsim.conftest import boot


def image_and_flavor(conn):
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    image = next(i for i in conn.image.images() if i.name.startswith("cirros"))
    return image, flavor


def test_the_clis_image_mapping_is_a_plain_image_boot(member, net):
    image, flavor = image_and_flavor(member)
    mapping = {"uuid": image.id, "boot_index": 0, "source_type": "image",
               "destination_type": "local", "delete_on_termination": True}  # fmt: skip
    body = {"server": {"name": "cli-boot", "flavorRef": flavor.id, "imageRef": image.id,
                       "networks": [{"uuid": net.id}],
                       "block_device_mapping_v2": [mapping]}}  # fmt: skip
    made = member.compute.post("/servers", json=body, microversion="2.100")
    assert made.status_code == 202
    server = member.compute.get_server(made.json()["server"]["id"])
    assert server.image.id == image.id


def test_a_multiple_create_makes_as_many_as_the_quota_allows(sim, member, net):
    image, flavor = image_and_flavor(member)
    sim.control.set_quotas(project_name="team-a", region="RegionOne", compute={"instances": 3})
    try:
        boot(member, net.id, name="first")
        body = {"server": {"name": "batch", "flavorRef": flavor.id, "imageRef": image.id,
                           "networks": [{"uuid": net.id}],
                           "min_count": 1, "max_count": 5}}  # fmt: skip
        assert member.compute.post("/servers", json=body, microversion="2.100").status_code == 202
        names = sorted(s.name for s in member.compute.servers(name="^batch-"))
        assert names == ["batch-1", "batch-2"]
        body["server"].update(name="more", min_count=2, max_count=2)
        refused = member.compute.post("/servers", json=body, microversion="2.100")
        assert refused.status_code == 403
        assert refused.json()["forbidden"]["message"] == (
            "Quota exceeded for instances: Requested 2, but already used 3 of 3 instances"
        )
        body["server"].update(min_count=3, max_count=2)
        bad = member.compute.post("/servers", json=body, microversion="2.100")
        assert bad.json()["badRequest"]["message"] == "min_count must be <= max_count"
    finally:
        sim.control.set_quotas(project_name="team-a", compute={"instances": 10})


def test_a_multiple_create_cannot_share_one_port(member, net):
    image, flavor = image_and_flavor(member)
    port = member.network.create_port(network_id=net.id)
    body = {"server": {"name": "shared", "flavorRef": flavor.id, "imageRef": image.id,
                       "networks": [{"port": port.id}], "max_count": 2}}  # fmt: skip
    refused = member.compute.post("/servers", json=body, microversion="2.100")
    assert refused.status_code == 400
    assert "single configured port ID" in refused.json()["badRequest"]["message"]
    member.network.delete_port(port)


def test_a_building_servers_console_is_not_ready(sim, member, net):
    sim.control.set_build_time(30)
    server = boot(member, net.id, name="slow")
    answer = member.compute.post(
        f"/servers/{server.id}/action", json={"os-getConsoleOutput": {"length": 5}}
    )
    assert answer.status_code == 409
    assert answer.json()["conflictingRequest"]["message"] == f"Instance {server.id} is not ready"


def test_usage_of_every_project_is_for_admins(member, admin):
    assert member.compute.get("/os-simple-tenant-usage").status_code == 403
    assert admin.compute.get("/os-simple-tenant-usage").status_code == 200
    bad = member.compute.get(f"/os-simple-tenant-usage/{member.current_project_id}?start=yesterday")
    assert bad.json()["badRequest"]["message"] == "Datetime is in invalid format"
