"""Provisioning end to end: real worker, real Redis, cloudsim over HTTP, PostgreSQL.

Each test checks the cloud's side through the cloud layer, not only the portal's rows.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time

import pytest
from django.core.exceptions import ValidationError

from portal import tasks as portal_tasks
from portal.audit import verify_chain
from portal.models import AuditEvent
from portal.ssh_keys import parse_public_key, ssh_key_add, ssh_key_remove
from provisioning import cloud, services, tasks
from provisioning.cloud import CloudTarget
from provisioning.models import (
    IN_FLIGHT,
    FloatingIp,
    Kind,
    Network,
    RequestState,
    ResourceRequest,
    Server,
)
from tenants.models import AllocationUsage
from tests.integration.conftest import wait_for
from tests.keys import ed25519_key
from tests.live import rolled_up

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]
WHY = "Integration test of the provisioning path."


def approve(world, request) -> None:
    services.request_approve(user=world.approver, request=request)


def wait_state(request, *states, timeout=60) -> ResourceRequest:
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


def make_network(world, name="app", cidr="10.30.0.0/24") -> Network:
    request = services.request_submit(
        user=world.requester, kind=Kind.NETWORK, allocation=world.allocation,
        spec={"name": name, "cidr": cidr, "router": True}, justification=WHY,
    )  # fmt: skip
    approve(world, request)
    wait_state(request, RequestState.COMPLETED)
    return Network.objects.get(origin_request=request)


def submit_server(world, network, name="web", **spec) -> ResourceRequest:
    return services.request_submit(
        user=world.requester, kind=Kind.SERVER, allocation=world.allocation,
        spec={"name": name, "flavor": "m1.tiny", "image": "debian-12",
              "networks": [network.pk], **spec},
        justification=WHY,
    )  # fmt: skip


def target(world) -> CloudTarget:
    world.allocation.refresh_from_db()
    return CloudTarget(cloud=world.region.cloud_name, project_id=world.allocation.project_id)


def servers_of(world, request) -> list:
    return [
        s for s in cloud.servers_list(target(world))
        if s.request_tag and s.request_tag.startswith(f"portal-request-{request.pk}.")
    ]  # fmt: skip


def test_network_then_server_happy_path(live_world):
    world = live_world
    network = make_network(world)

    sdk_nets = cloud.networks_list(target(world))
    assert [n.id for n in sdk_nets if n.id == network.backend_id]
    assert network.cidr == "10.30.0.0/24" and network.router_id

    request = submit_server(world, network, count=2)
    approve(world, request)
    wait_state(request, RequestState.COMPLETED)

    in_cloud = servers_of(world, request)
    assert sorted(s.name for s in in_cloud) == ["web-1", "web-2"]
    assert all(s.status == "ACTIVE" for s in in_cloud)
    subnet = ipaddress.ip_network(network.cidr)
    for server in Server.objects.filter(origin_request=request):
        assert server.status == "ACTIVE"
        assert server.backend_id in {s.id for s in in_cloud}
        assert ipaddress.ip_address(server.addresses[0]["address"]) in subnet
    assert [t.to_state for t in request.transitions.all()] == [
        "pending_approval",
        "approved",
        "provisioning",
        "completed",
    ]
    assert verify_chain().ok


def test_servers_get_the_requesters_key_through_one_key_pair_per_allocation(live_world):
    world = live_world
    network = make_network(world)
    key = ssh_key_add(user=world.requester, public_key=ed25519_key("req@laptop"), name="laptop")
    first = submit_server(world, network, name="keyed", ssh_key=key.pk)
    approve(world, first)
    # The profile's copy may go: the request carries what it needs.
    ssh_key_remove(user=world.requester, key=key)
    wait_state(first, RequestState.COMPLETED)
    keypair = first.spec["ssh_key"]["keypair"]
    (server,) = servers_of(world, first)
    assert server.key_name == keypair
    held = cloud.keypair_get(target(world), keypair)
    assert held.fingerprint == parse_public_key(key.public_key).md5_fingerprint
    creates = world.sim.control.count("compute.keypair.create")
    assert creates == 1

    # A second request with the same key uses the key pair already there.
    again = ssh_key_add(user=world.requester, public_key=key.public_key, name="laptop")
    second = submit_server(world, network, name="keyed-too", ssh_key=again.pk)
    approve(world, second)
    wait_state(second, RequestState.COMPLETED)
    assert second.spec["ssh_key"]["keypair"] == keypair
    assert [s.key_name for s in servers_of(world, second)] == [keypair]
    assert world.sim.control.count("compute.keypair.create") == creates


def test_an_external_address_is_given_released_and_goes_with_its_server(live_world):
    world = live_world
    network = make_network(world)  # with a router to the external network
    built = submit_server(world, network, name="reachable")
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)

    add = services.request_submit(
        user=world.requester, kind=Kind.SERVER_ADDRESS_ADD, target=server, justification=WHY
    )
    approve(world, add)
    wait_state(add, RequestState.COMPLETED)
    (address,) = server.floating_ips.live()
    held = cloud.floating_ip_get(target(world), address.backend_id)
    (port,) = cloud.server_ports(target(world), server.backend_id)
    assert (held.address, held.port_id) == (address.address, port.id)
    server.refresh_from_db()
    assert {"address": address.address, "type": "floating"}.items() <= next(
        a for a in server.addresses if a["type"] == "floating"
    ).items()

    release = services.request_submit(
        user=world.requester, kind=Kind.SERVER_ADDRESS_RELEASE, target=server, justification=WHY
    )
    approve(world, release)
    wait_state(release, RequestState.COMPLETED)
    assert not server.floating_ips.live().exists()
    assert cloud.floating_ips_list(target(world)) == []

    # Given again, then the server is decommissioned: the address is released with it.
    again = services.request_submit(
        user=world.requester, kind=Kind.SERVER_ADDRESS_ADD, target=server, justification=WHY
    )
    approve(world, again)
    wait_state(again, RequestState.COMPLETED)
    gone = services.request_submit(
        user=world.requester, kind=Kind.SERVER_DECOMMISSION, target=server, justification=WHY
    )
    approve(world, gone)
    wait_state(gone, RequestState.COMPLETED)
    assert cloud.floating_ips_list(target(world)) == []
    assert not FloatingIp.objects.live().filter(allocation=world.allocation).exists()
    actions = set(
        AuditEvent.objects.filter(object_type="provisioning.floatingip").values_list(
            "action", flat=True
        )
    )
    assert actions == {"floatingip.create", "floatingip.delete"}


def test_a_lost_answer_to_an_address_allocation_allocates_one_address(live_world):
    world = live_world
    network = make_network(world)
    built = submit_server(world, network, name="reachable")
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)
    world.sim.control.lose_response("network.floatingip.create", times=1)

    add = services.request_submit(
        user=world.requester, kind=Kind.SERVER_ADDRESS_ADD, target=server, justification=WHY
    )
    approve(world, add)
    wait_state(add, RequestState.COMPLETED)
    assert len(cloud.floating_ips_list(target(world))) == 1
    assert server.floating_ips.live().count() == 1


def test_lost_response_on_create_makes_exactly_one_vm(live_world):
    world = live_world
    network = make_network(world)
    world.sim.control.lose_response("compute.server.create", times=1)

    request = submit_server(world, network)
    approve(world, request)
    wait_state(request, RequestState.COMPLETED)

    assert len(servers_of(world, request)) == 1
    assert Server.objects.filter(origin_request=request).count() == 1


def test_5xx_burst_is_retried_until_it_completes(live_world):
    world = live_world
    network = make_network(world)
    world.sim.control.fail("compute.server.create", status=503, times=3)

    request = submit_server(world, network)
    approve(world, request)
    wait_state(request, RequestState.COMPLETED)

    assert world.sim.control.count("compute.server.create") == 4
    assert len(servers_of(world, request)) == 1


def test_build_error_fails_with_the_fault_and_leaves_nothing_behind(live_world):
    world = live_world
    network = make_network(world)
    world.sim.control.fail_builds("No valid host was found. There are not enough hosts.")

    request = submit_server(world, network)
    approve(world, request)
    wait_state(request, RequestState.FAILED)

    assert "No valid host was found" in request.failure_reason
    assert "deleted" in request.failure_reason
    wait_for(lambda: not servers_of(world, request), timeout=10, what="the broken VM to go")
    assert not Server.objects.live().filter(origin_request=request).exists()

    services.request_retry(user=world.requester, request=request)
    wait_state(request, RequestState.COMPLETED)
    assert len(servers_of(world, request)) == 1


def _sweep_until_terminal(ids, worker, *, timeout=90, every=1.0) -> None:
    """Run the lease sweeper every ``every`` seconds, as beat does, until all ``ids`` end."""
    deadline = time.monotonic() + timeout
    while ResourceRequest.objects.filter(pk__in=ids, state__in=IN_FLIGHT).exists():
        assert time.monotonic() < deadline, list(
            ResourceRequest.objects.filter(pk__in=ids).values_list("state", "status_note")
        )
        # Celery's worker either reconnects or exits ("Unrecoverable error") when the broker
        # drops mid-acknowledgement; in production its supervisor starts it again, as here.
        if not worker.alive:
            worker.restart_fresh()
        with contextlib.suppress(Exception):  # the broker may still be coming back
            portal_tasks.periodic_relay_outbox.delay()
            tasks.periodic_redrive_lapsed.delay()
        time.sleep(every)


def test_killed_worker_mid_step_is_re_driven_within_the_lease(live_world, worker, settings):
    """SIGKILL while the worker holds the lease inside a slow create that the cloud still
    carries out: the lease lapses (3 s here), the sweeper re-drives, and the new chain waits
    for the dead worker's call to have ended before it creates anything, so it finds the VM by
    its tag instead of building a second one."""
    world = live_world
    network = make_network(world)
    world.sim.control.set_build_time(2)
    world.sim.control.hang("compute.server.create", seconds=4, apply=True)

    request = submit_server(world, network)
    approve(world, request)
    wait_for(
        lambda: ResourceRequest.objects.filter(pk=request.pk).exclude(lease_owner="").exists(),
        timeout=20, what="a worker to claim the request",
    )  # fmt: skip
    time.sleep(0.5)  # inside the create call now
    worker.kill()
    killed_at = time.monotonic()

    worker.restart_fresh()
    _sweep_until_terminal([request.pk], worker)
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED, request.failure_reason
    # The lease lapses, the sweeper runs, nothing new is created until the dead worker's call
    # has surely ended (the worker's 5 s API timeout + 5 s), then the build; and some slack.
    bound = settings.PORTAL_LEASE_SECONDS + 1 + 5 + 5 + 2 + 12
    assert time.monotonic() - killed_at < bound
    redrive = AuditEvent.objects.get(action="request.redrive", object_id=str(request.pk))
    assert "stopped renewing its lease" in redrive.after["reason"]
    assert len(servers_of(world, request)) == 1
    assert Server.objects.filter(origin_request=request).count() == 1


def test_redis_restart_with_requests_in_flight(live_world, redis_server, worker):
    world = live_world
    network = make_network(world)
    world.sim.control.set_build_time(3)
    requests = [submit_server(world, network, name=f"vm{i}") for i in range(3)]
    for request in requests:
        approve(world, request)
    wait_for(
        lambda: all(servers_of(world, r) for r in requests), timeout=20, what="the VMs to exist"
    )

    redis_server.restart()  # the broker forgets every message, scheduled polls included
    # Their leases lapse: the sweeper (beat, every few seconds) sends each a new message.
    _sweep_until_terminal([r.pk for r in requests], worker)
    for request in requests:
        request.refresh_from_db()
        assert request.state == RequestState.COMPLETED, request.failure_reason
        assert len(servers_of(world, request)) == 1


def test_day2_stop_start_and_decommission(live_world):
    world = live_world
    network = make_network(world)
    request = submit_server(world, network)
    approve(world, request)
    wait_state(request, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=request)

    stop = services.request_submit(user=world.requester, kind=Kind.SERVER_STOP,
                                   target=server, justification=WHY)  # fmt: skip
    assert stop.state == RequestState.APPROVED  # power actions are approved by policy
    wait_state(stop, RequestState.COMPLETED)
    assert cloud.server_get(target(world), server.backend_id).status == "SHUTOFF"

    start = services.request_submit(user=world.requester, kind=Kind.SERVER_START,
                                    target=server, justification=WHY)  # fmt: skip
    wait_state(start, RequestState.COMPLETED)
    assert cloud.server_get(target(world), server.backend_id).status == "ACTIVE"

    gone = services.request_submit(user=world.requester, kind=Kind.SERVER_DECOMMISSION,
                                   target=server, justification=WHY)  # fmt: skip
    assert gone.state == RequestState.PENDING_APPROVAL
    approve(world, gone)
    wait_state(gone, RequestState.COMPLETED)
    server.refresh_from_db()
    assert server.is_deleted
    with pytest.raises(cloud.CloudNotFound):
        cloud.server_get(target(world), server.backend_id)


def test_reconciler_notices_deleted_servers_and_records_orphans(live_world):
    from provisioning.models import Orphan
    from provisioning.reconcile import reconcile_region

    world = live_world
    network = make_network(world)
    request = submit_server(world, network)
    approve(world, request)
    wait_state(request, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=request)
    cloud.server_delete(target(world), server.backend_id)
    stray = cloud.server_find_or_create(
        target(world), tag=cloud.request_tag("999999.1.1"), name="stray",
        flavor_id=request.spec["flavor_id"], image_id=request.spec["image_id"],
        network_ids=[network.backend_id],
    )  # fmt: skip

    wait_for(lambda: not servers_of(world, request), timeout=10, what="deletion")
    counts = reconcile_region(world.region.pk)

    server.refresh_from_db()
    assert server.is_deleted
    assert counts["vanished"] == 1
    orphan = Orphan.objects.get(backend_id=stray.id)
    assert orphan.kind == "server" and orphan.tag == "portal-request-999999.1.1"


def test_reconciler_follows_addresses_changed_outside_the_portal_and_records_orphans(live_world):
    from provisioning.models import Orphan
    from provisioning.reconcile import reconcile_region

    world = live_world
    network = make_network(world)
    built = submit_server(world, network, name="reachable")
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)
    add = services.request_submit(
        user=world.requester, kind=Kind.SERVER_ADDRESS_ADD, target=server, justification=WHY
    )
    approve(world, add)
    wait_state(add, RequestState.COMPLETED)
    (address,) = server.floating_ips.live()
    rolled_up(world, floating_ips=1)
    external = cloud.external_network_find(target(world))
    stray = cloud.floating_ip_find_or_create(
        target(world), tag=cloud.request_tag("999999.1"), network_id=external.id
    )

    # Released by someone with the cloud's own tools: the portal follows.
    cloud.floating_ip_delete(target(world), address.backend_id)
    counts = reconcile_region(world.region.pk)
    address.refresh_from_db()
    assert address.is_deleted and counts["vanished"] == 1
    orphan = Orphan.objects.get(backend_id=stray.id)
    assert (orphan.kind, orphan.name) == ("floatingip", stray.address)
    # The kept usage the dashboard reads gave the address back.
    assert AllocationUsage.objects.get(allocation=world.allocation).floating_ips == 0


def test_a_security_group_its_reviewed_rule_and_a_server_in_it_then_drift(live_world):
    from provisioning.models import SecurityGroup, SecurityGroupRule
    from provisioning.reconcile import reconcile_region

    world = live_world
    network = make_network(world)
    made = services.request_submit(
        user=world.requester, kind=Kind.SECURITY_GROUP, allocation=world.allocation,
        spec={"name": "web", "description": "Web tier"}, justification=WHY,
    )  # fmt: skip
    approve(world, made)
    wait_state(made, RequestState.COMPLETED)
    group = SecurityGroup.objects.get(origin_request=made)
    in_cloud = cloud.security_group_get(target(world), group.backend_id)
    assert in_cloud.name == "web"
    # The cloud's own defaults are recorded as the group's: they are not drift.
    assert {(r.direction, r.ethertype) for r in group.rules.all()} == {
        (r.direction, r.ethertype) for r in in_cloud.rules
    }

    rule = services.request_submit(
        user=world.requester, kind=Kind.SECURITY_GROUP_RULE, target=group, justification=WHY,
        spec={"protocol": "tcp", "port_min": 22, "remote_cidr": "10.0.0.0/8",
              "description": "admins"},
    )  # fmt: skip
    approve(world, rule)
    wait_state(rule, RequestState.COMPLETED)
    recorded = SecurityGroupRule.objects.get(origin_request=rule)
    opened = next(
        r for r in cloud.security_group_get(target(world), group.backend_id).rules
        if r.id == recorded.backend_id
    )  # fmt: skip
    assert (opened.protocol, opened.port_min, opened.port_max) == ("tcp", 22, 22)
    assert opened.remote_ip_prefix == "10.0.0.0/8"
    assert opened.description == f"portal-request-{rule.pk} admins"
    assert str(recorded) == "Opens TCP port 22 (SSH) inbound from 10.0.0.0/8"

    built = submit_server(world, network, name="in-web", security_groups=[group.pk])
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)
    assert list(server.security_groups.all()) == [group]
    conn = cloud.connect(target(world))
    (port,) = conn.network.ports(device_id=server.backend_id)
    assert port.security_group_ids == [group.backend_id]

    counts = reconcile_region(world.region.pk)
    group.refresh_from_db()
    assert group.drift == [] and group.drift_checked_at is not None

    # Someone opens MySQL to the world with the cloud's own tools, and removes the SSH rule.
    stray = conn.network.create_security_group_rule(
        security_group_id=group.backend_id, direction="ingress", ethertype="IPv4",
        protocol="tcp", port_range_min=3306, port_range_max=3306,
        remote_ip_prefix="0.0.0.0/0",
    )  # fmt: skip
    conn.network.delete_security_group_rule(recorded.backend_id)
    counts = reconcile_region(world.region.pk)
    group.refresh_from_db()
    assert counts["drifted"] == 1
    assert group.drift == [
        {"kind": "found", "id": stray.id,
         "opens": "Opens TCP port 3306 (MySQL) inbound from anywhere"},
        {"kind": "missing", "rule": recorded.pk,
         "opens": "Opens TCP port 22 (SSH) inbound from 10.0.0.0/8"},
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="securitygroup.drift", object_id=str(group.pk)).exists()

    # The stray opening is requested properly, then closed through the portal.
    conn.network.delete_security_group_rule(stray.id)
    https = services.request_submit(
        user=world.requester, kind=Kind.SECURITY_GROUP_RULE, target=group, justification=WHY,
        spec={"protocol": "tcp", "port_min": 443, "remote_cidr": "0.0.0.0/0"},
    )  # fmt: skip
    approve(world, https)
    wait_state(https, RequestState.COMPLETED)
    opened = SecurityGroupRule.objects.get(origin_request=https)
    close = services.request_submit(
        user=world.requester, kind=Kind.SECURITY_GROUP_RULE_REMOVE, target=group,
        spec={"rule": opened.pk}, justification=WHY,
    )  # fmt: skip
    assert close.spec["sentence"] == "Closes TCP port 443 (HTTPS) inbound from anywhere"
    approve(world, close)
    wait_state(close, RequestState.COMPLETED)
    opened.refresh_from_db()
    assert opened.deleted_at is not None
    ids = {r.id for r in cloud.security_group_get(target(world), group.backend_id).rules}
    assert opened.backend_id not in ids
    with pytest.raises(ValidationError, match="has no rule"):
        services.request_submit(
            user=world.requester, kind=Kind.SECURITY_GROUP_RULE_REMOVE, target=group,
            spec={"rule": opened.pk}, justification=WHY,
        )  # fmt: skip

    # Deleting the group: refused while a server is in it, done once the server has gone.
    with pytest.raises(ValidationError, match="Servers are still in web: in-web"):
        services.request_submit(
            user=world.requester, kind=Kind.SECURITY_GROUP_DECOMMISSION, target=group,
            justification=WHY,
        )  # fmt: skip
    gone = services.request_submit(
        user=world.requester, kind=Kind.SERVER_DECOMMISSION, target=server, justification=WHY
    )
    approve(world, gone)
    wait_state(gone, RequestState.COMPLETED)
    delete = services.request_submit(
        user=world.requester, kind=Kind.SECURITY_GROUP_DECOMMISSION, target=group,
        justification=WHY,
    )  # fmt: skip
    approve(world, delete)
    wait_state(delete, RequestState.COMPLETED)
    group.refresh_from_db()
    assert group.is_deleted
    assert group.backend_id not in {g.id for g in cloud.security_groups_list(target(world))}


def test_a_resize_is_confirmed_and_counted_and_one_the_cloud_cannot_place_fails(live_world):
    world = live_world
    network = make_network(world)
    built = submit_server(world, network, name="grow")
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)
    assert server.flavor_name == "m1.tiny"

    def resize(flavor):
        request = services.request_submit(
            user=world.requester, kind=Kind.SERVER_RESIZE, target=server,
            spec={"flavor": flavor}, justification=WHY,
        )  # fmt: skip
        approve(world, request)
        return request

    grown = resize("m1.small")
    wait_state(grown, RequestState.COMPLETED)
    in_cloud = cloud.server_get(target(world), server.backend_id)
    assert (in_cloud.status, in_cloud.flavor_name) == ("ACTIVE", "m1.small")
    server.refresh_from_db()
    assert (server.flavor_name, server.vcpus, server.ram_mb) == (
        "m1.small", in_cloud.vcpus, in_cloud.ram_mb,
    )  # fmt: skip
    rolled_up(world, vcpus=in_cloud.vcpus, ram_mb=in_cloud.ram_mb)

    world.sim.control.fail_resizes(message="No valid host was found. No room for it", times=1)
    refused = resize("m1.medium")
    wait_state(refused, RequestState.FAILED)
    assert refused.failure_reason == (
        "The cloud did not resize grow: No valid host was found. No room for it. "
        "It still runs as m1.small."
    )
    server.refresh_from_db()
    assert (server.flavor_name, server.status) == ("m1.small", "ACTIVE")
