"""The write path under concurrency and faults, on PostgreSQL: no deadlock, no 5xx, nothing lost.

The first test needs no Celery worker: worker threads in this process take the work messages
from the outbox and run the real steps against cloudsim over HTTP while other threads submit and
approve through the API, and the reconciler and the audit sealer run beside them. The others
use the real worker, a private Redis that they stop, and SIGKILL.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from portal.audit import audit_seal, verify_chain
from portal.models import OutboxMessage
from portal.outbox import relay_due
from provisioning import cloud, steps
from provisioning.models import IN_FLIGHT, Kind, Network, RequestState, ResourceRequest
from provisioning.reconcile import reconcile_region
from provisioning.services import request_approve, request_submit
from provisioning.services.allocations import allocation_sync_cloud
from provisioning.services.work import ADVANCE_TASK, work_redrive_lapsed
from tests.live import build_world, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
WHY = "Concurrency test of the write path."


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _network(world) -> Network:
    request = request_submit(
        user=world["requester"], kind=Kind.NETWORK, allocation=world["allocation"],
        spec={"name": "app", "cidr": "10.50.0.0/24"}, justification=WHY,
    )  # fmt: skip
    request_approve(user=world["approver"], request=request)
    for _ in range(10):
        for message in OutboxMessage.objects.filter(task=ADVANCE_TASK):
            if OutboxMessage.objects.filter(pk=message.pk).delete()[0]:
                steps.advance(*message.args[:2], polls=message.args[2])
    return Network.objects.get(origin_request=request)


class Crew:
    """Threads that run until told to stop, keeping what went wrong."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.threads: list[threading.Thread] = []

    def run(self, name: str, body) -> None:
        def loop():
            try:
                while not self.stop.is_set():
                    if body() is False:
                        return
            except Exception as err:
                self.errors.append(f"{name}: {type(err).__name__}: {err}")
            finally:
                connection.close()

        thread = threading.Thread(target=loop, name=name)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def test_submits_approvals_and_worker_commits_in_one_region_do_not_deadlock(
    cloudsim_clean, settings
):
    settings.CLOUDS_YAML = str(cloudsim_clean.clouds_yaml)
    settings.PORTAL_OUTBOX_RELAY_ON_COMMIT = False  # the worker threads take from the outbox
    world = build_world(cloud_name=cloudsim_clean.admin_cloud, project_prefix="dl")
    allocation = world["allocation"]
    type(allocation).objects.filter(pk=allocation.pk).update(
        instances=200, vcpus=800, ram_mb=2_000_000
    )
    allocation.refresh_from_db()
    allocation_sync_cloud(allocation=allocation)  # the project, and the quotas in the cloud
    network = _network(world)
    # Cloud calls that take a while: the worker's steps overlap the web's writes.
    cloudsim_clean.control.set_latency(0.15, "compute.server.create")
    settings.PORTAL_POLL_FIRST = 0.05
    rounds, submitters = 15, 3
    statuses: list[int] = []
    submitted: list[int] = []
    before = _deadlocks()
    crew = Crew()

    def submitter(index: int):
        client = APIClient()
        client.force_authenticate(world["requester"])
        count = iter(range(rounds))

        def body():
            i = next(count, None)
            if i is None:
                return False
            response = client.post(
                "/api/v1/requests/",
                {"kind": "server", "allocation": allocation.pk, "justification": WHY,
                 "spec": {"name": f"vm-{index}-{i}", "flavor": "m1.tiny", "image": "debian-12",
                          "networks": [network.pk]}},
                format="json",
            )  # fmt: skip
            statuses.append(response.status_code)
            if response.status_code == 201:
                submitted.append(response.json()["id"])
            return None

        return body

    approver = APIClient()
    approver.force_authenticate(world["approver"])

    def approve():
        pending = list(
            ResourceRequest.objects.filter(state=RequestState.PENDING_APPROVAL).values_list(
                "pk", flat=True
            )[:5]
        )
        for pk in pending:
            response = approver.post(f"/api/v1/requests/{pk}/approve/", {}, format="json")
            statuses.append(response.status_code)
        time.sleep(0.01)

    def work():
        now = timezone.now()
        for message in OutboxMessage.objects.filter(task=ADVANCE_TASK, not_before__lte=now)[:3]:
            if OutboxMessage.objects.filter(pk=message.pk).delete()[0]:
                steps.advance(*message.args[:2], polls=message.args[2])
        OutboxMessage.objects.exclude(task=ADVANCE_TASK).delete()
        time.sleep(0.01)

    def upkeep():
        reconcile_region(world["region"].pk)
        audit_seal()
        work_redrive_lapsed()
        time.sleep(0.2)

    for i in range(submitters):
        crew.run(f"submit-{i}", submitter(i))
    crew.run("approve", approve)
    for i in range(3):
        crew.run(f"work-{i}", work)
    crew.run("upkeep", upkeep)
    try:
        wait_for(
            lambda: (
                crew.errors
                or (
                    len(submitted) == rounds * submitters
                    and not ResourceRequest.objects.filter(
                        pk__in=submitted, state__in=IN_FLIGHT
                    ).exists()
                )
            ),
            timeout=240,
            what="every request to be built",
        )
    finally:
        crew.join()

    assert crew.errors == []
    assert [s for s in statuses if s >= 500] == []
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
    time.sleep(1.2)  # backends report their statistics when they go idle
    assert _deadlocks() == before
    states = set(ResourceRequest.objects.filter(pk__in=submitted).values_list("state", flat=True))
    assert states == {RequestState.COMPLETED}, set(
        ResourceRequest.objects.filter(pk__in=submitted).values_list("failure_reason", flat=True)
    )
    target = cloud.CloudTarget(cloud=world["region"].cloud_name, project_id=allocation.project_id)
    tags = [s.request_tag for s in cloud.servers_list(target) if s.name.startswith("vm-")]
    assert len(tags) == len(set(tags)) == len(submitted)
    audit_seal()
    assert verify_chain().ok


