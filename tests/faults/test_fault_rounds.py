"""Randomised faults against the whole write path, with the portal's default settings.

Requests are submitted and approved one after another while cloudsim loses create responses,
answers bursts of 5xx and is slow, and the Celery worker is killed with SIGKILL at random
moments (and started again at once, as its supervisor would). A real beat runs the lease
sweeper and the outbox relay on their default schedules. At the end every request must be
completed, with exactly one server in the cloud, and approval → completed must stay within
the cloud's build time + 90 s at the 95th percentile.

Run with ``make test-faults`` (``FAULT_SEED`` replays a run; ``FAULT_REQUESTS`` sizes it).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter

import pytest

from portal.celery import app as celery_app
from provisioning import cloud
from provisioning.models import IN_FLIGHT, Kind, RequestState, ResourceRequest
from provisioning.services import request_approve, request_submit
from provisioning.services.allocations import allocation_sync_cloud
from tests.live import Beat, RedisServer, Worker, build_world, point_celery_at, worker_environment

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
WHY = "Fault rounds of the write path."
BUILD_TIME = 5.0
BOUND = BUILD_TIME + 90


def _percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(round(p / 100 * (len(values) - 1)), len(values) - 1)]


@pytest.fixture
def fault_rig(cloudsim_clean, tmp_path, settings):
    """A Redis, a worker and a beat of this test's own, all on the default settings."""
    redis = RedisServer(tmp_path)
    redis.start()
    env = worker_environment(
        redis.url, str(cloudsim_clean.clouds_yaml),
        # The defaults, not the short timings of the other live tests.
        PORTAL_POLL_FIRST="2", PORTAL_POLL_MAX="30", PORTAL_LEASE_SECONDS="15",
        PORTAL_LEASE_QUEUE_GRACE="20", PORTAL_LEASE_SWEEP_EVERY="5",
        PORTAL_PROVISIONING_DEADLINE="1800", CLOUD_API_TIMEOUT="30",
        PORTAL_RECONCILE_EVERY="60", PORTAL_AUDIT_SEAL_MIN_INTERVAL="1",
        PORTAL_AUDIT_CHECKPOINT_SINK=f"file:{tmp_path / 'checkpoints.log'}",
    )  # fmt: skip
    worker = Worker(env, tmp_path / "worker.log")
    worker.restart_fresh()
    beat = Beat(env, tmp_path)
    beat.start()
    before = celery_app.conf.broker_url
    point_celery_at(redis.url)
    settings.CLOUDS_YAML = str(cloudsim_clean.clouds_yaml)
    try:
        yield cloudsim_clean, worker
    finally:
        point_celery_at(before)
        beat.stop()
        worker.stop()
        redis.stop()


def test_random_kills_lost_responses_and_5xx_leave_exactly_one_vm_per_request(fault_rig):
    sim, worker = fault_rig
    seed = int(os.environ.get("FAULT_SEED") or time.time())
    count = int(os.environ.get("FAULT_REQUESTS", "40"))
    rng = random.Random(seed)
    print(f"\nfault rounds: seed {seed}, {count} requests")

    world = build_world(cloud_name=sim.admin_cloud, project_prefix="faults")
    allocation = world["allocation"]
    type(allocation).objects.filter(pk=allocation.pk).update(
        instances=count + 5, vcpus=4 * count, ram_mb=4096 * count, networks=5
    )
    allocation.refresh_from_db()
    allocation_sync_cloud(allocation=allocation)
    sim.control.set_build_time(BUILD_TIME)
    sim.control.set_latency(0.2)

    network_request = request_submit(
        user=world["requester"], kind=Kind.NETWORK, allocation=allocation,
        spec={"name": "net", "cidr": "10.60.0.0/24"}, justification=WHY,
    )  # fmt: skip
    request_approve(user=world["approver"], request=network_request)
    _wait_terminal([network_request.pk], worker, timeout=120)
    network = network_request.built_networks.get()

    faults, kills, ids = Counter(), 0, []
    next_kill = time.monotonic() + rng.uniform(3, 12)
    for i in range(count):
        roll = rng.random()
        if roll < 0.2:
            sim.control.lose_response("compute.server.create", times=1)
            faults["lost create response"] += 1
        elif roll < 0.35:
            sim.control.fail("compute.server.create", status=503, times=rng.randint(1, 3))
            faults["5xx burst on create"] += 1
        elif roll < 0.45:
            sim.control.fail("compute.server.get", status=502, times=rng.randint(1, 3))
            faults["5xx burst on read"] += 1
        request = request_submit(
            user=world["requester"], kind=Kind.SERVER, allocation=allocation,
            spec={"name": f"vm-{i}", "flavor": "m1.tiny", "image": "debian-12",
                  "networks": [network.pk]},
            justification=WHY,
        )  # fmt: skip
        request_approve(user=world["approver"], request=request)
        ids.append(request.pk)
        time.sleep(rng.uniform(0.2, 1.5))
        if time.monotonic() >= next_kill:
            worker.kill()  # SIGKILL, mid-whatever it was doing
            worker.restart_fresh()
            kills += 1
            next_kill = time.monotonic() + rng.uniform(4, 10)
    if kills == 0:
        worker.kill()
        worker.restart_fresh()
        kills = 1
    print(f"  faults injected: {dict(faults)}; worker killed {kills} times")

    _wait_terminal(ids, worker, timeout=BOUND + 120)

    states = Counter(ResourceRequest.objects.filter(pk__in=ids).values_list("state", flat=True))
    assert states == {RequestState.COMPLETED: count}, (
        seed,
        list(ResourceRequest.objects.filter(pk__in=ids).values_list("state", "failure_reason")),
    )
    target = cloud.CloudTarget(cloud=sim.admin_cloud, project_id=allocation.project_id)
    by_request = Counter(
        s.request_tag.split(".")[0] for s in cloud.servers_list(target) if s.request_tag
    )
    assert all(by_request[f"portal-request-{pk}"] == 1 for pk in ids), (seed, by_request)
    for request in ResourceRequest.objects.filter(pk__in=ids):
        assert request.built_servers.live().count() == 1, (seed, request.pk)

    durations = [_approval_to_completed(pk) for pk in ids]
    p50, p95 = _percentile(durations, 50), _percentile(durations, 95)
    print(f"  approval → completed: p50 {p50:.1f} s, p95 {p95:.1f} s, max {max(durations):.1f} s "
          f"(bound {BOUND:.0f} s)")  # fmt: skip
    assert p95 <= BOUND, (seed, [round(d) for d in sorted(durations)])


def _approval_to_completed(request_id: int) -> float:
    times = dict(
        ResourceRequest.objects.get(pk=request_id)
        .transitions.filter(to_state__in=[RequestState.APPROVED, RequestState.COMPLETED])
        .values_list("to_state", "at")
    )
    return (times[RequestState.COMPLETED] - times[RequestState.APPROVED]).total_seconds()


def _wait_terminal(ids: list[int], worker: Worker, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while ResourceRequest.objects.filter(pk__in=ids, state__in=IN_FLIGHT).exists():
        assert time.monotonic() < deadline, list(
            ResourceRequest.objects.filter(pk__in=ids, state__in=IN_FLIGHT).values_list(
                "pk", "state", "status_note"
            )
        )
        if not worker.alive:
            worker.restart_fresh()
        time.sleep(1)
