"""Neutron floating IPs as cloudsim serves them, through openstacksdk: allocation, filters,
association through a router, the server's addresses, Neutron's refusals, quota, isolation,
what a port's or server's delete does to them, fault knobs and a restart."""

from __future__ import annotations

import ipaddress
import time
from types import SimpleNamespace

import openstack.exceptions
import pytest

from tests.cloudsim.conftest import boot
from tests.cloudsim.test_persistence_and_seed import connect

MISSING = "00000000-0000-4000-8000-000000000000"


def neutron_error(response) -> tuple[int, str, str]:
    error = response.json()["NeutronError"]
    return response.status_code, error["type"], error["message"]


@pytest.fixture(autouse=True)
def _no_floating_ips_left(sim, admin):
    """Every project's floating IPs are released after each test (the session's cloudsim is
    shared, and the addresses the next test expects depend on what is taken)."""
    yield
    for ip in admin.network.ips():
        admin.network.delete_ip(ip)


@pytest.fixture
def external(member):
    return next(member.network.networks(is_router_external=True))


def next_free(admin, external, count: int) -> list[str]:
    """The next `count` addresses of the external pool nothing holds, in order."""
    subnet = admin.network.get_subnet(external.subnet_ids[0])
    used = {ip["ip_address"] for p in admin.network.ports(network_id=external.id)
            for ip in p.fixed_ips}  # fmt: skip
    pool = subnet.allocation_pools[0]
    current, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
    out = []
    while current <= end and len(out) < count:
        if str(current) not in used:
            out.append(str(current))
        current += 1
    return out


@pytest.fixture
def routed(member, external):
    """A team-a network whose subnet reaches the external network through a router; servers,
    floating IPs, the interface, the router and the network are removed afterwards."""
    network = member.network.create_network(name="fip-net")
    subnet = member.network.create_subnet(network_id=network.id, cidr="10.80.0.0/24", ip_version=4)
    router = member.network.create_router(
        name="fip-router", external_gateway_info={"network_id": external.id}
    )
    member.network.add_interface_to_router(router, subnet=subnet.id)
    yield SimpleNamespace(network=network, subnet=subnet, router=router)
    for ip in member.network.ips():
        member.network.delete_ip(ip)
    for server in member.compute.servers():
        member.compute.delete_server(server)
        member.compute.wait_for_delete(server, interval=0.1, wait=10)
    for port in member.network.ports(network_id=network.id, device_owner=""):
        member.network.delete_port(port)
    member.network.remove_interface_from_router(router, subnet=subnet.id)
    member.network.delete_router(router)
    member.network.delete_network(network)


def server_port(member, network_id: str):
    server = boot(member, network_id, name="fip-vm")
    server = member.compute.wait_for_server(server, interval=0.1, wait=10)
    (port,) = member.network.ports(device_id=server.id)
    return server, port


# ---- allocation and fields ---------------------------------------------------------------
def test_addresses_come_in_order_from_the_pool_skipping_gateways(member, admin, external):
    first, second, third = next_free(admin, external, 3)
    one = member.network.create_ip(floating_network_id=external.id, description="first")
    router = member.network.create_router(
        name="fip-gw", external_gateway_info={"network_id": external.id}
    )
    try:
        two = member.network.create_ip(floating_network_id=external.id)
        assert one.floating_ip_address == first
        assert router.external_gateway_info["external_fixed_ips"][0]["ip_address"] == second
        assert two.floating_ip_address == third
        shown = member.network.get(f"/floatingips/{one.id}").json()["floatingip"]
        assert shown == {
            "id": one.id,
            "floating_ip_address": first,
            "floating_network_id": external.id,
            "router_id": None,
            "port_id": None,
            "fixed_ip_address": None,
            "status": "DOWN",
            "project_id": member.current_project_id,
            "tenant_id": member.current_project_id,
            "description": "first",
            "tags": [],
            "port_details": None,
            "created_at": shown["created_at"],
            "updated_at": shown["updated_at"],
            "revision_number": 0,
        }
        # The address is held by a port of no project, which only an admin sees.
        (held,) = admin.network.ports(device_id=one.id)
        assert held.device_owner == "network:floatingip"
        assert held.project_id == "" and held.network_id == external.id
        assert held.fixed_ips[0]["ip_address"] == first
        assert list(member.network.ports(device_id=one.id)) == []
        refused = admin.network.delete(f"/ports/{held.id}")
        assert neutron_error(refused) == (
            409,
            "ServicePortInUse",
            f"Port {held.id} cannot be deleted directly via the port API: has device owner "
            "network:floatingip.",
        )
        # A released address is the first free one again.
        member.network.delete_ip(one)
        assert list(admin.network.ports(device_id=one.id)) == []
        assert member.network.create_ip(floating_network_id=external.id).floating_ip_address == (
            first
        )
    finally:
        member.network.delete_router(router)


