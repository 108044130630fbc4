"""Contract: the Nova calls the openstack CLI and Ansible's openstack.cloud make beyond the
portal's own, as Nova answers them (cloudsim and the lab alike).

`server set --name/--description` (PUT /servers/{id}), `server unset --property` (metadata
items), the 128 metadata items Nova allows, `server add/remove security group` and the groups
a server shows by name, `GET /servers/{id}/os-security-groups` (Ansible's server module),
`console log show`, `server create --min/--max`, `flavor show` (os-extra_specs), quota
defaults, `usage show`, availability zones, `server event list`, Nova's 400 for an unknown
status, its floating IP pools before 2.36, and keystonemiddleware's 401.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import openstack.exceptions as sdk_exc
import pytest

from provisioning import cloud
from provisioning.cloud import NetworkSetup, ServerInfo
from tests.contract.conftest import ContractCloud
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def network(contract_cloud: ContractCloud) -> Iterator[NetworkSetup]:
    tag = contract_cloud.tag()
    made = cloud.network_find_or_create(
        contract_cloud.target, tag=tag, name="contract-clients", cidr="10.86.0.0/24",
        with_router=False,
    )  # fmt: skip
    yield made
    cloud.network_delete_by_tag(contract_cloud.target, tag)


@pytest.fixture(scope="module")
def server(contract_cloud: ContractCloud, network: NetworkSetup) -> Iterator[ServerInfo]:
    target = contract_cloud.target
    made = cloud.server_find_or_create(
        target, tag=contract_cloud.tag(), name="contract-clients",
        flavor_id=contract_cloud.flavor.id, image_id=contract_cloud.image.id,
        network_ids=[network.network.id],
    )  # fmt: skip
    yield wait_status(target, made.id, "ACTIVE")
    cloud.server_delete(target, made.id)
    wait_gone(target, made.id)


def sdk(contract: ContractCloud, admin: bool = False):
    return cloud.connect(contract.admin if admin else contract.target)


def test_server_set_name_and_description(contract, server):
    compute = sdk(contract).compute
    compute.update_server(server.id, name="contract-renamed", description="set by the CLI")
    again = compute.get_server(server.id)
    assert (again.name, again.description) == ("contract-renamed", "set by the CLI")
    compute.update_server(server.id, name=server.name, description="")
    assert compute.get_server(server.id).name == server.name


def test_metadata_items_are_set_and_unset_one_by_one(contract, server):
    compute = sdk(contract).compute
    compute.set_server_metadata(server.id, colour="blue", size="small")
    compute.delete_server_metadata(server.id, ["colour"])
    assert compute.get_server_metadata(server.id).metadata.get("size") == "small"
    assert "colour" not in compute.get_server_metadata(server.id).metadata
    with pytest.raises(sdk_exc.NotFoundException, match="Metadata item was not found"):
        compute.delete_server_metadata(server.id, ["colour"])
    compute.delete_server_metadata(server.id, ["size"])


def test_no_more_metadata_items_than_the_limit(contract, server):
    compute = sdk(contract).compute
    limit = compute.get_limits().absolute.server_meta
    assert limit == 128  # Nova's default `metadata_items`
    before = compute.get_server_metadata(server.id).metadata
    fits = {f"key{i}": "v" for i in range(limit - len(before))}
    with pytest.raises(sdk_exc.ForbiddenException) as refused:
        compute.set_server_metadata(server.id, **fits, one_too_many="v")
    assert refused.match(f"Maximum number of metadata items exceeds {limit}")
    assert compute.get_server_metadata(server.id).metadata == before
    compute.set_server_metadata(server.id, **fits)  # exactly the limit
    assert len(compute.get_server_metadata(server.id).metadata) == limit
    compute.delete_server_metadata(server.id, list(fits))


def test_security_groups_are_added_removed_and_shown_by_name(contract, server):
    conn = sdk(contract)
    name = f"contract-clients-{contract.tag()[-10:]}"
    group = conn.network.create_security_group(name=name, description=contract.tag())
    try:
        conn.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp",
            port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0",
        )  # fmt: skip
        conn.compute.add_security_group_to_server(server.id, group)
        shown = conn.compute.get_server(server.id).security_groups
        assert sorted(g["name"] for g in shown) == sorted(["default", name])
        # What Ansible's server module reads (Nova's own view of Neutron's groups and rules).
        listed = conn.compute.fetch_server_security_groups(conn.compute.get_server(server.id))
        mine = next(g for g in listed.security_groups if g["id"] == group.id)
        assert mine["name"] == name and mine["tenant_id"] == group.project_id
        (rule,) = mine["rules"]  # ingress rules only
        assert rule["ip_protocol"] == "tcp" and (rule["from_port"], rule["to_port"]) == (22, 22)
        assert rule["ip_range"] == {"cidr": "0.0.0.0/0"} and rule["parent_group_id"] == group.id

        conn.compute.remove_security_group_from_server(server.id, group)
        shown = conn.compute.get_server(server.id).security_groups
        assert [g["name"] for g in shown] == ["default"]
        with pytest.raises(sdk_exc.NotFoundException, match="not associated with the instance"):
            conn.compute.remove_security_group_from_server(server.id, group)
        with pytest.raises(sdk_exc.NotFoundException, match="is not found for project"):
            conn.compute.add_security_group_to_server(server.id, {"name": "no-such-group-x"})
    finally:
        conn.network.delete_security_group(group.id)


def test_console_output_and_its_last_lines(contract, server):
    compute = sdk(contract).compute
    full = compute.get_server_console_output(server.id)["output"]
    assert full.strip()
    last = compute.get_server_console_output(server.id, length=1)["output"]
    assert "\n" not in last and full.endswith(last)


def test_instance_actions_list_the_create(contract, server):
    actions = list(sdk(contract).compute.server_actions(server.id))
    assert "create" in {a.action for a in actions}


def test_min_and_max_count_make_as_many_servers_named_in_order(contract, network):
    compute = sdk(contract).compute
    tag = contract.tag()
    name = f"contract-many-{tag[-6:]}"
    compute.create_server(
        name=name, flavor_id=contract.flavor.id, image_id=contract.image.id,
        networks=[{"uuid": network.network.id}], min_count=2, max_count=2, tags=[tag],
    )  # fmt: skip
    made = list(compute.servers(tags=tag))
    try:
        assert sorted(s.name for s in made) == [f"{name}-1", f"{name}-2"]
    finally:
        for each in made:
            compute.delete_server(each.id)
        for each in made:
            wait_gone(contract.target, each.id)


def test_flavor_extra_specs_are_readable(contract):
    compute = sdk(contract).compute
    flavor = compute.get_flavor(contract.flavor.id)
    specs = compute.fetch_flavor_extra_specs(flavor).extra_specs
    assert specs == (flavor.extra_specs or {})
    with pytest.raises(sdk_exc.NotFoundException, match="has no extra specs with key"):
        compute.get_flavor_extra_specs_property(flavor, "contract:no-such-key")


def test_quota_defaults_of_nova_and_neutron(contract):
    conn = sdk(contract)
    project_id = conn.current_project_id
    nova = conn.compute.get_quota_set_defaults(project_id)
    assert nova.metadata_items == 128 and nova.instances >= 1
    neutron = conn.network.get_quota_default(project_id)
    assert neutron.networks >= 1 and neutron.floating_ips >= 1


def test_usage_counts_the_running_server(contract, server):
    conn = sdk(contract)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    usage = conn.compute.get_usage(
        conn.current_project_id, start=now - dt.timedelta(days=1), end=now + dt.timedelta(hours=1)
    )
    mine = [u for u in usage.server_usages if u["instance_id"] == server.id]
    assert len(mine) == 1
    assert mine[0]["flavor"] == contract.flavor.name and mine[0]["vcpus"] == contract.flavor.vcpus
    assert mine[0]["state"] == "active" and usage.total_hours > 0


def test_availability_zones_with_hosts_for_admins_only(contract):
    zones = list(sdk(contract).compute.availability_zones())
    assert "nova" in {z.name for z in zones}
    with pytest.raises(sdk_exc.ForbiddenException):
        list(sdk(contract).compute.availability_zones(details=True))
    detailed = {z.name: z for z in sdk(contract, admin=True).compute.availability_zones(True)}
    services = {s for host in detailed["nova"].hosts.values() for s in host}
    assert "nova-compute" in services


def test_an_unknown_status_filter_is_a_400_from_2_38(contract):
    compute = sdk(contract).compute
    refused = compute.get("/servers?status=BOGUS", microversion="2.38")
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == "Invalid status value"
    before = compute.get("/servers?status=BOGUS", microversion="2.37")
    assert before.status_code == 200 and before.json()["servers"] == []


def test_floating_ip_pools_are_the_external_networks_before_2_36(contract):
    compute = sdk(contract).compute
    external = cloud.external_network_find(contract.target)
    pools = compute.get("/os-floating-ip-pools", microversion="2.35")
    assert pools.status_code == 200
    assert external.name in {p["name"] for p in pools.json()["floating_ip_pools"]}
    assert compute.get("/os-floating-ip-pools", microversion="2.36").status_code == 404


@pytest.mark.parametrize(
    "service,proxy,collection",
    [("compute", "compute", "servers"), ("network", "network", "networks"),
     ("image", "image", "images"), ("block-storage", "block_storage", "volumes")],
)  # fmt: skip
def test_a_bad_token_is_keystones_401_with_where_to_authenticate(
    contract, service, proxy, collection
):
    conn = sdk(contract)
    if not conn.has_service(service):
        pytest.skip(f"the cloud has no {service} service")
    endpoint = getattr(conn, proxy).get_endpoint().rstrip("/")
    request = urllib.request.Request(f"{endpoint}/{collection}", headers={"X-Auth-Token": "bad"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    answer = refused.value
    assert answer.code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Keystone uri=")
    if service == "image":  # Glance answers webob's page (HTML or text, as Accept asks)
        assert answer.headers["Content-Type"].split(";")[0] in ("text/html", "text/plain")
        assert "401 Unauthorized" in answer.read().decode()
        return
    body = json.loads(answer.read())
    assert body["error"]["code"] == 401 and body["error"]["title"] == "Unauthorized"
