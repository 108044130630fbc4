"""Volumes end to end: real worker, real Redis, cloudsim's Cinder and Nova over HTTP, PostgreSQL.

Each step is checked on the cloud's side through the cloud layer as well as in the portal's rows.
"""

from __future__ import annotations

import pytest

from portal.models import AuditEvent
from provisioning import cloud, services
from provisioning.models import Kind, Orphan, RequestState, Server, Volume
from provisioning.reconcile import reconcile_region
from tests.integration.test_provisioning import (
    WHY,
    approve,
    make_network,
    submit_server,
    target,
    wait_state,
)
from tests.live import rolled_up, wait_for

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def done(world, kind, *, target_obj=None, **spec):
    """File a request, approve it, and wait for it to complete."""
    if kind == Kind.VOLUME:
        request = services.request_submit(
            user=world.requester, kind=kind, allocation=world.allocation, spec=spec,
            justification=WHY,
        )  # fmt: skip
    else:
        request = services.request_submit(
            user=world.requester, kind=kind, target=target_obj, spec=spec or None,
            justification=WHY,
        )  # fmt: skip
    approve(world, request)
    return wait_state(request, RequestState.COMPLETED, RequestState.FAILED)


def test_a_volume_is_made_attached_detached_extended_and_deleted(live_world):
    world = live_world
    network = make_network(world)
    built = submit_server(world, network, name="db")
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)

    made = done(world, Kind.VOLUME, name="data", size_gb=2)
    assert made.state == RequestState.COMPLETED, made.failure_reason
    volume = Volume.objects.get(origin_request=made)
    in_cloud = cloud.volume_get(target(world), volume.backend_id)
    assert (in_cloud.name, in_cloud.size_gb, in_cloud.status) == ("data", 2, "available")
    assert in_cloud.request_tag == f"portal-request-{made.pk}.1"
    rolled_up(world, gigabytes=2)

    attached = done(world, Kind.VOLUME_ATTACH, target_obj=volume, server=server.pk)
    assert attached.state == RequestState.COMPLETED, attached.failure_reason
    volume.refresh_from_db()
    in_cloud = cloud.volume_get(target(world), volume.backend_id)
    assert in_cloud.status == "in-use"
    assert in_cloud.attachments == ((server.backend_id, volume.device),)
    assert (volume.server, volume.status) == (server, "in-use")
    assert volume.device.startswith("/dev/")

    detached = done(world, Kind.VOLUME_DETACH, target_obj=volume)
    assert detached.state == RequestState.COMPLETED, detached.failure_reason
    volume.refresh_from_db()
    assert (volume.server, volume.device, volume.status) == (None, "", "available")
    assert cloud.volume_get(target(world), volume.backend_id).attachments == ()

    extended = done(world, Kind.VOLUME_EXTEND, target_obj=volume, size_gb=5)
    assert extended.state == RequestState.COMPLETED, extended.failure_reason
    volume.refresh_from_db()
    assert volume.size_gb == 5 == cloud.volume_get(target(world), volume.backend_id).size_gb
    rolled_up(world, gigabytes=5)

    # Attached again, then decommissioned with "detach first": gone from the cloud.
    done(world, Kind.VOLUME_ATTACH, target_obj=volume, server=server.pk)
    volume.refresh_from_db()
    gone = done(world, Kind.VOLUME_DECOMMISSION, target_obj=volume, detach=True)
    assert gone.state == RequestState.COMPLETED, gone.failure_reason
    volume.refresh_from_db()
    assert volume.is_deleted
    assert cloud.volumes_list(target(world)) == []
    rolled_up(world, volumes=0)
    actions = list(
        AuditEvent.objects.filter(object_type="provisioning.volume", object_id=str(volume.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[0] == "volume.create" and actions[-1] == "volume.delete"
    assert "volume.update" in actions


def test_a_cloud_refusal_is_a_readable_failure_and_nothing_is_left(live_world):
    world = live_world
    small = Volume.objects.get(origin_request=done(world, Kind.VOLUME, name="small", size_gb=1))
    # The project's Cinder quota is smaller than the portal's: the cloud refuses the create.
    admin = cloud.CloudTarget(cloud=world.region.cloud_name)
    cloud.quota_set(admin, target(world).project_id, gigabytes=3)
    failed = done(world, Kind.VOLUME, name="too-big", size_gb=10)
    assert failed.state == RequestState.FAILED
    assert "quota" in failed.failure_reason.lower(), failed.failure_reason
    assert [v.id for v in cloud.volumes_list(target(world))] == [small.backend_id]
    assert list(Volume.objects.live().filter(allocation=world.allocation)) == [small]


def test_a_server_decommissioned_with_a_volume_leaves_it_detached_and_kept(live_world):
    world = live_world
    network = make_network(world)
    built = submit_server(world, network, name="app")
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)
    volume = Volume.objects.get(origin_request=done(world, Kind.VOLUME, name="keep", size_gb=1))
    done(world, Kind.VOLUME_ATTACH, target_obj=volume, server=server.pk)
    assert Volume.objects.get(pk=volume.pk).server == server

    done(world, Kind.SERVER_DECOMMISSION, target_obj=server)
    volume.refresh_from_db()
    assert volume.server is None and not volume.is_deleted
    wait_for(
        lambda: cloud.volume_get(target(world), volume.backend_id).status == "available",
        timeout=15,
        what="Nova to detach the volume of a deleted server",
    )
    reconcile_region(world.region.pk)
    volume.refresh_from_db()
    assert (volume.status, volume.server) == ("available", None)


def test_the_reconciler_follows_volumes_changed_outside_the_portal(live_world):
    world = live_world
    volume = Volume.objects.get(origin_request=done(world, Kind.VOLUME, name="lost", size_gb=1))
    stray = cloud.volume_find_or_create(
        target(world), tag=cloud.request_tag("999999.1"), name="stray", size_gb=1
    )
    cloud.volume_delete(target(world), volume.backend_id)
    wait_for(
        lambda: volume.backend_id not in {v.id for v in cloud.volumes_list(target(world))},
        timeout=15,
        what="the volume to be deleted",
    )
    counts = reconcile_region(world.region.pk)
    volume.refresh_from_db()
    assert volume.is_deleted and counts["vanished"] == 1
    orphan = Orphan.objects.get(backend_id=stray.id)
    assert (orphan.kind, orphan.name) == ("volume", "stray")
    rolled_up(world, volumes=0)


def test_a_server_boots_from_a_volume_counted_and_gone_with_it(live_world):
    world = live_world
    network = make_network(world)
    built = submit_server(world, network, name="bfv", boot_volume_gb=3)
    assert (built.volumes, built.gigabytes) == (1, 3)
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)
    assert server.boot_volume_gb == 3
    (root,) = cloud.volumes_list(target(world))
    assert (root.size_gb, root.status, root.attachments) == (
        3, "in-use", ((server.backend_id, "/dev/vda"),),
    )  # fmt: skip
    rolled_up(world, volumes=1, gigabytes=3)
    # Nova's volume, not the portal's: the reconciler neither adopts nor reports it.
    reconcile_region(world.region.pk)
    assert not Volume.objects.filter(allocation=world.allocation).exists()
    assert not Orphan.objects.filter(kind="volume").exists()

    done(world, Kind.SERVER_DECOMMISSION, target_obj=server)
    wait_for(lambda: not cloud.volumes_list(target(world)), timeout=15, what="the root volume")
    rolled_up(world, volumes=0, gigabytes=0)


def test_a_boot_volume_the_cloud_cannot_make_fails_the_request_readably(live_world):
    world = live_world
    network = make_network(world)
    world.sim.control.fail_image_volumes(times=1)
    built = submit_server(world, network, name="bfv", boot_volume_gb=2)
    approve(world, built)
    wait_state(built, RequestState.FAILED)
    assert "did not finish being created" in built.failure_reason
    assert "partly built servers were deleted: bfv" in built.failure_reason
    wait_for(lambda: not cloud.servers_list(target(world)), timeout=15, what="the server")
    assert cloud.volumes_list(target(world)) == []
