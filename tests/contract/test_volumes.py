"""Contract: Cinder volumes through provisioning.cloud, as the lab's real Cinder shows them.

Pinned against the lab: a volume made once for its request tag (kept in its metadata), types
listed, extended, attached to a server through Nova (in-use, with the server and a device),
refused deletion while attached, detached, deleted; over the quota is a quota error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from provisioning import cloud
from provisioning.cloud import CloudNotFound, CloudPermanentError, CloudQuotaExceeded, NetworkSetup
from tests.contract.conftest import ContractCloud
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


@pytest.fixture(autouse=True)
def _has_block_storage(contract_cloud: ContractCloud) -> None:
    """Run against every cloud that has block storage (the lab does; not every cloud must)."""
    if not cloud.connect(contract_cloud.target).has_service("block-storage"):
        pytest.skip("this cloud has no block storage")


def wait_volume(contract: ContractCloud, volume_id: str, *statuses: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        volume = cloud.volume_get(contract.target, volume_id)
        if volume.status in statuses:
            return volume
        if time.monotonic() > deadline:
            raise AssertionError(f"volume {volume_id} still {volume.status}, wanted {statuses}")
        time.sleep(0.3)


def wait_volume_gone(contract: ContractCloud, volume_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cloud.volume_get(contract.target, volume_id)
        except CloudNotFound:
            return
        time.sleep(0.3)
    raise AssertionError(f"volume {volume_id} was not deleted in {timeout} s")


@pytest.fixture(scope="module")
def network(contract_cloud: ContractCloud) -> Iterator[NetworkSetup]:
    tag = contract_cloud.tag()
    setup = cloud.network_find_or_create(
        contract_cloud.target, tag=tag, name="contract-volumes", cidr="10.85.0.0/24",
        with_router=False,
    )  # fmt: skip
    yield setup
    cloud.network_delete_by_tag(contract_cloud.target, tag)


def test_types_are_listed(contract):
    types = cloud.volume_types_list(contract.target)
    assert types and all(t.id and t.name for t in types)


def test_a_volume_is_made_once_extended_attached_detached_and_deleted(contract, network):
    tag = contract.tag()
    made = cloud.volume_find_or_create(contract.target, tag=tag, name="contract-vol", size_gb=1)
    assert made.request_tag == tag and made.size_gb == 1
    again = cloud.volume_find_or_create(contract.target, tag=tag, name="contract-vol", size_gb=1)
    assert again.id == made.id
    assert [v.id for v in cloud.volumes_list(contract.target, tag=tag)] == [made.id]
    wait_volume(contract, made.id, "available")

    cloud.volume_extend(contract.target, made.id, 2)
    assert wait_volume(contract, made.id, "available").size_gb == 2

    server = cloud.server_find_or_create(
        contract.target, tag=contract.tag(), name="with-volume", flavor_id=contract.flavor.id,
        image_id=contract.image.id, network_ids=[network.network.id],
    )  # fmt: skip
    try:
        wait_status(contract.target, server.id, "ACTIVE")
        device = cloud.volume_attach(contract.target, server_id=server.id, volume_id=made.id)
        assert device.startswith("/dev/")
        attached = wait_volume(contract, made.id, "in-use")
        assert attached.attachments == ((server.id, device),)
        with pytest.raises(CloudPermanentError, match="Volume status must be available"):
            cloud.volume_delete(contract.target, made.id)
        assert cloud.volume_detach(contract.target, server_id=server.id, volume_id=made.id)
        detached = wait_volume(contract, made.id, "available")
        assert detached.attachments == ()
        assert cloud.volume_detach(contract.target, server_id=server.id, volume_id=made.id) is False
    finally:
        cloud.server_delete(contract.target, server.id)
        wait_gone(contract.target, server.id)
    assert cloud.volume_delete(contract.target, made.id) is True
    wait_volume_gone(contract, made.id)
    assert cloud.volume_delete(contract.target, made.id) is False


def test_a_volume_over_the_quota_is_a_quota_error(contract):
    with pytest.raises(CloudQuotaExceeded):
        cloud.volume_find_or_create(
            contract.target, tag=contract.tag(), name="too-big", size_gb=100000
        )
