"""Contract: servers through provisioning.cloud, over openstacksdk and HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from provisioning import cloud
from provisioning.cloud import CloudNotFound, CloudPermanentError, CloudQuotaExceeded, NetworkSetup
from tests.contract.conftest import ContractCloud
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def network(contract_cloud: ContractCloud) -> Iterator[NetworkSetup]:
    tag = contract_cloud.tag()
    setup = cloud.network_find_or_create(
        contract_cloud.target, tag=tag, name="contract-servers", cidr="10.77.0.0/24",
        with_router=False,
    )  # fmt: skip
    yield setup
    for server in cloud.servers_list(contract_cloud.target):
        if server.request_tag and "contract-" in server.request_tag:
            cloud.server_delete(contract_cloud.target, server.id)
            wait_gone(contract_cloud.target, server.id)
    cloud.network_delete_by_tag(contract_cloud.target, tag)


def create(contract: ContractCloud, network: NetworkSetup, tag: str, name: str = "vm"):
    return cloud.server_find_or_create(
        contract.target,
        tag=tag,
        name=name,
        flavor_id=contract.flavor.id,
        image_id=contract.image.id,
        network_ids=[network.network.id],
        metadata={"purpose": "contract"},
    )


def test_find_or_create_is_idempotent_and_server_becomes_active(contract, network):
    tag = contract.tag()
    first = create(contract, network, tag)
    assert first.status in ("BUILD", "ACTIVE")
    assert tag in first.tags
    assert first.request_tag == tag
    again = create(contract, network, tag)
    assert again.id == first.id
    assert [s.id for s in cloud.servers_list(contract.target, tag=tag)] == [first.id]
    active = wait_status(contract.target, first.id, "ACTIVE")
    assert active.flavor_name == contract.flavor.name
    assert active.vcpus == contract.flavor.vcpus
    assert active.image_id == contract.image.id
    assert dict(active.metadata)["portal_request"] == tag
    assert dict(active.metadata)["purpose"] == "contract"
    assert [a.network for a in active.addresses] == ["contract-servers"]
    assert active.addresses[0].address.startswith("10.77.0.")
    assert cloud.server_find_by_tag(contract.target, tag).id == first.id
    everywhere = cloud.servers_list(contract.admin, tag=tag, all_projects=True)
    assert [s.id for s in everywhere] == [first.id]
    assert cloud.server_delete(contract.target, first.id) is True
    wait_gone(contract.target, first.id)
    assert cloud.server_delete(contract.target, first.id) is False
    assert cloud.server_find_by_tag(contract.target, tag) is None


def test_stop_start_reboot(contract, network):
    server = create(contract, network, contract.tag(), name="power")
    wait_status(contract.target, server.id, "ACTIVE")
    cloud.server_stop(contract.target, server.id)
    wait_status(contract.target, server.id, "SHUTOFF")
    cloud.server_start(contract.target, server.id)
    wait_status(contract.target, server.id, "ACTIVE")
    cloud.server_reboot(contract.target, server.id)
    wait_status(contract.target, server.id, "ACTIVE")
    cloud.server_reboot(contract.target, server.id, hard=True)
    wait_status(contract.target, server.id, "ACTIVE")
    cloud.server_delete(contract.target, server.id)
    wait_gone(contract.target, server.id)


def test_starting_a_running_server_is_a_permanent_error(contract, network):
    server = create(contract, network, contract.tag(), name="conflict")
    wait_status(contract.target, server.id, "ACTIVE")
    with pytest.raises(CloudPermanentError, match="409"):
        cloud.server_start(contract.target, server.id)
    cloud.server_delete(contract.target, server.id)
    wait_gone(contract.target, server.id)


def test_missing_server_is_not_found(contract):
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(CloudNotFound):
        cloud.server_get(contract.target, missing)
    with pytest.raises(CloudNotFound):
        cloud.server_stop(contract.target, missing)


def test_unknown_flavor_is_a_permanent_error(contract, network):
    with pytest.raises(CloudPermanentError) as err:
        cloud.server_find_or_create(
            contract.target, tag=contract.tag(), name="bad", flavor_id="no-such-flavor",
            image_id=contract.image.id, network_ids=[network.network.id],
        )  # fmt: skip
    assert not isinstance(err.value, CloudNotFound | CloudQuotaExceeded)
    assert "no-such-flavor" in str(err.value)


def test_quota_exceeded_is_reported_readably(contract, network):
    quota = cloud.quota_get(contract.target)
    project_id = quota.project_id
    cloud.quota_set(contract.admin, project_id, instances=quota.instances.used)
    try:
        with pytest.raises(CloudQuotaExceeded) as err:
            create(contract, network, contract.tag(), name="over")
    finally:
        cloud.quota_set(contract.admin, project_id, instances=quota.instances.limit)
    message = str(err.value)
    assert message.startswith("The cloud refused: quota exceeded for instances")
    assert f"already used {quota.instances.used} of {quota.instances.used} instances" in message


def test_listing_reads_every_page(contract, network):
    tag = contract.tag()
    created = [create(contract, network, f"{tag}-{i}", name=f"page-{i}") for i in range(3)]
    listed = {s.id for s in cloud.servers_list(contract.target)}
    assert {s.id for s in created} <= listed
    for server in created:
        cloud.server_delete(contract.target, server.id)
    for server in created:
        wait_gone(contract.target, server.id)


def test_a_server_is_built_with_the_key_pair_it_names(contract, network):
    from tests.keys import ed25519_key

    name = f"portal-contract-{contract.tag()[-10:]}"
    cloud.keypair_ensure(contract.target, name=name, public_key=ed25519_key())
    try:
        tag = contract.tag()
        server = cloud.server_find_or_create(
            contract.target, tag=tag, name="keyed", flavor_id=contract.flavor.id,
            image_id=contract.image.id, network_ids=[network.network.id], key_name=name,
        )  # fmt: skip
        assert wait_status(contract.target, server.id, "ACTIVE").key_name == name
        with pytest.raises(CloudPermanentError, match=r"(?i)key"):
            cloud.server_find_or_create(
                contract.target, tag=contract.tag(), name="unkeyed", flavor_id=contract.flavor.id,
                image_id=contract.image.id, network_ids=[network.network.id],
                key_name=name + "-missing",
            )  # fmt: skip
    finally:
        cloud.keypair_delete(contract.target, name)


def test_a_resize_the_cloud_cannot_place_comes_back_unchanged_with_its_reason(contract, network):
    """The lab's one host cannot take a resize (Nova does not resize onto the same host by
    default): accepted, then the server is back as it was, with no fault; the reason is in the
    server's actions, for the region's admin account. cloudsim is told to do the same."""
    if contract.is_sim:
        contract.sim.control.fail_resizes(times=1)
    bigger = next(
        f for f in sorted(cloud.flavors_list(contract.target), key=lambda f: (f.vcpus, f.ram_mb))
        if f.ram_mb > contract.flavor.ram_mb and f.disk_gb >= contract.flavor.disk_gb
    )  # fmt: skip
    server = create(contract, network, contract.tag(), name="resized")
    wait_status(contract.target, server.id, "ACTIVE")
    cloud.server_resize(contract.target, server.id, bigger.id)
    moving = cloud.server_get(contract.target, server.id)
    assert moving.status == "RESIZE" or moving.task_state is None
    deadline = time.monotonic() + 60
    while True:
        back = cloud.server_get(contract.target, server.id)
        if back.status == "ACTIVE" and back.task_state is None:
            break
        assert time.monotonic() < deadline, back
        time.sleep(0.3)
    assert (back.flavor_name, back.fault_message) == (contract.flavor.name, "")
    why = cloud.server_action_failure(contract.admin, server.id, "resize")
    assert "No valid host was found" in why
    # A project member is told that it failed, not why (Nova's default policy).
    assert "No valid host" not in cloud.server_action_failure(contract.target, server.id, "resize")


def test_a_resize_is_confirmed_onto_the_new_flavor(contract, network):
    contract.require_sim()  # the lab has one host: no resize can succeed there
    bigger = next(
        f for f in sorted(cloud.flavors_list(contract.target), key=lambda f: (f.vcpus, f.ram_mb))
        if f.ram_mb > contract.flavor.ram_mb and f.disk_gb >= contract.flavor.disk_gb
    )  # fmt: skip
    server = create(contract, network, contract.tag(), name="grown")
    wait_status(contract.target, server.id, "ACTIVE")
    cloud.server_resize(contract.target, server.id, bigger.id)
    verify = wait_status(contract.target, server.id, "VERIFY_RESIZE")
    assert verify.flavor_name == bigger.name
    cloud.server_confirm_resize(contract.target, server.id)
    done = wait_status(contract.target, server.id, "ACTIVE")
    assert (done.flavor_name, done.vcpus, done.ram_mb) == (bigger.name, bigger.vcpus, bigger.ram_mb)
