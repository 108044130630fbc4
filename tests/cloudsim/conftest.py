"""Fixtures for cloudsim's own tests: SDK connections to the session's simulator.

The `cloudsim` and `cloudsim_clean` fixtures come from cloudsim.pytest_plugin, registered in
the root tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openstack
import openstack.config
import openstack.connection
import pytest

from cloudsim.pytest_plugin import CloudSimInstance

Connect = Callable[[str], openstack.connection.Connection]


@pytest.fixture(scope="session")
def sdk(cloudsim: CloudSimInstance) -> Iterator[Connect]:
    """Plain openstacksdk connections by cloud name (cached), from the plugin's clouds.yaml."""
    config = openstack.config.OpenStackConfig(
        config_files=[str(cloudsim.clouds_yaml)], load_envvars=False
    )
    cache: dict[str, openstack.connection.Connection] = {}

    def connect(name: str) -> openstack.connection.Connection:
        if name not in cache:
            cache[name] = openstack.connection.Connection(config=config.get_one(cloud=name))
        return cache[name]

    yield connect
    for conn in cache.values():
        conn.close()


@pytest.fixture
def sim(cloudsim_clean: CloudSimInstance) -> CloudSimInstance:
    return cloudsim_clean


@pytest.fixture
def member(sim: CloudSimInstance, sdk: Connect) -> openstack.connection.Connection:
    return sdk(sim.cloud)


@pytest.fixture
def admin(sim: CloudSimInstance, sdk: Connect) -> openstack.connection.Connection:
    return sdk(sim.admin_cloud)


@pytest.fixture
def net(member: openstack.connection.Connection) -> Iterator[openstack.network.v2.network.Network]:
    """A network with a subnet in team-a; servers built on it are deleted afterwards."""
    network = member.network.create_network(name="sim-test-net")
    member.network.create_subnet(network_id=network.id, cidr="10.50.0.0/24", ip_version=4)
    yield network
    for server in member.compute.servers():
        member.compute.delete_server(server)
    member.network.delete_network(network)


def boot(conn: openstack.connection.Connection, network_id: str, name: str = "vm", **extra):
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    image = next(i for i in conn.image.images() if i.name.startswith("cirros"))
    return conn.compute.create_server(
        name=name, flavor_id=flavor.id, image_id=image.id, networks=[{"uuid": network_id}], **extra
    )
