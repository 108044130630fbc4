"""The client compatibility suite: the openstack CLI and Ansible's openstack.cloud, unmodified,
against a private cloudsim by default, or any cloud of a clouds.yaml:

    PORTAL_CLIENTS_CLOUD=lab-contract PORTAL_CLIENTS_ADMIN_CLOUD=lab \\
        CLOUDS_YAML=var/openstack-lab/clouds.yaml pytest tests/clients

Everything made is named `<prefix>-...` with a random prefix and deleted again.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openstack.config
import openstack.connection
import openstack.exceptions
import pytest

from cloudsim.pytest_plugin import CloudSimInstance, start_cloudsim

BIN = Path(sys.executable).parent


@dataclass
class ClientCloud:
    """One cloud of a clouds.yaml, and what a client needs to build in it."""

    clouds_yaml: Path
    cloud: str
    admin_cloud: str
    flavor: str
    image: str
    external_network: str
    project_id: str
    with_volume: bool
    #: Whether an associated floating IP becomes ACTIVE: not on a Neutron without an L3 agent
    #: (the lab's), where it stays DOWN and a client must not wait for it.
    floating_ips_activate: bool
    sim: CloudSimInstance | None

    @property
    def env(self) -> dict[str, str]:
        """The environment the clients run in: this clouds.yaml only, no OS_* leaking in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml), PATH=f"{BIN}:{env['PATH']}")
        return env

    def prefix(self) -> str:
        return f"compat-{uuid.uuid4().hex[:8]}"


def describe(clouds_yaml: Path, cloud: str, admin_cloud: str, sim: CloudSimInstance | None):
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)], load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud=cloud))
    try:
        flavor = min(conn.compute.flavors(), key=lambda f: (f.ram, f.vcpus, f.disk))
        image = min(conn.image.images(status="active"), key=lambda i: i.size or 0)
        external = next(conn.network.networks(is_router_external=True))
        return ClientCloud(
            clouds_yaml=clouds_yaml, cloud=cloud, admin_cloud=admin_cloud, flavor=flavor.name,
            image=image.id, external_network=external.name, project_id=conn.current_project_id,
            with_volume=conn.has_service("block-storage"),
            floating_ips_activate=has_l3_agent(config, admin_cloud), sim=sim,
        )  # fmt: skip
    finally:
        conn.close()


def has_l3_agent(config: openstack.config.OpenStackConfig, admin_cloud: str) -> bool:
    """True unless the admin's agent list answers and holds no L3 agent (a cloud that does not
    list agents, as cloudsim does not, is taken to route floating IPs)."""
    admin = openstack.connection.Connection(config=config.get_one(cloud=admin_cloud))
    try:
        agents = list(admin.network.agents())
    except openstack.exceptions.SDKException:
        return True
    finally:
        admin.close()
    return any(agent.agent_type == "L3 agent" for agent in agents)


@pytest.fixture(scope="module")
def client_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCloud]:
    name = os.environ.get("PORTAL_CLIENTS_CLOUD")
    if name:
        path = os.environ.get("CLOUDS_YAML") or os.environ.get("OS_CLIENT_CONFIG_FILE")
        if not path:
            pytest.fail("PORTAL_CLIENTS_CLOUD needs CLOUDS_YAML or OS_CLIENT_CONFIG_FILE")
        admin = os.environ.get("PORTAL_CLIENTS_ADMIN_CLOUD", name)
        yield describe(Path(path), name, admin, None)
        return
    # A private cloudsim: the calls the clients make are counted apart from other tests'.
    sim = start_cloudsim(tmp_path_factory.mktemp("clients-cloudsim"))
    try:
        yield describe(sim.clouds_yaml, sim.cloud, sim.admin_cloud, sim)
    finally:
        sim.stop()
