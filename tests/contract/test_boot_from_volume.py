"""Contract: servers booted from a volume Nova makes from their image (`boot_volume_gb`).

Pinned against the lab, whose fake Cinder driver cannot copy an image into a volume (the volume
goes `error`): Nova gives up the build, the server is ERROR with a fault naming the volume, and
Nova deletes that volume itself (it was to go with the server), so nothing is left once the
server is deleted. cloudsim is told to fail the copy the same way (`fail_image_volumes`). Over
Cinder's quota the build is aborted too, with Cinder's reason. The path where the volume is made
and the server runs can only be checked on cloudsim.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from provisioning import cloud
from provisioning.cloud import CloudPermanentError, NetworkSetup, ServerInfo
from tests.contract.conftest import ContractCloud
from tests.contract.helpers import wait_gone, wait_status
from tests.contract.test_volumes import wait_volume, wait_volume_gone

pytestmark = pytest.mark.contract

#: Nova's BuildAbortException around VolumeNotCreated (the seconds and attempts vary).
NOT_CREATED = re.compile(
    r"Build of instance (?P<server>[0-9a-f-]{36}) aborted: Volume (?P<volume>[0-9a-f-]{36}) did "
    r"not finish being created even after we waited \d+ seconds or \d+ attempts\. And its "
    r"status is error\."
)
#: The id of nothing, for mappings that name an image or a volume that does not exist.
NOWHERE = str(uuid.UUID(int=7))
#: Mappings Nova's API refuses (400), and its words: changes to the portal's one mapping.
REFUSED = {
    "an unknown image": (
        {"uuid": NOWHERE},
        f"Block Device Mapping is Invalid: failed to get image {NOWHERE}.",
    ),
    "a size of 0": (
        {"volume_size": 0},
        "Invalid input for field/attribute volume_size. Value: 0. 0 is less than the minimum of 1",
    ),
    "no size": (
        {"volume_size": None},
        "Images with destination_type 'volume' need to have a non-zero size specified",
    ),
    "no boot index 0": (
        {"boot_index": 1},
        "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device "
        "mapping combination is not valid.",
    ),
    "an unknown source type": (
        {"source_type": "disk"},
        "Invalid input for field/attribute source_type. Value: disk. 'disk' is not one of "
        "['volume', 'image', 'snapshot', 'blank']",
    ),
    "a volume that does not exist": (
        {"source_type": "volume", "uuid": NOWHERE},
        f"Block Device Mapping is Invalid: failed to get volume {NOWHERE}.",
    ),
    "an image to a local disk": (
        {"destination_type": "local"},
        "Block Device Mapping is Invalid: Mapping image to local is not supported.",
    ),
}
#: Nova's BuildAbortException quoting Cinder's 413 (limits and usage vary by cloud).
OVER_QUOTA = re.compile(
    r"Build of instance (?P<server>[0-9a-f-]{36}) aborted: VolumeSizeExceedsAvailableQuota: "
    r"Requested volume or snapshot exceeds allowed gigabytes quota\. Requested 100000G, quota is "
    r"\d+G and \d+G has been consumed\."
)


@pytest.fixture(autouse=True)
def _has_block_storage(contract_cloud: ContractCloud) -> None:
    """Run against every cloud that has block storage (the lab does; not every cloud must)."""
    if not cloud.connect(contract_cloud.target).has_service("block-storage"):
        pytest.skip("this cloud has no block storage")


@pytest.fixture(scope="module")
def network(contract_cloud: ContractCloud) -> Iterator[NetworkSetup]:
    tag = contract_cloud.tag()
    setup = cloud.network_find_or_create(
        contract_cloud.target, tag=tag, name="contract-boot-volumes", cidr="10.86.0.0/24",
        with_router=False,
    )  # fmt: skip
    yield setup
    for server in cloud.servers_list(contract_cloud.target):
        if server.request_tag and "contract-" in server.request_tag:
            cloud.server_delete(contract_cloud.target, server.id)
            wait_gone(contract_cloud.target, server.id)
    cloud.network_delete_by_tag(contract_cloud.target, tag)


def boot(contract: ContractCloud, network: NetworkSetup, size_gb: int = 1) -> ServerInfo:
    return cloud.server_find_or_create(
        contract.target, tag=contract.tag(), name="boot-volume", flavor_id=contract.flavor.id,
        image_id=contract.image.id, network_ids=[network.network.id], boot_volume_gb=size_gb,
    )  # fmt: skip


def post_server(
    contract: ContractCloud, network: NetworkSetup, mapping: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """POST /servers with one boot mapping, bypassing the cloud layer (which sends only one
    shape): the status and body of Nova's answer."""
    body = {
        "name": "boot-volume-refused", "flavorRef": contract.flavor.id, "imageRef": "",
        "networks": [{"uuid": network.network.id}], "block_device_mapping_v2": [mapping],
    }  # fmt: skip
    compute = cloud.connect(contract.target).compute
    answer = compute.post("/servers", json={"server": body}, microversion="2.60")
    return answer.status_code, answer.json()


def portal_mapping(contract: ContractCloud, **changes: Any) -> dict[str, Any]:
    """The mapping `server_find_or_create(boot_volume_gb=1)` sends, with `changes` (None drops
    a key)."""
    mapping = {
        "boot_index": 0, "uuid": contract.image.id, "source_type": "image",
        "destination_type": "volume", "volume_size": 1, "delete_on_termination": True,
    }  # fmt: skip
    mapping.update(changes)
    return {k: v for k, v in mapping.items() if v is not None}


def volumes_attached(contract: ContractCloud, server_id: str) -> list[dict[str, Any]]:
    """The server's `os-extended-volumes:volumes_attached` (the cloud layer does not show it)."""
    server = cloud.connect(contract.target).compute.get_server(server_id)
    return list(server.attached_volumes or [])


