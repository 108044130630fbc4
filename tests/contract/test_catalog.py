"""Contract: flavors, images, quotas and projects through provisioning.cloud."""

from __future__ import annotations

import uuid

import pytest

from provisioning import cloud
from provisioning.cloud import CloudPermanentError, CloudQuotaExceeded, CloudTarget

pytestmark = pytest.mark.contract


def test_flavors_and_images(contract):
    flavors = cloud.flavors_list(contract.target)
    assert flavors and all(f.vcpus > 0 and f.ram_mb > 0 for f in flavors)
    assert len({f.id for f in flavors}) == len(flavors)
    images = cloud.images_list(contract.target)
    assert images and all(i.status == "active" for i in images)


def test_quota_get_reports_limits_and_usage(contract):
    quota = cloud.quota_get(contract.target)
    assert quota.instances.limit != 0
    assert quota.instances.used >= 0
    assert quota.cores.limit != 0 and quota.ram_mb.limit != 0
    assert quota.networks.limit != 0 and quota.ports.limit != 0
    assert quota.security_groups.used >= 0


def test_quota_set_changes_nova_and_neutron(contract):
    before = cloud.quota_get(contract.target)
    try:
        after = cloud.quota_set(
            contract.admin, before.project_id, instances=before.instances.limit + 3,
            networks=before.networks.limit + 2,
        )  # fmt: skip
        assert after.instances.limit == before.instances.limit + 3
        assert after.networks.limit == before.networks.limit + 2
        assert cloud.quota_get(contract.target).instances.limit == before.instances.limit + 3
    finally:
        cloud.quota_set(
            contract.admin, before.project_id, instances=before.instances.limit,
            networks=before.networks.limit,
        )  # fmt: skip


def test_quota_set_rejects_unknown_names(contract):
    with pytest.raises(CloudPermanentError, match="bananas"):
        cloud.quota_set(contract.admin, "x", bananas=3)


def test_project_find_or_create_and_work_in_it(contract):
    name = f"contract-{uuid.uuid4().hex[:8]}"
    project = cloud.project_find_or_create(contract.admin, name=name, description="contract")
    assert project.name == name
    again = cloud.project_find_or_create(contract.admin, name=name)
    assert again.id == project.id
    scoped = CloudTarget(
        contract.admin.cloud, project_id=project.id, clouds_yaml=contract.admin.clouds_yaml
    )
    quota = cloud.quota_get(scoped)
    assert quota.project_id == project.id
    assert quota.instances.used == 0
    assert cloud.servers_list(scoped) == []
    if not contract.is_sim:
        conn = cloud.connect(contract.admin)
        conn.identity.delete_project(project.id)


def test_quota_set_reaches_cinder_where_the_cloud_has_block_storage(contract):
    if not cloud.connect(contract.target).has_service("block-storage"):
        pytest.skip("this cloud has no block storage")
    before = cloud.quota_get(contract.target)
    assert before.volumes.limit != 0 and before.gigabytes.limit != 0
    assert before.volumes.used >= 0
    try:
        after = cloud.quota_set(
            contract.admin, before.project_id, volumes=before.volumes.limit + 2,
            gigabytes=before.gigabytes.limit + 50,
        )  # fmt: skip
        assert after.volumes.limit == before.volumes.limit + 2
        assert after.gigabytes.limit == before.gigabytes.limit + 50
    finally:
        cloud.quota_set(
            contract.admin, before.project_id, volumes=before.volumes.limit,
            gigabytes=before.gigabytes.limit,
        )  # fmt: skip


def test_a_volume_types_own_quota_reaches_cinder_and_holds(contract):
    if not cloud.connect(contract.target).has_service("block-storage"):
        pytest.skip("this cloud has no block storage")
    volume_type = cloud.volume_types_list(contract.target)[0].name
    project_id = cloud.quota_get(contract.target).project_id
    keys = (f"volumes_{volume_type}", f"gigabytes_{volume_type}")

    def per_type() -> tuple[int, int]:
        quota = cloud.connect(contract.admin).block_storage.get_quota_set(project_id)
        body = quota.to_dict(computed=False)  # per-type keys are kept as they came
        return tuple(body[k] for k in keys)

    try:
        cloud.quota_set(contract.admin, project_id, **{keys[0]: 1, keys[1]: 2})
        assert per_type() == (1, 2)
        with pytest.raises(CloudQuotaExceeded):
            cloud.volume_find_or_create(
                contract.target, tag=contract.tag(), name="too-big-for-type", size_gb=3,
                volume_type=volume_type,
            )  # fmt: skip
    finally:
        cloud.quota_set(contract.admin, project_id, **{keys[0]: -1, keys[1]: -1})
    assert per_type() == (-1, -1)
    with pytest.raises(CloudPermanentError, match="Unknown quota names: bananas_x"):
        cloud.quota_set(contract.admin, project_id, **{"gigabytes": 1, "bananas_x": 2})
