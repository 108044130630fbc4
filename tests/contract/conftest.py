"""Contract tests of provisioning.cloud: cloudsim by default, any real cloud by configuration.

    PORTAL_CONTRACT_CLOUD=lab CLOUDS_YAML=/var/tmp/openstack-lab/clouds.yaml pytest tests/contract

PORTAL_CONTRACT_ADMIN_CLOUD names an admin cloud for the quota/project tests (default: the same
cloud). Against a real cloud the tests create objects tagged `portal-request-contract-<random>`
and delete them again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from cloudsim.pytest_plugin import CloudSimInstance
from provisioning import cloud
from provisioning.cloud import CloudTarget, FlavorInfo, ImageInfo


@dataclass
class ContractCloud:
    target: CloudTarget
    admin: CloudTarget
    flavor: FlavorInfo
    image: ImageInfo
    sim: CloudSimInstance | None

    @property
    def is_sim(self) -> bool:
        return self.sim is not None

    def tag(self) -> str:
        return cloud.request_tag(f"contract-{uuid.uuid4().hex[:10]}")

    def require_sim(self) -> CloudSimInstance:
        if self.sim is None:
            pytest.skip("needs cloudsim's control API")
        return self.sim


def _pick(target: CloudTarget) -> tuple[FlavorInfo, ImageInfo]:
    flavor = min(cloud.flavors_list(target), key=lambda f: (f.ram_mb, f.vcpus, f.disk_gb))
    image = min(cloud.images_list(target), key=lambda i: i.size_bytes or 0)
    return flavor, image


@pytest.fixture(scope="session")
def contract_cloud(request: pytest.FixtureRequest) -> Iterator[ContractCloud]:
    name = os.environ.get("PORTAL_CONTRACT_CLOUD")
    if name:
        path = os.environ.get("CLOUDS_YAML") or os.environ.get("OS_CLIENT_CONFIG_FILE")
        if not path:
            pytest.fail("PORTAL_CONTRACT_CLOUD needs CLOUDS_YAML or OS_CLIENT_CONFIG_FILE")
        admin_name = os.environ.get("PORTAL_CONTRACT_ADMIN_CLOUD", name)
        target = CloudTarget(name, clouds_yaml=path)
        admin = CloudTarget(admin_name, clouds_yaml=path)
        sim = None
    else:
        sim = request.getfixturevalue("cloudsim")
        target = CloudTarget(sim.cloud, clouds_yaml=str(sim.clouds_yaml))
        admin = CloudTarget(sim.admin_cloud, clouds_yaml=str(sim.clouds_yaml))
    flavor, image = _pick(target)
    yield ContractCloud(target, admin, flavor, image, sim)
    cloud.forget_connections()


@pytest.fixture
def contract(contract_cloud: ContractCloud) -> Iterator[ContractCloud]:
    """The contract cloud with cloudsim's knobs back to normal around each test."""
    if contract_cloud.sim is not None:
        control = contract_cloud.sim.control
        control.clear_faults()
        control.clear_latency()
        control.clear_counts()
        control.set_build_time(contract_cloud.sim.build_time)
        control.set_delete_time(0)
        control.set_action_time(0)
    yield contract_cloud
    if contract_cloud.sim is not None:
        contract_cloud.sim.control.clear_faults()
        contract_cloud.sim.control.clear_latency()
        contract_cloud.sim.control.set_action_time(0)