@pytest.mark.queue
def test_with_the_broker_down_submit_and_approve_answer_success_and_complete_later(
    live_world, redis_server, worker
):
    """Redis stopped: the API answers 201 for the submit and the page approves (302), because
    the work is in the outbox; when Redis is back the relay publishes it and the VM is built."""
    from django.test import Client

    from tests.integration.test_provisioning import make_network

    world = live_world
    network = make_network(world)
    redis_server.stop()
    try:
        api = APIClient()
        api.force_authenticate(world.requester)
        response = api.post(
            "/api/v1/requests/",
            {"kind": "server", "allocation": world.allocation.pk, "justification": WHY,
             "spec": {"name": "offline", "flavor": "m1.tiny", "image": "debian-12",
                      "networks": [network.pk]}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.content
        request = ResourceRequest.objects.get(pk=response.json()["id"])
        page = Client()
        page.force_login(world.approver)
        answer = page.post(f"/approvals/{request.pk}/decide/", {"decision": "approve"})
        assert answer.status_code == 302
        request.refresh_from_db()
        assert request.state == RequestState.APPROVED
        waiting = OutboxMessage.objects.filter(task=ADVANCE_TASK)
        assert [m.args[:2] for m in waiting] == [[request.pk, request.work_token]]
    finally:
        redis_server.start()

    from tests.integration.test_provisioning import _sweep_until_terminal, servers_of

    _sweep_until_terminal([request.pk], worker)
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED, request.failure_reason
    assert len(servers_of(world, request)) == 1
    # Whatever the relay had not published yet goes now; a message the lease sweeper already
    # replaced is stale and does nothing when it arrives.
    relay_due(older_than=0)
    assert not OutboxMessage.objects.exists()
    time.sleep(1)
    assert len(servers_of(world, request)) == 1
