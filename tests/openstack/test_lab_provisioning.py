"""The portal end to end against a real OpenStack: requests through approval, a real Celery
worker and Redis, PostgreSQL, and the lab's Nova and Neutron, checked on the cloud's side.
"""

from __future__ import annotations

import ipaddress

import pytest

from portal.ssh_keys import parse_public_key, ssh_key_add
from provisioning import cloud, services
from provisioning.models import Kind, Network, Orphan, RequestState, ResourceRequest, Server
from provisioning.reconcile import reconcile_region
from tests.keys import ed25519_key
from tests.live import wait_for

pytestmark = [pytest.mark.openstack, pytest.mark.queue, pytest.mark.django_db(transaction=True)]
WHY = "End-to-end test of the portal on the OpenStack lab."


def wait_state(request, *states, timeout=90) -> ResourceRequest:
    def reached():
        request.refresh_from_db()
        return request.state in states

    try:
        wait_for(reached, timeout=timeout, what=f"request #{request.pk} to reach {states}")
    except AssertionError as err:
        raise AssertionError(
            f"{err}; it is {request.state}: {request.status_note} {request.failure_reason}"
        ) from None
    return request


def make_network(world, name="app", cidr="10.40.0.0/24", router=True) -> Network:
    request = services.request_submit(
        user=world.requester, kind=Kind.NETWORK, allocation=world.allocation,
        spec={"name": name, "cidr": cidr, "router": router}, justification=WHY,
    )  # fmt: skip
    services.request_approve(user=world.approver, request=request)
    wait_state(request, RequestState.COMPLETED)
    return Network.objects.get(origin_request=request)


def submit_server(world, network, name="web", flavor="m1.tiny", **spec) -> ResourceRequest:
    image = min(cloud.images_list(world.lab.admin), key=lambda i: i.size_bytes or 0).name
    return services.request_submit(
        user=world.requester, kind=Kind.SERVER, allocation=world.allocation,
        spec={"name": name, "flavor": flavor, "image": image, "networks": [network.pk], **spec},
        justification=WHY,
    )  # fmt: skip


def day2(world, kind, server) -> ResourceRequest:
    request = services.request_submit(
        user=world.requester, kind=kind, target=server, justification=WHY
    )
    if request.state == RequestState.PENDING_APPROVAL:
        services.request_approve(user=world.approver, request=request)
    return wait_state(request, RequestState.COMPLETED)


def test_network_and_server_on_real_nova_with_a_bound_port_then_day2(lab_world):
    world = lab_world
    network = make_network(world)
    assert network.backend_id in {n.id for n in cloud.networks_list(world.target)}
    assert network.subnet_id and network.router_id

    key = ssh_key_add(user=world.requester, public_key=ed25519_key("req@laptop"), name="laptop")
    request = submit_server(world, network, ssh_key=key.pk)
    services.request_approve(user=world.approver, request=request)
    wait_state(request, RequestState.COMPLETED)
    assert [t.to_state for t in request.transitions.all()] == [
        "pending_approval", "approved", "provisioning", "completed",
    ]  # fmt: skip

    server = Server.objects.get(origin_request=request)
    in_nova = cloud.server_get(world.target, server.backend_id)
    assert in_nova.status == "ACTIVE" and in_nova.task_state is None
    # The requester's key reached Nova through the allocation's key pair.
    assert in_nova.key_name == request.spec["ssh_key"]["keypair"]
    keypair = cloud.keypair_get(world.target, in_nova.key_name)
    assert keypair.fingerprint == parse_public_key(key.public_key).md5_fingerprint
    assert in_nova.request_tag and in_nova.request_tag.startswith(f"portal-request-{request.pk}.")
    # Bindings are shown to admins only: read the ports with the region's admin account.
    (port,) = cloud.server_ports(world.lab.admin, server.backend_id)
    assert port.status == "ACTIVE"
    assert port.is_bound, f"port {port.id} is {port.vif_type}"
    assert port.network_id == network.backend_id
    ((subnet_id, address),) = port.fixed_ips
    assert subnet_id == network.subnet_id
    assert ipaddress.ip_address(address) in ipaddress.ip_network(network.cidr)
    assert server.status == "ACTIVE"
    assert [a["address"] for a in server.addresses] == [address]

    day2(world, Kind.SERVER_STOP, server)
    assert cloud.server_get(world.target, server.backend_id).status == "SHUTOFF"
    day2(world, Kind.SERVER_START, server)
    assert cloud.server_get(world.target, server.backend_id).status == "ACTIVE"
    day2(world, Kind.SERVER_REBOOT, server)
    rebooted = cloud.server_get(world.target, server.backend_id)
    assert (rebooted.status, rebooted.task_state) == ("ACTIVE", None)

    # An external address from the lab's public network, on the server's port.
    day2(world, Kind.SERVER_ADDRESS_ADD, server)
    (address,) = server.floating_ips.live()
    in_neutron = cloud.floating_ip_get(world.target, address.backend_id)
    assert (in_neutron.address, in_neutron.port_id) == (address.address, port.id)
    assert in_neutron.fixed_address == port.fixed_ips[0][1]

    day2(world, Kind.SERVER_DECOMMISSION, server)
    server.refresh_from_db()
    assert server.is_deleted
    with pytest.raises(cloud.CloudNotFound):
        cloud.server_get(world.target, server.backend_id)
    assert cloud.server_ports(world.lab.admin, server.backend_id) == []
    # Neutron keeps an address whose port went; the portal released it with the server.
    assert cloud.floating_ips_list(world.target) == []
    address.refresh_from_db()
    assert address.is_deleted
    cloud.keypair_delete(world.target, keypair.name)

    day2(world, Kind.NETWORK_DECOMMISSION, network)
    assert network.backend_id not in {n.id for n in cloud.networks_list(world.target)}