def test_an_admin_picks_the_address_and_the_project(sim, member, admin, external):
    wanted = next_free(admin, external, 2)[1]
    team_a = member.current_project_id
    made = admin.network.create_ip(
        floating_network_id=external.id, floating_ip_address=wanted, project_id=team_a
    )
    assert made.floating_ip_address == wanted and made.project_id == team_a
    assert [ip.id for ip in member.network.ips()] == [made.id]
    taken = admin.network.post(
        "/floatingips",
        json={"floatingip": {"floating_network_id": external.id, "floating_ip_address": wanted}},
    )
    assert neutron_error(taken) == (
        409,
        "IpAddressAlreadyAllocated",
        f"IP address {wanted} already allocated in subnet {external.subnet_ids[0]}",
    )
    outside = admin.network.post(
        "/floatingips",
        json={"floatingip": {"floating_network_id": external.id,
                             "floating_ip_address": "192.0.2.7"}},
    )  # fmt: skip
    assert neutron_error(outside) == (
        400,
        "InvalidIpForNetwork",
        "IP address 192.0.2.7 is not a valid IP for any of the subnets on the specified network.",
    )
    chosen = member.network.post(
        "/floatingips",
        json={"floatingip": {"floating_network_id": external.id, "floating_ip_address": wanted}},
    )
    assert neutron_error(chosen) == (
        403,
        "PolicyNotAuthorized",
        "(rule:create_floatingip and rule:create_floatingip:floating_ip_address) is disallowed "
        "by policy",
    )
    other = admin.network.post(
        "/floatingips",
        json={"floatingip": {"floating_network_id": external.id, "project_id": team_a}},
    )
    assert other.status_code == 201
    forbidden = member.network.post(
        "/floatingips",
        json={"floatingip": {"floating_network_id": external.id,
                             "project_id": sim.control.project_id("team-b")}},
    )  # fmt: skip
    assert forbidden.status_code == 403