def volumes_of(contract: ContractCloud, server_id: str) -> list[str]:
    return [
        v.id
        for v in cloud.volumes_list(contract.target)
        if any(sid == server_id for sid, _ in v.attachments)
    ]


def delete(contract: ContractCloud, server_id: str) -> None:
    cloud.server_delete(contract.target, server_id)
    wait_gone(contract.target, server_id)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_mappings_nova_refuses_are_a_400_in_its_words(contract, network, case):
    changes, message = REFUSED[case]
    status, body = post_server(contract, network, portal_mapping(contract, **changes))
    assert (status, body) == (400, {"badRequest": {"code": 400, "message": message}})


def test_an_unknown_image_is_a_permanent_error(contract, network):
    with pytest.raises(CloudPermanentError, match=f"failed to get image {NOWHERE}"):
        cloud.server_find_or_create(
            contract.target, tag=contract.tag(), name="boot-volume", flavor_id=contract.flavor.id,
            image_id=NOWHERE, network_ids=[network.network.id], boot_volume_gb=1,
        )  # fmt: skip


def test_a_volume_smaller_than_the_image_s_min_disk_is_refused(contract, network):
    image = next((i for i in cloud.images_list(contract.target) if i.min_disk_gb > 1), None)
    if image is None:
        pytest.skip("no image of this cloud asks for more than 1 GB")
    mapping = portal_mapping(contract, uuid=image.id, volume_size=image.min_disk_gb - 1)
    status, body = post_server(contract, network, mapping)
    assert status == 400
    assert body["badRequest"]["message"] == (
        "Volume is smaller than the minimum size specified in image metadata. Volume size is "
        f"{(image.min_disk_gb - 1) * 1024**3} bytes, minimum size is "
        f"{image.min_disk_gb * 1024**3} bytes."
    )


def test_a_boot_volume_the_cloud_cannot_make_aborts_the_build(contract, network):
    """The lab's Cinder cannot copy the image: the volume goes `error`, Nova deletes it and the
    server is ERROR with Nova's VolumeNotCreated fault; deleting the server leaves nothing."""
    if contract.is_sim:
        contract.sim.control.fail_image_volumes(times=1)
    server = boot(contract, network)
    try:
        failed = wait_status(contract.target, server.id, "ERROR", timeout=90)
        match = NOT_CREATED.fullmatch(failed.fault_message)
        assert match, failed.fault_message
        assert match["server"] == server.id
        # (Its addresses depend on whether Nova's networking finished before the volume failed:
        # either may come first on the lab, so they are not part of the contract.)
        assert failed.image_id == ""
        assert volumes_attached(contract, server.id) == []
        wait_volume_gone(contract, match["volume"], timeout=30)
    finally:
        delete(contract, server.id)
    assert volumes_of(contract, server.id) == []


def test_a_volume_the_cloud_cannot_copy_an_image_into_goes_error(contract):
    """The same failure through Cinder's own create (`imageRef`): `creating`, then `error`, not
    bootable; such a volume may be deleted."""
    if contract.is_sim:
        contract.sim.control.fail_image_volumes(times=1)
    storage = cloud.connect(contract.target).block_storage
    made = storage.create_volume(
        size=1, image_id=contract.image.id, name="from-image",
        metadata={"portal_request": contract.tag()},
    )  # fmt: skip
    try:
        failed = wait_volume(contract, made.id, "error", "available")
        assert failed.status == "error"
        assert storage.get_volume(made.id).is_bootable is False
    finally:
        cloud.volume_delete(contract.target, made.id)
    wait_volume_gone(contract, made.id)


def test_a_boot_volume_over_the_volume_quota_aborts_the_build(contract, network):
    """Nova asks Cinder for the volume only on the compute host: the create is accepted, then
    the build is aborted with Cinder's 413 message, and no volume is made."""
    server = boot(contract, network, size_gb=100000)
    try:
        failed = wait_status(contract.target, server.id, "ERROR", timeout=90)
        match = OVER_QUOTA.fullmatch(failed.fault_message)
        assert match, failed.fault_message
        assert match["server"] == server.id
        assert volumes_attached(contract, server.id) == []
    finally:
        delete(contract, server.id)
    assert volumes_of(contract, server.id) == []


def test_a_server_boots_from_a_volume_made_from_its_image(contract, network):
    """cloudsim only: the lab cannot copy an image into a volume."""
    contract.require_sim()
    before = cloud.quota_get(contract.target)
    server = boot(contract, network)
    active = wait_status(contract.target, server.id, "ACTIVE")
    assert active.image_id == ""
    [attached] = volumes_attached(contract, server.id)
    assert attached["delete_on_termination"] is True
    volume = cloud.volume_get(contract.target, attached["id"])
    assert (volume.status, volume.size_gb, volume.attachments, volume.project_id) == (
        "in-use", 1, ((server.id, "/dev/vda"),), active.project_id,
    )  # fmt: skip
    made = cloud.connect(contract.target).block_storage.get_volume(volume.id)
    assert made.is_bootable is True
    assert made.volume_image_metadata["image_id"] == contract.image.id
    during = cloud.quota_get(contract.target)
    assert (during.volumes.used, during.gigabytes.used) == (
        before.volumes.used + 1, before.gigabytes.used + 1,
    )  # fmt: skip
    with pytest.raises(CloudPermanentError, match="Cannot detach a root device volume"):
        cloud.volume_detach(contract.target, server_id=server.id, volume_id=volume.id)

    delete(contract, server.id)
    wait_volume_gone(contract, volume.id)
    after = cloud.quota_get(contract.target)
    assert (after.volumes.used, after.gigabytes.used) == (
        before.volumes.used, before.gigabytes.used,
    )  # fmt: skip