def test_reconciler_sees_servers_deleted_and_created_directly_in_nova(lab_world):
    world = lab_world
    network = make_network(world, name="rec", cidr="10.41.0.0/24", router=False)
    request = submit_server(world, network, name="known")
    services.request_approve(user=world.approver, request=request)
    wait_state(request, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=request)

    cloud.server_delete(world.target, server.backend_id)
    stray = cloud.server_find_or_create(
        world.target, tag=cloud.request_tag("999999.1.1"), name="stray",
        flavor_id=request.spec["flavor_id"], image_id=request.spec["image_id"],
        network_ids=[network.backend_id],
    )  # fmt: skip
    wait_for(
        lambda: server.backend_id not in {s.id for s in cloud.servers_list(world.target)},
        timeout=60, what="Nova to delete the server",
    )  # fmt: skip

    counts = reconcile_region(world.region.pk)

    server.refresh_from_db()
    assert server.is_deleted
    assert counts["vanished"] == 1
    orphan = Orphan.objects.get(backend_id=stray.id)
    assert (orphan.kind, orphan.tag, orphan.name) == (
        "server",
        "portal-request-999999.1.1",
        "stray",
    )
    assert orphan.project_id == world.allocation.project_id and orphan.resolved_at is None

    cloud.server_delete(world.target, stray.id)
    wait_for(
        lambda: stray.id not in {s.id for s in cloud.servers_list(world.target)},
        timeout=60, what="Nova to delete the stray server",
    )  # fmt: skip
    reconcile_region(world.region.pk)
    orphan.refresh_from_db()
    assert orphan.resolved_at is not None


def test_over_the_clouds_own_quota_fails_with_a_readable_reason(lab_world):
    world = lab_world
    network = make_network(world, name="tight", cidr="10.42.0.0/24", router=False)
    world.allocation.refresh_from_db()  # the worker made the project
    project_id = world.allocation.project_id
    # The portal's allocation allows 40 vCPUs; the cloud is told 1.
    cloud.quota_set(world.lab.admin, project_id, cores=1)

    request = submit_server(world, network, name="big", flavor="m1.medium")
    services.request_approve(user=world.approver, request=request)
    wait_state(request, RequestState.FAILED)

    reason = request.failure_reason
    assert reason.startswith("The cloud refused: quota exceeded for cores"), reason
    assert "Requested 2, but already used 0 of 1 cores" in reason
    assert "Traceback" not in reason and "HTTP" not in reason and "Exception" not in reason
    assert not [s for s in cloud.servers_list(world.target) if s.name == "big"]
    assert not Server.objects.live().filter(origin_request=request).exists()


