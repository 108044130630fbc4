"""Contract: networks, subnets, routers and security groups through provisioning.cloud."""

from __future__ import annotations

import pytest

from provisioning import cloud
from provisioning.cloud import CloudPermanentError, SecurityRule

pytestmark = pytest.mark.contract


def test_network_with_router_is_idempotent_and_deletable(contract):
    tag = contract.tag()
    setup = cloud.network_find_or_create(
        contract.target, tag=tag, name="contract-net", cidr="10.78.0.0/24",
        dns_nameservers=["10.0.0.53"],
    )  # fmt: skip
    try:
        assert setup.network.name == "contract-net"
        assert tag in setup.network.tags
        assert setup.network.subnet_ids == (setup.subnet.id,)
        assert setup.subnet.cidr == "10.78.0.0/24"
        assert setup.subnet.gateway_ip == "10.78.0.1"
        assert setup.subnet.dns_nameservers == ("10.0.0.53",)
        assert setup.subnet.allocation_pools == (("10.78.0.2", "10.78.0.254"),)
        assert setup.router is not None
        external = cloud.external_network_find(contract.target)
        assert setup.router.external_network_id == external.id
        assert external.is_external
        again = cloud.network_find_or_create(
            contract.target, tag=tag, name="contract-net", cidr="10.78.0.0/24"
        )
        assert again.network.id == setup.network.id
        assert again.subnet.id == setup.subnet.id
        assert again.router and again.router.id == setup.router.id
        assert [n.id for n in cloud.networks_list(contract.target, tag=tag)] == [setup.network.id]
    finally:
        assert cloud.network_delete_by_tag(contract.target, tag) is True
    assert cloud.networks_list(contract.target, tag=tag) == []
    assert cloud.network_delete_by_tag(contract.target, tag) is False


def test_network_without_router(contract):
    tag = contract.tag()
    setup = cloud.network_find_or_create(
        contract.target, tag=tag, name="contract-isolated", cidr="10.79.0.0/24",
        gateway_ip="10.79.0.254", with_router=False,
    )  # fmt: skip
    try:
        assert setup.router is None
        assert setup.subnet.gateway_ip == "10.79.0.254"
        assert setup.subnet.allocation_pools == (("10.79.0.1", "10.79.0.253"),)
    finally:
        cloud.network_delete_by_tag(contract.target, tag)


def test_invalid_cidr_is_a_permanent_error(contract):
    tag = contract.tag()
    try:
        with pytest.raises(CloudPermanentError, match=r"10\.80\.0\.0/33 is not in a CIDR format"):
            cloud.network_find_or_create(
                contract.target, tag=tag, name="contract-bad", cidr="10.80.0.0/33"
            )
    finally:
        cloud.network_delete_by_tag(contract.target, tag)


def test_security_group_find_or_create(contract):
    tag = contract.tag()
    ssh = SecurityRule(protocol="tcp", port_min=22, port_max=22, remote_ip_prefix="10.0.0.0/8")
    https = SecurityRule(protocol="tcp", port_min=443, port_max=443)
    try:
        group = cloud.security_group_find_or_create(
            contract.target, tag=tag, name="contract-sg", rules=[ssh]
        )
        assert ssh in group.rules
        assert tag in group.tags
        again = cloud.security_group_find_or_create(
            contract.target, tag=tag, name="contract-sg", rules=[ssh, https]
        )
        assert again.id == group.id
        assert ssh in again.rules and https in again.rules
        assert sum(1 for r in again.rules if r == ssh) == 1
    finally:
        assert cloud.security_group_delete_by_tag(contract.target, tag) is True
    assert cloud.security_group_delete_by_tag(contract.target, tag) is False


def test_a_rule_is_made_once_by_its_tag_and_an_identical_rule_is_adopted(contract):
    tag = contract.tag()
    ssh = SecurityRule(protocol="tcp", port_min=22, port_max=22, remote_ip_prefix="10.0.0.0/8")
    try:
        group = cloud.security_group_find_or_create(contract.target, tag=tag, name="contract-rules")
        rule_tag = contract.tag()
        made = cloud.security_group_rule_ensure(
            contract.target, group_id=group.id, rule=ssh, tag=rule_tag, note="admins"
        )
        assert made == ssh and made.id and made.description == f"{rule_tag} admins"
        again = cloud.security_group_rule_ensure(
            contract.target, group_id=group.id, rule=ssh, tag=rule_tag
        )
        assert again.id == made.id
        # Another request asking for the same opening: Neutron refuses a duplicate (409), the
        # rule already there is adopted.
        other = cloud.security_group_rule_ensure(
            contract.target, group_id=group.id, rule=ssh, tag=contract.tag()
        )
        assert other.id == made.id
        rules = cloud.security_group_get(contract.target, group.id).rules
        assert sum(1 for r in rules if r == ssh) == 1
        # A rule naming another group as its peer.
        peer = SecurityRule(protocol="tcp", port_min=5432, port_max=5432, remote_ip_prefix=None,
                            remote_group_id=group.id)  # fmt: skip
        from_group = cloud.security_group_rule_ensure(
            contract.target, group_id=group.id, rule=peer, tag=contract.tag()
        )
        assert from_group.remote_group_id == group.id and from_group.remote_ip_prefix is None
        assert cloud.security_group_rule_delete(contract.target, made.id) is True
        assert cloud.security_group_rule_delete(contract.target, made.id) is False
        assert made not in cloud.security_group_get(contract.target, group.id).rules
    finally:
        cloud.security_group_delete_by_tag(contract.target, tag)
