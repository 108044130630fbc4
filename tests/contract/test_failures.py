"""Contract: how cloud failures reach the portal (cloudsim only: it can inject them)."""

from __future__ import annotations

import time

import pytest

from provisioning import cloud
from provisioning.cloud import CloudTarget, CloudTransientError
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


@pytest.fixture
def setup(contract):
    sim = contract.require_sim()
    tag = contract.tag()
    net = cloud.network_find_or_create(
        contract.target, tag=tag, name="contract-faults", cidr="10.81.0.0/24", with_router=False
    )
    yield sim, net
    for server in cloud.servers_list(contract.target):
        cloud.server_delete(contract.target, server.id)
    cloud.network_delete_by_tag(contract.target, tag)


def make(contract, net, tag):
    return cloud.server_find_or_create(
        contract.target, tag=tag, name="fault", flavor_id=contract.flavor.id,
        image_id=contract.image.id, network_ids=[net.network.id],
    )  # fmt: skip


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_transient(contract, setup, status):
    sim, net = setup
    sim.control.fail("compute.server.create", status=status)
    with pytest.raises(CloudTransientError, match=str(status)):
        make(contract, net, contract.tag())


def test_lost_response_then_retry_finds_the_same_server(contract, setup):
    sim, net = setup
    tag = contract.tag()
    sim.control.lose_response("compute.server.create")
    with pytest.raises(CloudTransientError):
        make(contract, net, tag)
    retried = make(contract, net, tag)
    assert [s.id for s in cloud.servers_list(contract.target, tag=tag)] == [retried.id]
    assert sim.control.count("compute.server.create") == 1


def test_hang_past_the_timeout_is_transient(contract, setup):
    sim, _net = setup
    target = CloudTarget(contract.target.cloud, clouds_yaml=contract.target.clouds_yaml,
                         api_timeout=1)  # fmt: skip
    cloud.networks_list(target)  # log in first: the hang is for the list call only
    sim.control.hang("network.network.list", seconds=3)
    started = time.monotonic()
    with pytest.raises(CloudTransientError, match="did not answer"):
        cloud.networks_list(target)
    assert time.monotonic() - started < 2.9


def test_build_failure_surfaces_the_fault(contract, setup):
    sim, net = setup
    sim.control.fail_builds("No valid host was found.")
    server = make(contract, net, contract.tag())
    failed = wait_status(contract.target, server.id, "ERROR", timeout=10)
    assert failed.is_error
    assert failed.fault_message == "No valid host was found."
    assert failed.addresses == ()
    cloud.server_delete(contract.target, server.id)
    wait_gone(contract.target, server.id)


def test_network_retry_after_tagging_failed_builds_no_duplicate(contract):
    sim = contract.require_sim()
    tag = contract.tag()
    sim.control.fail("network.tag.replace", status=500)  # the network exists, untagged
    with pytest.raises(CloudTransientError):
        cloud.network_find_or_create(
            contract.target, tag=tag, name="contract-retry", cidr="10.82.0.0/24", with_router=False
        )
    try:
        setup = cloud.network_find_or_create(
            contract.target, tag=tag, name="contract-retry", cidr="10.82.0.0/24", with_router=False
        )
        assert tag in setup.network.tags
        assert [n.id for n in cloud.networks_list(contract.target, tag=tag)] == [setup.network.id]
        assert sim.control.count("network.network.create") == 1
    finally:
        cloud.network_delete_by_tag(contract.target, tag)


def test_a_server_being_deleted_is_not_found_again(contract, setup):
    sim, net = setup
    sim.control.set_delete_time(5)
    try:
        tag = contract.tag()
        first = make(contract, net, tag)
        cloud.server_delete(contract.target, first.id)
        assert cloud.server_get(contract.target, first.id).is_deleting
        assert cloud.server_find_by_tag(contract.target, tag) is None
        second = make(contract, net, tag)
        assert second.id != first.id
    finally:
        sim.control.set_delete_time(0)