def test_create_is_refused_as_neutron_refuses_it(member, external):
    private = member.network.create_network(name="not-external")
    try:
        cases = [
            ({}, 400, "HTTPBadRequest",
             "Failed to parse request. Required attribute 'floating_network_id' not specified"),
            ({"floating_network_id": MISSING}, 404, "NetworkNotFound",
             f"Network {MISSING} could not be found."),
            ({"floating_network_id": private.id}, 400, "BadRequest",
             f"Bad floatingip request: Network {private.id} is not a valid external network."),
            ({"floating_network_id": external.id, "tags": ["t"]}, 400, "HTTPBadRequest",
             "Attribute 'tags' not allowed in POST"),
            ({"floating_network_id": external.id, "status": "ACTIVE"}, 400, "HTTPBadRequest",
             "Attribute 'status' not allowed in POST"),
            ({"floating_network_id": external.id, "colour": "red"}, 400, "HTTPBadRequest",
             "Unrecognized attribute(s) 'colour'"),
            ({"floating_network_id": "public"}, 400, "HTTPBadRequest",
             "Invalid input for floating_network_id. Reason: 'public' is not a valid UUID."),
            ({"floating_network_id": external.id, "fixed_ip_address": "10.0.0.3"}, 400,
             "BadRequest",
             "Bad floatingip request: fixed_ip_address cannot be specified without a port_id."),
        ]  # fmt: skip
        for body, status, error_type, message in cases:
            r = member.network.post("/floatingips", json={"floatingip": body})
            assert neutron_error(r) == (status, error_type, message), body
        for raw, message in [
            (b"", "Resource body required"),
            (b'{"ip": {}}', "Unable to find 'floatingip' in request body"),
        ]:
            r = member.network.post("/floatingips", data=raw)
            assert neutron_error(r) == (400, "HTTPBadRequest", message)
        assert list(member.network.ips()) == []
        missing = member.network.get(f"/floatingips/{MISSING}")
        assert missing.json() == {
            "NeutronError": {
                "type": "FloatingIPNotFound",
                "message": f"Floating IP {MISSING} could not be found",
                "detail": "",
            }
        }
    finally:
        member.network.delete_network(private)


def test_list_filters_fields_pages_and_tags(member, external):
    a = member.network.create_ip(floating_network_id=external.id, description="a")
    b = member.network.create_ip(floating_network_id=external.id, description="b")
    c = member.network.create_ip(floating_network_id=external.id, description="c")
    member.network.set_tags(a, ["red", "blue"])
    member.network.add_tag(b, "red")
    assert member.network.get(f"/floatingips/{a.id}/tags").json() == {"tags": ["red", "blue"]}
    assert {ip.id for ip in member.network.ips(tags="red")} == {a.id, b.id}
    assert {ip.id for ip in member.network.ips(tags="red,blue")} == {a.id}
    assert {ip.id for ip in member.network.ips(any_tags="blue,green")} == {a.id}
    assert {ip.id for ip in member.network.ips(not_tags="red")} == {c.id}
    assert {ip.id for ip in member.network.ips(not_any_tags="blue")} == {b.id, c.id}
    by_address = member.network.ips(floating_ip_address=b.floating_ip_address)
    assert [ip.id for ip in by_address] == [b.id]
    assert [ip.id for ip in member.network.ips(description="c")] == [c.id]
    assert {ip.id for ip in member.network.ips(floating_network_id=external.id)} == {
        a.id, b.id, c.id,
    }  # fmt: skip
    assert {ip.id for ip in member.network.ips(status="DOWN")} == {a.id, b.id, c.id}
    assert list(member.network.ips(status="ACTIVE")) == []
    assert list(member.network.ips(port_id=MISSING)) == []
    assert {ip.id for ip in member.network.ips(project_id=member.current_project_id)} == {
        a.id, b.id, c.id,
    }  # fmt: skip
    narrow = member.network.get("/floatingips?fields=id&fields=floating_ip_address").json()
    assert narrow["floatingips"][0] == {"id": a.id, "floating_ip_address": a.floating_ip_address}
    page = member.network.get("/floatingips?limit=2").json()
    assert [ip["id"] for ip in page["floatingips"]] == [a.id, b.id]
    assert f"marker={b.id}" in page["floatingips_links"][0]["href"]
    rest = member.network.get(f"/floatingips?limit=2&marker={b.id}").json()["floatingips"]
    assert [ip["id"] for ip in rest] == [c.id]
    assert member.network.get_ip(a.id).revision_number == 1  # the tags changed it


