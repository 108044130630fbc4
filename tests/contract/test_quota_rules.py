"""Contract: the clouds' own quota rules, as Nova and Neutron apply them.

Pinned against the lab: a limit below what is in use is refused (Nova and Neutron alike, HTTP
400, naming the resource and the usage) unless Nova is told to force it; -1 is unlimited;
creating over a Neutron quota is a readable CloudQuotaExceeded.
"""

from __future__ import annotations

import pytest

from provisioning import cloud
from provisioning.cloud import CloudPermanentError, CloudQuotaExceeded
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


def test_a_limit_below_usage_is_refused(contract):
    tag = contract.tag()
    net = cloud.network_find_or_create(
        contract.target, tag=tag, name="contract-quota", cidr="10.84.0.0/24", with_router=False
    )
    server = cloud.server_find_or_create(
        contract.target, tag=tag, name="quota-user", flavor_id=contract.flavor.id,
        image_id=contract.image.id, network_ids=[net.network.id],
    )  # fmt: skip
    before = cloud.quota_get(contract.target)
    project_id = before.project_id
    try:
        wait_status(contract.target, server.id, "ACTIVE")
        used = cloud.quota_get(contract.target)
        assert used.instances.used >= 1 and used.networks.used >= 1
        with pytest.raises(CloudPermanentError, match="HTTP 400") as nova:
            cloud.quota_set(contract.admin, project_id, instances=0)
        assert not isinstance(nova.value, CloudQuotaExceeded)
        assert nova.match(
            "Quota limit 0 for instances must be greater than or equal to already used and "
            f"reserved {used.instances.used}"
        )
        with pytest.raises(CloudPermanentError, match="HTTP 400") as neutron:
            cloud.quota_set(contract.admin, project_id, networks=0)
        assert neutron.match(
            f"Quota limit 0 for network must be greater than or equal to already used "
            f"{used.networks.used}"
        )
        assert cloud.quota_get(contract.target).instances.limit == before.instances.limit
        unlimited = cloud.quota_set(contract.admin, project_id, instances=-1, networks=-1)
        assert unlimited.instances.unlimited and unlimited.networks.unlimited
    finally:
        cloud.quota_set(
            contract.admin, project_id, instances=before.instances.limit,
            networks=before.networks.limit,
        )  # fmt: skip
        cloud.server_delete(contract.target, server.id)
        wait_gone(contract.target, server.id)
        cloud.network_delete_by_tag(contract.target, tag)


def test_a_non_integer_limit_is_a_bad_request(contract):
    conn = cloud.connect(contract.admin)
    project_id = cloud.quota_get(contract.target).project_id
    nova = conn.compute.put(
        f"/os-quota-sets/{project_id}", json={"quota_set": {"instances": "abc"}},
        microversion="2.79",
    )  # fmt: skip
    assert nova.status_code == 400
    assert nova.json()["badRequest"]["message"] == (
        "Invalid input for field/attribute instances. Value: abc. 'abc' does not match '^-?[0-9]+$'"
    )
    neutron = conn.network.put(f"/quotas/{project_id}", json={"quota": {"network": "abc"}})
    assert neutron.status_code == 400
    assert neutron.json()["NeutronError"]["type"] == "InvalidInput"
    assert neutron.json()["NeutronError"]["message"] == (
        "Invalid input for operation: 'abc' is not an integer."
    )


def test_creating_over_the_network_quota_is_reported_readably(contract):
    quota = cloud.quota_get(contract.target)
    project_id = quota.project_id
    tag = contract.tag()
    cloud.quota_set(contract.admin, project_id, networks=quota.networks.used)
    try:
        with pytest.raises(CloudQuotaExceeded) as err:
            cloud.network_find_or_create(
                contract.target, tag=tag, name="over", cidr="10.85.0.0/24", with_router=False
            )
    finally:
        cloud.quota_set(contract.admin, project_id, networks=quota.networks.limit)
        cloud.network_delete_by_tag(contract.target, tag)
    assert str(err.value) == "The cloud refused: quota exceeded for resources: ['network']."
