"""Contract: floating IPs through provisioning.cloud, as real Neutron shows them (and cloudsim).

Pinned against the lab: an address from the external subnet, found again by its request tag;
given to a server's port on a network routed to the external network, refused for a port whose
subnet has no such router; kept (unassigned) when its server goes, until it is released.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from provisioning import cloud
from provisioning.cloud import CloudNotFound, CloudPermanentError, NetworkSetup
from tests.contract.conftest import ContractCloud
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def networks(contract_cloud: ContractCloud) -> Iterator[tuple[NetworkSetup, NetworkSetup]]:
    target = contract_cloud.target
    routed_tag, bare_tag = contract_cloud.tag(), contract_cloud.tag()
    routed = cloud.network_find_or_create(
        target, tag=routed_tag, name="contract-fip", cidr="10.83.0.0/24"
    )
    bare = cloud.network_find_or_create(
        target, tag=bare_tag, name="contract-fip-bare", cidr="10.84.0.0/24", with_router=False
    )
    yield routed, bare
    cloud.network_delete_by_tag(target, routed_tag)
    cloud.network_delete_by_tag(target, bare_tag)


def _server(contract: ContractCloud, network: NetworkSetup, name: str):
    server = cloud.server_find_or_create(
        contract.target, tag=contract.tag(), name=name, flavor_id=contract.flavor.id,
        image_id=contract.image.id, network_ids=[network.network.id],
    )  # fmt: skip
    wait_status(contract.target, server.id, "ACTIVE")
    (port,) = cloud.server_ports(contract.target, server.id)
    return server, port


def test_an_address_is_allocated_once_given_to_a_routed_port_and_outlives_its_server(
    contract, networks
):
    routed, _ = networks
    external = cloud.external_network_find(contract.target)
    tag = contract.tag()
    server, port = _server(contract, routed, "fip-routed")
    try:
        made = cloud.floating_ip_find_or_create(contract.target, tag=tag, network_id=external.id)
        assert made.request_tag == tag and tag in made.tags
        assert made.network_id == external.id and made.port_id == ""
        assert made.status == "DOWN"
        again = cloud.floating_ip_find_or_create(contract.target, tag=tag, network_id=external.id)
        assert again.id == made.id
        assert cloud.floating_ip_find_by_tag(contract.target, tag).address == made.address
        # From the external network, beside the router's own address there.
        gateway = ipaddress.ip_address(routed.router.external_ips[0])
        assert ipaddress.ip_address(made.address) != gateway
        assert ipaddress.ip_address(made.address) in ipaddress.ip_network(f"{gateway}/24", False)

        given = cloud.floating_ip_associate(contract.target, made.id, port_id=port.id)
        assert given.port_id == port.id
        assert given.fixed_address == port.fixed_ips[0][1]
        # Giving it to the same port again changes nothing.
        assert cloud.floating_ip_associate(contract.target, made.id, port_id=port.id) == given
        assert made.id in {ip.id for ip in cloud.floating_ips_list(contract.target)}
    finally:
        cloud.server_delete(contract.target, server.id)
    wait_gone(contract.target, server.id)
    # The port went with the server; the address stays allocated, given to nothing.
    left = cloud.floating_ip_get(contract.target, made.id)
    assert left.port_id == "" and left.fixed_address == ""
    assert cloud.floating_ip_delete_by_tag(contract.target, tag) == [made.address]
    with pytest.raises(CloudNotFound):
        cloud.floating_ip_get(contract.target, made.id)
    assert cloud.floating_ip_delete(contract.target, made.id) is False


def test_a_port_on_a_network_without_a_router_cannot_have_one(contract, networks):
    _, bare = networks
    external = cloud.external_network_find(contract.target)
    tag = contract.tag()
    server, port = _server(contract, bare, "fip-bare")
    try:
        made = cloud.floating_ip_find_or_create(contract.target, tag=tag, network_id=external.id)
        with pytest.raises(CloudPermanentError, match="is not reachable from subnet"):
            cloud.floating_ip_associate(contract.target, made.id, port_id=port.id)
    finally:
        cloud.floating_ip_delete_by_tag(contract.target, tag)
        cloud.server_delete(contract.target, server.id)
        wait_gone(contract.target, server.id)