# ---- association -------------------------------------------------------------------------
def test_associate_with_a_servers_port_then_disassociate(member, external, routed):
    server, port = server_port(member, routed.network.id)
    fixed = port.fixed_ips[0]["ip_address"]
    ip = member.network.create_ip(floating_network_id=external.id)
    assert ip.revision_number == 0 and ip.status == "DOWN"
    ip = member.network.update_ip(ip, port_id=port.id)
    assert (ip.port_id, ip.fixed_ip_address, ip.router_id) == (port.id, fixed, routed.router.id)
    assert ip.status == "ACTIVE" and ip.revision_number == 1
    assert ip.port_details == {
        "name": "",
        "network_id": routed.network.id,
        "mac_address": port.mac_address,
        "admin_state_up": True,
        "status": "ACTIVE",
        "device_id": server.id,
        "device_owner": "compute:nova",
    }
    assert [i.id for i in member.network.ips(port_id=port.id)] == [ip.id]
    assert [i.id for i in member.network.ips(router_id=routed.router.id)] == [ip.id]
    assert [i.id for i in member.network.ips(fixed_ip_address=fixed)] == [ip.id]
    assert member.compute.get_server(server.id).addresses == {
        "fip-net": [
            {"addr": fixed, "version": 4, "OS-EXT-IPS:type": "fixed",
             "OS-EXT-IPS-MAC:mac_addr": port.mac_address},
            {"addr": ip.floating_ip_address, "version": 4, "OS-EXT-IPS:type": "floating",
             "OS-EXT-IPS-MAC:mac_addr": port.mac_address},
        ]
    }  # fmt: skip
    (listed,) = [s for s in member.compute.servers(details=True) if s.id == server.id]
    assert [a["OS-EXT-IPS:type"] for a in listed.addresses["fip-net"]] == ["fixed", "floating"]
    # Giving it to the port it has changes nothing, so the revision stays (as in Neutron).
    same = member.network.put(f"/floatingips/{ip.id}", json={"floatingip": {"port_id": port.id}})
    assert same.status_code == 200
    assert same.json()["floatingip"]["revision_number"] == 1
    ip = member.network.update_ip(ip, description="kept")  # no port_id: the association stays
    assert (ip.port_id, ip.description, ip.revision_number) == (port.id, "kept", 2)
    ip = member.network.update_ip(ip, port_id=None)
    assert (ip.port_id, ip.fixed_ip_address, ip.router_id, ip.port_details) == (
        None, None, None, None,
    )  # fmt: skip
    assert ip.status == "DOWN" and ip.revision_number == 3 and ip.description == "kept"
    addresses = member.compute.get_server(server.id).addresses
    assert [a["addr"] for a in addresses["fip-net"]] == [fixed]


def test_associate_at_create_and_refusals(member, external, routed):
    port = member.network.create_port(network_id=routed.network.id)
    fixed = port.fixed_ips[0]["ip_address"]
    ip = member.network.create_ip(floating_network_id=external.id, port_id=port.id)
    assert (ip.port_id, ip.fixed_ip_address, ip.router_id, ip.status) == (
        port.id, fixed, routed.router.id, "ACTIVE",
    )  # fmt: skip
    second = member.network.create_ip(floating_network_id=external.id)
    conflict = member.network.put(
        f"/floatingips/{second.id}", json={"floatingip": {"port_id": port.id}}
    )
    assert neutron_error(conflict) == (
        409,
        "FloatingIPPortAlreadyAssociated",
        f"Cannot associate floating IP {second.floating_ip_address} ({second.id}) with port "
        f"{port.id} using fixed IP {fixed}, as that fixed IP already has a floating IP on "
        f"external network {external.id}.",
    )
    at_create = member.network.post(
        "/floatingips",
        json={"floatingip": {"floating_network_id": external.id, "port_id": port.id}},
    )
    assert at_create.status_code == 409
    for body, status, error_type, message in [
        ({"port_id": port.id, "fixed_ip_address": "10.80.0.200"}, 400, "BadRequest",
         f"Bad floatingip request: Port {port.id} does not have fixed ip 10.80.0.200."),
        ({"fixed_ip_address": fixed}, 400, "BadRequest",
         "Bad floatingip request: fixed_ip_address cannot be specified without a port_id."),
        ({"port_id": MISSING}, 404, "PortNotFound", f"Port {MISSING} could not be found."),
        ({"floating_ip_address": "172.24.4.99"}, 400, "HTTPBadRequest",
         "Cannot update read-only attribute floating_ip_address"),
    ]:  # fmt: skip
        r = member.network.put(f"/floatingips/{second.id}", json={"floatingip": body})
        assert neutron_error(r) == (status, error_type, message), body
    untouched = member.network.get_ip(second.id)
    assert (untouched.port_id, untouched.revision_number, untouched.status) == (None, 0, "DOWN")
    assert len(list(member.network.ips())) == 2  # the refused create made nothing


