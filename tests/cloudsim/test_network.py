"""Neutron as cloudsim serves it: subnets, routers, tags, default groups, quotas, errors."""

from __future__ import annotations

import pytest

from tests.cloudsim.conftest import boot

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("collection", "error_type", "message"),
    [
        ("networks", "NetworkNotFound", f"Network {MISSING} could not be found."),
        ("subnets", "SubnetNotFound", f"Subnet {MISSING} could not be found."),
        ("routers", "RouterNotFound", f"Router {MISSING} could not be found"),
        ("ports", "PortNotFound", f"Port {MISSING} could not be found."),
        ("security-groups", "SecurityGroupNotFound", f"Security group {MISSING} does not exist"),
    ],
)
def test_not_found_is_neutron_shaped(member, collection, error_type, message):
    r = member.network.get(f"/{collection}/{MISSING}")
    assert r.status_code == 404
    assert r.json() == {"NeutronError": {"type": error_type, "message": message, "detail": ""}}


def test_subnet_defaults_and_validation(member):
    network = member.network.create_network(name="cidr")
    try:
        subnet = member.network.create_subnet(
            network_id=network.id, cidr="192.168.10.0/24", ip_version=4,
            dns_nameservers=["10.0.0.53"],
        )  # fmt: skip
        assert subnet.gateway_ip == "192.168.10.1"
        assert subnet.allocation_pools == [{"start": "192.168.10.2", "end": "192.168.10.254"}]
        assert subnet.dns_nameservers == ["10.0.0.53"]
        assert member.network.get_network(network.id).subnet_ids == [subnet.id]
        for cidr, message in [
            ("bogus", "Invalid input for operation: bogus is not in a CIDR format."),
            ("192.168.10.128/25", "overlaps with another subnet"),
            ("fd00::/64", "does not match the ip_version '4'"),
        ]:
            r = member.network.post(
                "/subnets",
                json={"subnet": {"network_id": network.id, "cidr": cidr, "ip_version": 4}},
            )
            assert r.status_code == 400
            assert r.json()["NeutronError"]["type"] == "InvalidInput"
            assert message in r.json()["NeutronError"]["message"]
        custom = member.network.create_subnet(
            network_id=network.id, cidr="10.60.0.0/24", ip_version=4, gateway_ip="10.60.0.254",
            allocation_pools=[{"start": "10.60.0.10", "end": "10.60.0.20"}],
        )  # fmt: skip
        assert custom.gateway_ip == "10.60.0.254"
        assert custom.allocation_pools == [{"start": "10.60.0.10", "end": "10.60.0.20"}]
    finally:
        member.network.delete_network(network)


def test_router_gateway_interfaces_and_in_use_errors(member):
    network = member.network.create_network(name="routed")
    subnet = member.network.create_subnet(network_id=network.id, cidr="10.61.0.0/24", ip_version=4)
    external = next(member.network.networks(is_router_external=True))
    router = member.network.create_router(
        name="r", external_gateway_info={"network_id": external.id}
    )
    assert router.external_gateway_info["network_id"] == external.id
    assert router.external_gateway_info["external_fixed_ips"][0]["ip_address"].startswith(
        "172.24.4."
    )
    member.network.add_interface_to_router(router, subnet=subnet.id)
    again = member.network.put(
        f"/routers/{router.id}/add_router_interface", json={"subnet_id": subnet.id}
    )
    assert again.status_code == 400 and again.json()["NeutronError"]["type"] == "BadRequest"
    (port,) = member.network.ports(device_id=router.id)
    assert port.device_owner == "network:router_interface"
    assert port.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.61.0.1"}]
    assert member.network.delete(f"/routers/{router.id}").json()["NeutronError"]["type"] == (
        "RouterInUse"
    )
    assert member.network.delete(f"/networks/{network.id}").status_code == 409
    member.network.remove_interface_from_router(router, subnet=subnet.id)
    gone = member.network.put(
        f"/routers/{router.id}/remove_router_interface", json={"subnet_id": subnet.id}
    )
    assert gone.status_code == 404
    member.network.delete_router(router)
    member.network.delete_network(network)


def test_tags_and_tag_filters(member):
    a = member.network.create_network(name="tag-a")
    b = member.network.create_network(name="tag-b")
    try:
        refused = member.network.post("/networks", json={"network": {"name": "x", "tags": ["t"]}})
        assert refused.status_code == 400
        member.network.set_tags(a, ["red", "blue"])
        member.network.add_tag(b, "red")
        assert member.network.get(f"/networks/{a.id}/tags").json() == {"tags": ["red", "blue"]}
        assert {n.name for n in member.network.networks(tags="red")} == {"tag-a", "tag-b"}
        assert {n.name for n in member.network.networks(tags="red,blue")} == {"tag-a"}
        assert {n.name for n in member.network.networks(any_tags="blue,green")} == {"tag-a"}
        assert "tag-a" not in {n.name for n in member.network.networks(not_tags="blue")}
        member.network.remove_tag(a, "blue")
        assert member.network.get_network(a.id).tags == ["red"]
    finally:
        member.network.delete_network(a)
        member.network.delete_network(b)


def test_each_project_has_one_default_group(sim, member, sdk):
    other = sdk(sim.other_cloud)
    mine = list(member.network.security_groups(name="default"))
    theirs = list(other.network.security_groups(name="default"))
    assert len(mine) == 1 and len(theirs) == 1 and mine[0].id != theirs[0].id
    assert len(mine[0].security_group_rules) == 4
    dup = member.network.post(
        "/security-group-rules",
        json={"security_group_rule": {"security_group_id": mine[0].id, "direction": "egress",
                                      "ethertype": "IPv4"}},
    )  # fmt: skip
    assert dup.status_code == 409
    assert dup.json()["NeutronError"]["type"] == "SecurityGroupRuleExists"


def test_over_quota_is_neutron_shaped(sim, member):
    used = len(list(member.network.networks(project_id=member.current_project_id)))
    sim.control.set_quotas(project_name="team-a", region="RegionOne", network={"network": used})
    try:
        r = member.network.post("/networks", json={"network": {"name": "too-many"}})
        assert r.status_code == 409
        assert r.json() == {
            "NeutronError": {
                "type": "OverQuota",
                "message": "Quota exceeded for resources: ['network'].",
                "detail": "",
            }
        }
        assert member.network.get_quota(member.current_project_id).networks == used
    finally:
        sim.control.set_quotas(project_name="team-a", network={"network": 100})


def test_quota_update_needs_admin(member):
    r = member.network.put(f"/quotas/{member.current_project_id}", json={"quota": {"network": 1}})
    assert r.status_code == 403
    assert r.json()["NeutronError"]["type"] == "PolicyNotAuthorized"


def test_server_ports_follow_the_server(member, net):
    server = boot(member, net.id, name="ported")
    (port,) = member.network.ports(device_id=server.id)
    assert port.fixed_ips[0]["ip_address"].startswith("10.50.0.")
    assert member.network.delete(f"/networks/{net.id}").status_code == 409
    member.compute.delete_server(server)
    assert list(member.network.ports(device_id=server.id)) == []
