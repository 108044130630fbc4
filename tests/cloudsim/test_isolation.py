"""Project and region isolation, as OpenStack enforces it."""

from __future__ import annotations

from tests.cloudsim.conftest import boot


def test_projects_never_see_each_other(sim, sdk, member, net):
    other = sdk(sim.other_cloud)
    server = boot(member, net.id, name="secret")
    assert [s.id for s in member.compute.servers()] == [server.id]
    assert list(other.compute.servers()) == []
    assert list(other.compute.servers(all_projects=True)) == []
    assert other.compute.get(f"/servers/{server.id}", microversion="2.79").status_code == 404
    assert other.network.get(f"/networks/{net.id}").status_code == 404
    assert net.id not in {n.id for n in other.network.networks()}
    assert other.compute.delete(f"/servers/{server.id}").status_code == 404
    assert other.network.delete(f"/networks/{net.id}").status_code == 404
    external = {n.id for n in other.network.networks(is_router_external=True)}
    assert external  # the external network is visible to every project


def test_admin_sees_all_projects_only_when_asked(sim, sdk, member, admin, net):
    server = boot(member, net.id, name="visible-to-admin")
    assert server.id not in {s.id for s in admin.compute.servers()}
    assert server.id in {s.id for s in admin.compute.servers(all_projects=True)}
    assert admin.compute.get_server(server.id).id == server.id


def test_regions_are_separate(sim, sdk, member, net):
    boot(member, net.id, name="region-one")
    second = sdk(sim.second_region_cloud)
    assert list(second.compute.servers()) == []
    assert net.id not in {n.id for n in second.network.networks()}
    assert second.compute.get(f"/servers/{net.id}", microversion="2.79").status_code == 404
    assert {f.name for f in second.compute.flavors()} == {f.name for f in member.compute.flavors()}