def test_a_subnet_without_a_route_to_the_external_network(member, external):
    network = member.network.create_network(name="isolated")
    subnet = member.network.create_subnet(network_id=network.id, cidr="10.81.0.0/24", ip_version=4)
    port = member.network.create_port(network_id=network.id)
    router = member.network.create_router(name="no-gateway")
    try:
        ip = member.network.create_ip(floating_network_id=external.id)
        expected = (
            404,
            "ExternalGatewayForFloatingIPNotFound",
            f"External network {external.id} is not reachable from subnet {subnet.id}.  "
            f"Therefore, cannot associate Port {port.id} with a Floating IP.",
        )
        body = {"floatingip": {"port_id": port.id}}
        assert neutron_error(member.network.put(f"/floatingips/{ip.id}", json=body)) == expected
        # An interface is not enough: the router needs its gateway on the floating network.
        member.network.add_interface_to_router(router, subnet=subnet.id)
        assert neutron_error(member.network.put(f"/floatingips/{ip.id}", json=body)) == expected
        member.network.update_router(router, external_gateway_info={"network_id": external.id})
        assert member.network.update_ip(ip, port_id=port.id).router_id == router.id
        member.network.update_ip(ip, port_id=None)
        member.network.remove_interface_from_router(router, subnet=subnet.id)
    finally:
        for ip in member.network.ips():
            member.network.delete_ip(ip)
        member.network.delete_port(port)
        member.network.delete_router(router)
        member.network.delete_network(network)


def test_the_interface_and_gateway_a_floating_ip_needs_stay(member, external, routed):
    port = member.network.create_port(network_id=routed.network.id)
    ip = member.network.create_ip(floating_network_id=external.id, port_id=port.id)
    r = member.network.put(
        f"/routers/{routed.router.id}/remove_router_interface",
        json={"subnet_id": routed.subnet.id},
    )
    assert neutron_error(r) == (
        409,
        "RouterInterfaceInUseByFloatingIP",
        f"Router interface for subnet {routed.subnet.id} on router {routed.router.id} cannot be "
        "deleted, as it is required by one or more floating IPs.",
    )
    r = member.network.put(
        f"/routers/{routed.router.id}", json={"router": {"external_gateway_info": {}}}
    )
    assert neutron_error(r) == (
        409,
        "RouterExternalGatewayInUseByFloatingIp",
        f"Gateway cannot be updated for router {routed.router.id}, since a gateway to external "
        f"network {external.id} is required by one or more floating IPs.",
    )
    router = member.network.get_router(routed.router.id)
    assert router.external_gateway_info["network_id"] == external.id
    assert len(list(member.network.ports(device_id=routed.router.id))) == 1  # the interface
    member.network.update_ip(ip, port_id=None)
    member.network.update_router(routed.router, external_gateway_info=None)
    assert member.network.get_router(routed.router.id).external_gateway_info is None


# ---- what a port's delete does -----------------------------------------------------------
def test_deleting_the_server_disassociates_its_floating_ip(member, external, routed):
    server, port = server_port(member, routed.network.id)
    ip = member.network.create_ip(floating_network_id=external.id, port_id=port.id)
    assert ip.status == "ACTIVE"
    member.compute.delete_server(server)
    member.compute.wait_for_delete(server, interval=0.1, wait=10)
    after = member.network.get_ip(ip.id)  # the address stays with the project
    assert (after.port_id, after.fixed_ip_address, after.router_id, after.port_details) == (
        None, None, None, None,
    )  # fmt: skip
    assert after.status == "DOWN" and after.revision_number == ip.revision_number + 1
    assert after.floating_ip_address == ip.floating_ip_address


