"""The real OpenStack lane: the portal against the lab (real Keystone, Nova, Neutron, Glance,
Placement on 127.0.0.1; see /work/shared/openstack-lab/README.md).

Every test here carries the `openstack` marker and is skipped unless PORTAL_OPENSTACK_LAB=1,
which `make test-openstack` sets once the lab answers; `make test` never needs the lab.
CLOUDS_YAML names the lab's clouds.yaml; the portal's region uses its admin cloud
(PORTAL_OPENSTACK_CLOUD, default `lab`), as a production region uses the portal's service
account. The queue parts (private Redis, real Celery worker on the test database) are the
shared ones of tests/live.py, with the worker pointed at the lab instead of cloudsim.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning import cloud
from provisioning.cloud import CloudError, CloudNotFound, CloudTarget
from tests.live import build_world, worker_environment

HERE = Path(__file__).resolve().parent
ENABLED = os.environ.get("PORTAL_OPENSTACK_LAB") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs the OpenStack lab: make test-openstack")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.openstack)
            if not ENABLED:
                item.add_marker(skip)


@dataclass(frozen=True)
class Lab:
    clouds_yaml: str
    cloud: str

    @property
    def admin(self) -> CloudTarget:
        return CloudTarget(self.cloud, clouds_yaml=self.clouds_yaml)

    def scoped(self, project_id: str) -> CloudTarget:
        return CloudTarget(self.cloud, project_id=project_id, clouds_yaml=self.clouds_yaml)


@pytest.fixture(scope="session")
def lab() -> Lab:
    path = os.environ.get("CLOUDS_YAML") or os.environ.get("OS_CLIENT_CONFIG_FILE")
    if not path or not Path(path).is_file():
        pytest.fail("PORTAL_OPENSTACK_LAB=1 needs CLOUDS_YAML naming the lab's clouds.yaml")
    found = Lab(clouds_yaml=path, cloud=os.environ.get("PORTAL_OPENSTACK_CLOUD", "lab"))
    try:
        cloud.flavors_list(found.admin)
    except CloudError as err:
        pytest.fail(f"The lab does not answer ({err}); start it with make test-openstack")
    return found


@pytest.fixture(scope="session")
def worker_env(django_db_setup, redis_server, lab) -> dict[str, str]:
    """tests/live.py's worker environment, with the lab's clouds.yaml and a real cloud's pace."""
    return worker_environment(
        redis_server.url, lab.clouds_yaml,
        PORTAL_POLL_FIRST="0.5", PORTAL_POLL_MAX="2",
        PORTAL_LEASE_SECONDS="20", PORTAL_LEASE_QUEUE_GRACE="60",
        PORTAL_PROVISIONING_DEADLINE="180", CLOUD_API_TIMEOUT="30",
    )  # fmt: skip


@dataclass
class LabWorld:
    lab: Lab
    region: object
    allocation: object
    requester: object
    approver: object

    @property
    def target(self) -> CloudTarget:
        """The allocation's project, as the worker acts in it."""
        self.allocation.refresh_from_db()
        return self.lab.scoped(self.allocation.project_id)


@pytest.fixture
def lab_world(lab, worker, settings) -> Iterator[LabWorld]:
    """A region on the lab's admin cloud, an allocation with its own new project, two users.

    Afterwards whatever is left in the project is deleted, then the project itself.
    """
    settings.CLOUDS_YAML = lab.clouds_yaml
    settings.CLOUD_API_TIMEOUT = 30
    world = LabWorld(lab=lab, **build_world(cloud_name=lab.cloud, project_prefix="portal-e2e"))
    allocation = world.allocation
    yield world
    allocation.refresh_from_db()
    if allocation.project_id:
        project_clean_up(lab, allocation.project_id)


def project_clean_up(lab: Lab, project_id: str) -> None:
    """Delete the project's servers (waiting for them), volumes, networks, then the project."""
    target = lab.scoped(project_id)
    servers = cloud.servers_list(target)
    for server in servers:
        cloud.server_delete(target, server.id)
    deadline = time.monotonic() + 60
    while servers and time.monotonic() < deadline:
        servers = [s for s in servers if _exists(target, s.id)]
        time.sleep(0.5)
    for volume in cloud.volumes_list(target):
        cloud.volume_delete(target, volume.id)
    for network in cloud.networks_list(target):
        for tag in network.tags:
            cloud.network_delete_by_tag(target, tag)
    cloud.connect(lab.admin).identity.delete_project(project_id)


def _exists(target: CloudTarget, server_id: str) -> bool:
    try:
        cloud.server_get(target, server_id)
    except CloudNotFound:
        return False
    return True
