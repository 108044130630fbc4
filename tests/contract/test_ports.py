"""Contract: a server's Neutron ports as the real services show them (and cloudsim too).

Pinned against the lab: Nova binds the ports it makes while it spawns the server; Neutron
shows `binding:vif_type`/`binding:host_id` to admins only; router ports stay DOWN and unbound
(no L3 agent); a deleted server's ports are gone once the server is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from provisioning import cloud
from provisioning.cloud import NetworkSetup
from tests.contract.conftest import ContractCloud
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def routed(contract_cloud: ContractCloud) -> Iterator[NetworkSetup]:
    tag = contract_cloud.tag()
    setup = cloud.network_find_or_create(
        contract_cloud.target, tag=tag, name="contract-ports", cidr="10.82.0.0/24"
    )
    yield setup
    cloud.network_delete_by_tag(contract_cloud.target, tag)


def test_an_active_servers_port_is_bound_with_an_address_from_the_subnet(contract, routed):
    tag = contract.tag()
    server = cloud.server_find_or_create(
        contract.target, tag=tag, name="ported", flavor_id=contract.flavor.id,
        image_id=contract.image.id, network_ids=[routed.network.id],
    )  # fmt: skip
    try:
        active = wait_status(contract.target, server.id, "ACTIVE")
        (port,) = cloud.server_ports(contract.admin, server.id)
        assert port.device_id == server.id
        assert port.device_owner.startswith("compute:")
        assert port.network_id == routed.network.id
        assert port.status == "ACTIVE"
        assert port.is_bound and port.vif_type == "ovs" and port.host_id
        assert port.vnic_type == "normal"
        ((subnet_id, address),) = port.fixed_ips
        assert subnet_id == routed.subnet.id
        assert ipaddress.ip_address(address) in ipaddress.ip_network(routed.subnet.cidr)
        start, end = routed.subnet.allocation_pools[0]
        assert ipaddress.ip_address(start) <= ipaddress.ip_address(address)
        assert ipaddress.ip_address(address) <= ipaddress.ip_address(end)
        assert [a.address for a in active.addresses] == [address]
        assert active.addresses[0].mac == port.mac

        # A project member sees the port and its address, not how it is bound.
        (seen,) = cloud.server_ports(contract.target, server.id)
        assert (seen.id, seen.status, seen.fixed_ips) == (port.id, "ACTIVE", port.fixed_ips)
        assert seen.vif_type is None and seen.host_id is None
        assert seen.vnic_type == "normal"
    finally:
        cloud.server_delete(contract.target, server.id)
    wait_gone(contract.target, server.id)
    assert cloud.server_ports(contract.admin, server.id) == []


def test_router_ports_stay_down_and_unbound(contract, routed):
    (interface,) = [
        p for p in cloud.server_ports(contract.admin, routed.router.id)
        if p.device_owner == "network:router_interface"
    ]  # fmt: skip
    assert interface.status == "DOWN"
    assert interface.vif_type == "unbound" and not interface.is_bound
    assert interface.fixed_ips == ((routed.subnet.id, routed.subnet.gateway_ip),)