def test_a_port_the_caller_brought_keeps_its_floating_ip_until_it_is_deleted(
    member, external, routed
):
    port = member.network.create_port(network_id=routed.network.id)
    server = member.compute.create_server(
        name="own-port",
        flavor_id=member.compute.find_flavor("m1.tiny", ignore_missing=False).id,
        image_id=next(i for i in member.image.images() if i.name.startswith("cirros")).id,
        networks=[{"port": port.id}],
    )
    member.compute.wait_for_server(server, interval=0.1, wait=10)
    ip = member.network.create_ip(floating_network_id=external.id, port_id=port.id)
    member.compute.delete_server(server)
    member.compute.wait_for_delete(server, interval=0.1, wait=10)
    kept = member.network.get_ip(ip.id)
    assert (kept.port_id, kept.status) == (port.id, "ACTIVE")
    assert kept.port_details["device_id"] == ""
    member.network.delete_port(port)
    gone = member.network.get_ip(ip.id)
    assert (gone.port_id, gone.fixed_ip_address, gone.router_id, gone.status) == (
        None, None, None, "DOWN",
    )  # fmt: skip


def test_a_delayed_server_delete_disassociates_once_it_is_done(sim, member, external, routed):
    server, port = server_port(member, routed.network.id)
    ip = member.network.create_ip(floating_network_id=external.id, port_id=port.id)
    sim.control.set_delete_time(0.3)
    member.compute.delete_server(server)
    assert member.network.get_ip(ip.id).port_id == port.id  # Nova has not deleted it yet
    time.sleep(0.4)
    # Read only through Neutron: the delete that came due meanwhile has taken the port away.
    assert [i.port_id for i in member.network.ips()] == [None]
    assert member.network.get_ip(ip.id).status == "DOWN"
    member.compute.wait_for_delete(server, interval=0.1, wait=5)


# ---- quota, isolation, resources ---------------------------------------------------------
def test_floating_ip_quota(sim, member, admin, external):
    project = member.current_project_id
    member.network.create_ip(floating_network_id=external.id)
    sim.control.set_quotas(project_name="team-a", region="RegionOne", network={"floatingip": 1})
    try:
        r = member.network.post(
            "/floatingips", json={"floatingip": {"floating_network_id": external.id}}
        )
        assert r.status_code == 409
        assert r.json() == {
            "NeutronError": {
                "type": "OverQuota",
                "message": "Quota exceeded for resources: ['floatingip'].",
                "detail": "",
            }
        }
        assert len(list(member.network.ips())) == 1
        details = member.network.get_quota(project, details=True)
        assert details.floating_ips == {"limit": 1, "used": 1, "reserved": 0}
        assert member.network.get_quota(project).floating_ips == 1
        admin.network.update_quota(project, floating_ips=3)
        assert member.network.get_quota(project).floating_ips == 3
        member.network.create_ip(floating_network_id=external.id)
        assert member.network.get_quota(project, details=True).floating_ips["used"] == 2
        below = admin.network.put(f"/quotas/{project}", json={"quota": {"floatingip": 1}})
        assert below.status_code == 400
        refused = member.network.put(f"/quotas/{project}", json={"quota": {"floatingip": 9}})
        assert refused.status_code == 403
    finally:
        sim.control.set_quotas(project_name="team-a", network={"floatingip": 50})


