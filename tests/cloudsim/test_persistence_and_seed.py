"""State survives a restart; the seed and clouds.yaml writers produce what the docs say."""

from __future__ import annotations

import openstack.config
import openstack.connection
import yaml

from cloudsim.pytest_plugin import start_cloudsim
from cloudsim.seed import write_clouds_yaml, write_seed


def connect(instance, name):
    config = openstack.config.OpenStackConfig(
        config_files=[str(instance.clouds_yaml)], load_envvars=False
    )
    return openstack.connection.Connection(config=config.get_one(cloud=name))


def test_restart_keeps_servers_networks_and_projects(tmp_path):
    instance = start_cloudsim(tmp_path / "sim", build_time=0)
    try:
        conn = connect(instance, instance.cloud)
        network = conn.network.create_network(name="kept")
        conn.network.create_subnet(network_id=network.id, cidr="10.70.0.0/24", ip_version=4)
        flavor = conn.compute.find_flavor("m1.tiny")
        image = next(iter(conn.image.images()))
        server = conn.compute.create_server(
            name="kept", flavor_id=flavor.id, image_id=image.id, networks=[{"uuid": network.id}]
        )
        first_pid = instance.pid
        instance.restart()
        assert instance.pid != first_pid
        fresh = connect(instance, instance.cloud)
        assert fresh.compute.get_server(server.id).status == "ACTIVE"
        assert fresh.network.get_network(network.id).name == "kept"
        assert conn.compute.get_server(server.id).name == "kept"  # old token still valid
    finally:
        instance.stop()


def test_write_seed_and_clouds_yaml(tmp_path):
    seed = write_seed(
        tmp_path / "seed.yaml",
        regions=["brussels-unclass", "mons-secret"],
        projects=["alloc-1", {"name": "alloc-2", "description": "Mons"}],
        users=[{"name": "portal", "password": "pw", "roles": {"alloc-1": ["member"]}}],
        quotas={"compute": {"instances": 50}},
    )
    loaded = yaml.safe_load((tmp_path / "seed.yaml").read_text())
    assert loaded == seed
    assert loaded["regions"] == ["brussels-unclass", "mons-secret"]
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"real": {"auth": {"auth_url": "x"}}}}))
    write_clouds_yaml(
        clouds, "http://127.0.0.1:8800", ["brussels-unclass", "mons-secret"],
        username="portal", password="pw", project_name="alloc-1",
    )  # fmt: skip
    entries = yaml.safe_load(clouds.read_text())["clouds"]
    assert set(entries) == {"real", "brussels-unclass", "mons-secret"}
    assert entries["mons-secret"]["region_name"] == "mons-secret"
    assert entries["mons-secret"]["auth"]["auth_url"] == "http://127.0.0.1:8800/v3"


def test_demo_files_give_the_portal_account_every_project(tmp_path):
    from cloudsim.seed import project_id_for, write_demo_files
    from provisioning import cloud
    from provisioning.cloud import CloudTarget

    instance = start_cloudsim(tmp_path / "sim", build_time=0)
    try:
        ids = write_demo_files(
            seed_path=instance.seed_path, clouds_yaml_path=tmp_path / "clouds.yaml",
            base_url=instance.base_url, regions=["brussels-unclass", "mons-secret"],
            projects=["csc-brussels-unclass", "jfc-mons-secret"], password="demo-pw",
        )  # fmt: skip
        instance.restart()  # picks up the new seed (added to what is there)
        assert ids["jfc-mons-secret"] == project_id_for("jfc-mons-secret")
        path = str(tmp_path / "clouds.yaml")
        admin = CloudTarget("mons-secret", clouds_yaml=path)
        assert {f.name for f in cloud.flavors_list(admin)}
        scoped = CloudTarget("mons-secret", project_id=ids["jfc-mons-secret"], clouds_yaml=path)
        assert cloud.quota_get(scoped).project_id == ids["jfc-mons-secret"]
        made = cloud.project_find_or_create(admin, name="training-mons-secret")
        assert made.id
    finally:
        cloud.forget_connections()
        instance.stop()
