"""Contract: the Neutron calls the openstack CLI makes beyond the portal's own, as Neutron
answers them (cloudsim and the lab alike).

`quota set --networks N` sends `check_limit: true` (or `force: true` with `--force`), which
Neutron's quota-check-limit extension reads; `quota show --default`; a router's
`revision_number` moves when its interfaces change (what `openstack router show` and any
client comparing revisions see).
"""

from __future__ import annotations

import pytest

from provisioning import cloud

pytestmark = pytest.mark.contract


def test_check_limit_refuses_a_limit_below_usage_and_force_sets_it(contract):
    tag = contract.tag()
    cloud.network_find_or_create(
        contract.target, tag=tag, name="contract-check-limit", cidr="10.87.0.0/24",
        with_router=False,
    )  # fmt: skip
    admin = cloud.connect(contract.admin).network
    project_id = cloud.connect(contract.target).current_project_id
    before = admin.get_quota(project_id).networks
    path = f"/quotas/{project_id}"
    try:
        refused = admin.put(path, json={"quota": {"network": 0, "check_limit": True}})
        assert refused.status_code == 400
        assert (
            "Quota limit 0 for network must be greater than or equal to already used"
            in (refused.json()["NeutronError"]["message"])
        )
        allowed = admin.put(path, json={"quota": {"network": before + 1, "check_limit": True}})
        assert allowed.status_code == 200 and allowed.json()["quota"]["network"] == before + 1
        forced = admin.put(path, json={"quota": {"network": 0, "force": True}})
        assert forced.status_code == 200 and forced.json()["quota"]["network"] == 0
        # check_limit: false no longer turns the check off; only force does.
        unchecked = admin.put(path, json={"quota": {"network": 0, "check_limit": False}})
        assert unchecked.status_code == 400
    finally:
        admin.put(path, json={"quota": {"network": before, "force": True}})
        cloud.network_delete_by_tag(contract.target, tag)
    assert admin.get_quota(project_id).networks == before


def test_quota_defaults_are_readable_by_the_project(contract):
    network = cloud.connect(contract.target).network
    project_id = cloud.connect(contract.target).current_project_id
    defaults = network.get_quota_default(project_id)
    assert defaults.networks >= 1 and defaults.routers >= 1 and defaults.ports >= 1


def test_a_routers_revision_moves_when_its_interfaces_change(contract):
    network = cloud.connect(contract.target).network
    tag = contract.tag()
    net = network.create_network(name="contract-revision", description=tag)
    try:
        subnet = network.create_subnet(
            network_id=net.id, ip_version=4, cidr="10.88.0.0/24", description=tag
        )
        router = network.create_router(name="contract-revision", description=tag)
        try:
            first = network.get_router(router.id).revision_number
            network.add_interface_to_router(router, subnet=subnet.id)
            added = network.get_router(router.id).revision_number
            assert added > first
            network.remove_interface_from_router(router, subnet=subnet.id)
            assert network.get_router(router.id).revision_number > added
        finally:
            network.delete_router(router.id)
    finally:
        network.delete_network(net.id)