def test_projects_only_see_their_own_floating_ips(sim, sdk, member, admin, external, routed):
    other = sdk(sim.other_cloud)
    theirs = other.network.create_ip(floating_network_id=external.id)
    mine = member.network.create_ip(floating_network_id=external.id)
    assert [ip.id for ip in member.network.ips()] == [mine.id]
    assert [ip.id for ip in other.network.ips()] == [theirs.id]
    not_found = (404, "FloatingIPNotFound", f"Floating IP {theirs.id} could not be found")
    assert neutron_error(member.network.get(f"/floatingips/{theirs.id}")) == not_found
    put = member.network.put(f"/floatingips/{theirs.id}", json={"floatingip": {"port_id": None}})
    assert neutron_error(put) == not_found
    assert neutron_error(member.network.delete(f"/floatingips/{theirs.id}")) == not_found
    assert neutron_error(member.network.put(f"/floatingips/{theirs.id}/tags/x")) == not_found
    # team-b cannot give its address to team-a's port either.
    port = member.network.create_port(network_id=routed.network.id)
    r = other.network.put(f"/floatingips/{theirs.id}", json={"floatingip": {"port_id": port.id}})
    assert neutron_error(r) == (404, "PortNotFound", f"Port {port.id} could not be found.")
    everyone = {ip.id for ip in admin.network.ips()}
    assert {mine.id, theirs.id} <= everyone
    team_b = sim.control.project_id("team-b")
    assert [ip.id for ip in admin.network.ips(project_id=team_b)] == [theirs.id]
    assert admin.network.get_ip(theirs.id).project_id == team_b
    other.network.delete_ip(theirs)


def test_resources_extensions_and_fault_knobs(sim, member, external):
    listing = member.network.get("/").json()["resources"]  # the proxy's root is /v2.0
    (floating,) = [r for r in listing if r["collection"] == "floatingips"]
    assert floating["name"] == "floatingip"
    assert floating["links"][0]["href"].endswith("/RegionOne/network/v2.0/floatingips")
    aliases = {e.alias for e in member.network.extensions()}
    assert {"router", "external-net", "fip-port-details"} <= aliases
    sim.control.fail("network.floatingip.create", status=503)
    with pytest.raises(openstack.exceptions.HttpException) as err:
        member.network.create_ip(floating_network_id=external.id)
    assert err.value.status_code == 503
    assert list(member.network.ips()) == []
    sim.control.lose_response("network.floatingip.create")
    with pytest.raises(openstack.exceptions.HttpException) as err:
        member.network.create_ip(floating_network_id=external.id, description="lost")
    assert err.value.status_code == 500
    assert [ip.description for ip in member.network.ips()] == ["lost"]
    assert sim.control.count("network.floatingip.create") == 2
    assert sim.control.count("network.floatingip.list") >= 2


def test_floating_ips_survive_a_restart(tmp_path):
    from cloudsim.pytest_plugin import start_cloudsim

    instance = start_cloudsim(tmp_path / "sim", build_time=0)
    try:
        conn = connect(instance, instance.cloud)
        external = next(conn.network.networks(is_router_external=True))
        network = conn.network.create_network(name="kept")
        subnet = conn.network.create_subnet(network_id=network.id, cidr="10.82.0.0/24",
                                            ip_version=4)  # fmt: skip
        router = conn.network.create_router(external_gateway_info={"network_id": external.id})
        conn.network.add_interface_to_router(router, subnet=subnet.id)
        server = boot(conn, network.id, name="kept")
        (port,) = conn.network.ports(device_id=server.id)
        ip = conn.network.create_ip(floating_network_id=external.id, port_id=port.id)
        conn.network.set_tags(ip, ["kept"])
        instance.restart()
        fresh = connect(instance, instance.cloud)
        again = fresh.network.get_ip(ip.id)
        assert (again.floating_ip_address, again.port_id, again.router_id, again.tags) == (
            ip.floating_ip_address, port.id, router.id, ["kept"],
        )  # fmt: skip
        addresses = fresh.compute.get_server(server.id).addresses["kept"]
        assert [a["OS-EXT-IPS:type"] for a in addresses] == ["fixed", "floating"]
        assert fresh.network.create_ip(floating_network_id=external.id).floating_ip_address != (
            ip.floating_ip_address
        )
    finally:
        instance.stop()