def test_a_resize_real_nova_cannot_place_fails_with_its_reason_and_changes_nothing(lab_world):
    """The lab has one compute host and does not resize onto the same host: Nova accepts the
    resize, its scheduler then finds no host, and the server comes back as it was, with no
    fault. The portal reads why from the server's recorded actions."""
    world = lab_world
    network = make_network(world, name="resize", cidr="10.43.0.0/24", router=False)
    request = submit_server(world, network, name="grow")
    services.request_approve(user=world.approver, request=request)
    wait_state(request, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=request)

    resize = services.request_submit(
        user=world.requester, kind=Kind.SERVER_RESIZE, target=server,
        spec={"flavor": "m1.small"}, justification=WHY,
    )  # fmt: skip
    services.request_approve(user=world.approver, request=resize)
    wait_state(resize, RequestState.FAILED)
    reason = resize.failure_reason
    assert reason.startswith("The cloud did not resize grow: "), reason
    assert "No valid host" in reason and reason.endswith("It still runs as m1.tiny.")
    in_nova = cloud.server_get(world.target, server.backend_id)
    assert (in_nova.status, in_nova.flavor_name, in_nova.task_state) == ("ACTIVE", "m1.tiny", None)
    server.refresh_from_db()
    assert (server.flavor_name, server.status) == ("m1.tiny", "ACTIVE")


def volume_request(world, kind, volume=None, **spec) -> ResourceRequest:
    """File a volume request (new, or on ``volume``), approve it, wait for it to complete."""
    if volume is None:
        request = services.request_submit(
            user=world.requester, kind=kind, allocation=world.allocation, spec=spec,
            justification=WHY,
        )  # fmt: skip
    else:
        volume.refresh_from_db()
        request = services.request_submit(
            user=world.requester, kind=kind, target=volume, spec=spec or None, justification=WHY
        )
    services.request_approve(user=world.approver, request=request)
    return wait_state(request, RequestState.COMPLETED)


def test_a_volume_is_made_attached_detached_extended_and_deleted_in_cinder(lab_world):
    from provisioning.models import Volume

    world = lab_world
    network = make_network(world, name="vol", cidr="10.43.0.0/24", router=False)
    built = submit_server(world, network, name="db")
    services.request_approve(user=world.approver, request=built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)

    made = volume_request(world, Kind.VOLUME, name="pgdata", size_gb=1)
    volume = Volume.objects.get(origin_request=made)
    in_cinder = cloud.volume_get(world.target, volume.backend_id)
    assert (in_cinder.name, in_cinder.size_gb, in_cinder.status) == ("pgdata", 1, "available")
    assert in_cinder.request_tag == f"portal-request-{made.pk}.1"

    volume_request(world, Kind.VOLUME_ATTACH, volume, server=server.pk)
    volume.refresh_from_db()
    in_cinder = cloud.volume_get(world.target, volume.backend_id)
    assert in_cinder.status == "in-use" == volume.status
    assert in_cinder.attachments == ((server.backend_id, volume.device),)
    assert volume.server == server and volume.device.startswith("/dev/")

    volume_request(world, Kind.VOLUME_DETACH, volume)
    volume.refresh_from_db()
    assert (volume.server, volume.status) == (None, "available")
    assert cloud.volume_get(world.target, volume.backend_id).attachments == ()

    volume_request(world, Kind.VOLUME_EXTEND, volume, size_gb=2)
    volume.refresh_from_db()
    assert volume.size_gb == 2 == cloud.volume_get(world.target, volume.backend_id).size_gb

    # Attached again and decommissioned with "detach first": Cinder no longer has it.
    volume_request(world, Kind.VOLUME_ATTACH, volume, server=server.pk)
    volume_request(world, Kind.VOLUME_DECOMMISSION, volume, detach=True)
    volume.refresh_from_db()
    assert volume.is_deleted
    with pytest.raises(cloud.CloudNotFound):
        cloud.volume_get(world.target, volume.backend_id)
    assert cloud.server_get(world.target, server.backend_id).status == "ACTIVE"


def test_a_boot_volume_the_labs_storage_cannot_make_fails_with_novas_reason(lab_world):
    """The lab's Cinder stores nothing, so no volume can be made from an image there: Nova
    aborts the build. The request fails with Nova's own words and leaves nothing behind."""
    world = lab_world
    network = make_network(world, name="bfv", cidr="10.44.0.0/24", router=False)
    built = submit_server(world, network, name="bfv", boot_volume_gb=1)
    assert (built.volumes, built.gigabytes) == (1, 1)
    services.request_approve(user=world.approver, request=built)
    wait_state(built, RequestState.FAILED, timeout=120)
    assert "did not finish being created" in built.failure_reason
    assert "partly built servers were deleted: bfv" in built.failure_reason
    wait_for(lambda: not cloud.servers_list(world.target), timeout=60, what="the server to go")
    assert cloud.volumes_list(world.target) == []
