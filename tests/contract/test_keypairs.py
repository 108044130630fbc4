"""Contract: key pairs through provisioning.cloud (Nova's os-keypairs), cloudsim and the lab."""

from __future__ import annotations

import uuid

import pytest

from portal.ssh_keys import parse_public_key
from provisioning import cloud
from provisioning.cloud import CloudPermanentError
from tests.keys import ed25519_key, rsa_key

pytestmark = pytest.mark.contract


def _name() -> str:
    return f"portal-contract-{uuid.uuid4().hex[:10]}"


def test_ensure_makes_the_key_pair_once_and_reports_novas_fingerprint(contract):
    name, key = _name(), parse_public_key(rsa_key(3072)).openssh
    try:
        made = cloud.keypair_ensure(contract.target, name=name, public_key=key)
        assert made.name == name
        assert made.fingerprint == parse_public_key(key).md5_fingerprint
        again = cloud.keypair_ensure(contract.target, name=name, public_key=key + " a-comment")
        assert again.fingerprint == made.fingerprint
        assert cloud.keypair_get(contract.target, name).public_key.split()[:2] == key.split()
    finally:
        cloud.keypair_delete(contract.target, name)
    assert cloud.keypair_get(contract.target, name) is None
    assert cloud.keypair_delete(contract.target, name) is False


def test_ensure_refuses_a_name_that_holds_another_key(contract):
    name = _name()
    try:
        cloud.keypair_ensure(contract.target, name=name, public_key=ed25519_key())
        with pytest.raises(CloudPermanentError, match="another key"):
            cloud.keypair_ensure(contract.target, name=name, public_key=ed25519_key())
    finally:
        cloud.keypair_delete(contract.target, name)


def test_a_damaged_key_is_refused_by_the_cloud(contract):
    damaged = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDamaged"
    with pytest.raises(CloudPermanentError, match="Keypair data is invalid"):
        cloud.keypair_ensure(contract.target, name=_name(), public_key=damaged)
