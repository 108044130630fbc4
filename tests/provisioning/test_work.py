"""The worker's protocol without a worker: leases, fencing tokens, the outbox, the sweeper, and
the rule that no transaction is open across a cloud call. Steps run in this process against
cloudsim over HTTP; what they enqueue stays in the outbox for the test to read.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.models import AuditEvent, OutboxMessage
from portal.singleflight import single_flight
from portal.transactions import TransactionAcrossRemoteCall
from provisioning import cloud, notifications, steps
from provisioning.models import Kind, Network, RequestState, ResourceRequest
from provisioning.reconcile import reconcile_region
from provisioning.services import request_approve, request_submit
from provisioning.services.allocations import allocation_ensure_project
from provisioning.services.errors import RequestConflict
from provisioning.services.operations import request_redrive
from provisioning.services.work import (
    ADVANCE_TASK,
    work_claim,
    work_record,
    work_redrive_lapsed,
)
from tests.live import build_world

WHY = "Unit test of the provisioning protocol."


@pytest.fixture
def sim_world(db, cloudsim_clean, settings):
    settings.CLOUDS_YAML = str(cloudsim_clean.clouds_yaml)
    world = build_world(cloud_name=cloudsim_clean.admin_cloud, project_prefix="work")
    allocation_ensure_project(world["allocation"])
    world["sim"] = cloudsim_clean
    return world


def _advance_messages(request) -> list[list]:
    return [
        m.args
        for m in OutboxMessage.objects.filter(task=ADVANCE_TASK).order_by("id")
        if m.args[0] == request.pk
    ]


def _network_request(world, name="net", cidr="10.40.0.0/24") -> ResourceRequest:
    request = request_submit(
        user=world["requester"], kind=Kind.NETWORK, allocation=world["allocation"],
        spec={"name": name, "cidr": cidr}, justification=WHY,
    )  # fmt: skip
    request_approve(user=world["approver"], request=request)
    request.refresh_from_db()
    return request


def _drive(request, *, rounds=30) -> ResourceRequest:
    """Run the outbox's messages in this process, as a worker would, until none is left."""
    import provisioning.tasks  # noqa: F401  (registers the tasks the messages name)
    from portal.celery import app

    for _ in range(rounds):
        messages = list(OutboxMessage.objects.order_by("id"))
        if not messages:
            break
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).delete()
        for message in messages:
            app.tasks[message.task](*message.args, **message.kwargs)
    request.refresh_from_db()
    return request


def test_approval_writes_the_first_message_in_its_transaction(sim_world):
    request = _network_request(sim_world)
    assert request.state == RequestState.APPROVED
    assert _advance_messages(request) == [[request.pk, request.work_token, 0]]
    assert request.lease_expires_at > timezone.now()  # a queued lease: it must be claimed soon


def test_a_network_is_built_through_the_protocol(sim_world):
    request = _drive(_network_request(sim_world))

    assert request.state == RequestState.COMPLETED, (request.status_note, request.progress)
    assert request.lease_owner == "" and request.lease_expires_at is None
    network = Network.objects.get(origin_request=request)
    cloud_ids = {n.id for n in cloud.networks_list(_target(sim_world))}
    assert network.backend_id in cloud_ids
    assert [t.to_state for t in request.transitions.all()] == [
        "pending_approval", "approved", "provisioning", "completed",
    ]  # fmt: skip


def _target(world):
    world["allocation"].refresh_from_db()
    return cloud.CloudTarget(
        cloud=world["region"].cloud_name, project_id=world["allocation"].project_id
    )


def test_a_stale_message_does_nothing(sim_world):
    request = _network_request(sim_world)
    assert steps.advance(request.pk, request.work_token + 7) is None
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED and request.attempts == 0


def test_a_duplicated_message_runs_once(sim_world):
    request = _network_request(sim_world)
    token = request.work_token
    steps.advance(request.pk, token)
    steps.advance(request.pk, token)  # the same message again (redelivered)
    request.refresh_from_db()
    assert request.attempts == 1
    assert request.transitions.filter(to_state=RequestState.PROVISIONING).count() == 1


def test_a_step_fenced_out_by_a_redrive_is_discarded(sim_world, django_user_model):
    request = _network_request(sim_world)
    item = work_claim(request.pk, token=request.work_token, owner="worker-a")
    assert item is not None
    # While worker A is in the cloud, an operator takes the request over.
    operator = django_user_model.objects.create(username="op", is_superuser=True)
    request_redrive(user=operator, request=request)
    result = steps.run_step(item)
    assert result.finished

    assert work_record(item, result, polls=0) is None
    request.refresh_from_db()
    assert request.state == RequestState.PROVISIONING  # A's completion was not written
    assert request.work_token == item.token + 1
    assert _advance_messages(request)[-1] == [request.pk, request.work_token, 0]
    # The new chain finds the network A built by its tag: one network, not two.
    request = _drive(request)
    assert request.state == RequestState.COMPLETED
    tagged = [n for n in cloud.networks_list(_target(sim_world)) if n.name == "net"]
    assert len(tagged) == 1


def test_a_cloud_call_inside_a_transaction_is_refused(sim_world):
    with transaction.atomic(), pytest.raises(TransactionAcrossRemoteCall):
        cloud.networks_list(_target(sim_world))


def test_the_sweeper_fences_out_a_lapsed_claim(sim_world):
    request = _network_request(sim_world)
    item = work_claim(request.pk, token=request.work_token, owner="dead-worker:1")
    ResourceRequest.objects.filter(pk=request.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert work_redrive_lapsed() == [request.pk]

    request.refresh_from_db()
    assert request.work_token == item.token + 1 and request.lease_owner == ""
    assert "dead-worker:1 stopped renewing" in request.status_note
    assert _advance_messages(request)[-1] == [request.pk, request.work_token, 0]
    assert AuditEvent.objects.filter(action="request.redrive", object_id=str(request.pk)).exists()
    # The dead worker's late result is discarded; the new chain completes the request.
    assert work_record(item, steps.run_step(item), polls=0) is None
    assert _drive(request).state == RequestState.COMPLETED


def test_the_sweeper_resends_a_message_that_never_arrived(sim_world):
    request = _network_request(sim_world)
    OutboxMessage.objects.all().delete()  # lost with the broker
    ResourceRequest.objects.filter(pk=request.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert work_redrive_lapsed() == [request.pk]
    request.refresh_from_db()
    assert "not picked up in time" in request.status_note
    assert _drive(request).state == RequestState.COMPLETED


def test_the_sweeper_leaves_live_leases_and_finished_requests_alone(sim_world):
    done = _drive(_network_request(sim_world, name="done", cidr="10.41.0.0/24"))
    assert done.state == RequestState.COMPLETED
    live = _network_request(sim_world)
    assert work_redrive_lapsed() == []
    live.refresh_from_db()
    assert live.work_token == 0


def test_a_request_waits_for_its_project_which_is_created_by_a_task_of_its_own(sim_world):
    allocation = sim_world["allocation"]
    type(allocation).objects.filter(pk=allocation.pk).update(project_id="")
    request = _network_request(sim_world)

    assert steps.advance(request.pk, request.work_token) is None
    request.refresh_from_db()
    assert request.status_note == "Waiting for the tenant's project in the cloud"
    project_task = OutboxMessage.objects.get(task="provisioning.tasks.allocation_project")
    assert project_task.args == [allocation.pk]
    # The message after it carries the same token: the chain goes on once the project exists.
    assert _advance_messages(request)[-1] == [request.pk, request.work_token, 0]


def test_notifications_are_sent_once_per_event_and_recipient(sim_world):
    request = _network_request(sim_world)
    request.requester.email = "rita@example.org"
    request.requester.save()
    event = f"request:{request.pk}:decided:approved"
    assert notifications.send("requester_decided", request.pk, event=event) == 1
    assert notifications.send("requester_decided", request.pk, event=event) == 0  # redelivered
    assert len(mail.outbox) == 1


def test_an_enqueue_rolls_back_with_its_transaction(sim_world):
    from portal.outbox import enqueue

    before = OutboxMessage.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("provisioning.tasks.notify", "requester_decided", 1)
        raise RuntimeError("the change failed")
    assert OutboxMessage.objects.count() == before


def test_a_second_day2_request_on_the_same_server_is_a_conflict(shop, api_client):
    from tests.api.conftest import make_server

    server = make_server(shop.low, "busy")
    first = request_submit(user=shop.requester, kind=Kind.SERVER_STOP, target=server,
                           justification=WHY)  # fmt: skip
    assert first.is_in_flight
    with pytest.raises(RequestConflict, match="already has a request in progress"):
        request_submit(user=shop.requester, kind=Kind.SERVER_REBOOT, target=server,
                       justification=WHY)  # fmt: skip

    api_client.force_authenticate(shop.requester)
    response = api_client.post(
        f"/api/v1/servers/{server.pk}/reboot/", {"justification": WHY}, format="json"
    )
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "conflict"
    assert f"#{first.pk}" in body["fields"]["target"][0]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_day2_requests_one_wins(shop):
    """Both pass the check before either inserts: the partial unique index decides."""
    from tests.api.conftest import make_server

    server = make_server(shop.low, "raced")
    barrier, results = threading.Barrier(8), []

    def submit(kind):
        try:
            barrier.wait()
            request_submit(user=shop.requester, kind=kind, target=server, justification=WHY)
            results.append("ok")
        except RequestConflict:
            results.append("conflict")
        except Exception as err:  # anything else is a defect: a 500 for the client
            results.append(repr(err))
        finally:
            connection.close()

    kinds = [Kind.SERVER_STOP, Kind.SERVER_REBOOT] * 4
    threads = [threading.Thread(target=submit, args=(k,)) for k in kinds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["conflict"] * 7 + ["ok"], results
    assert ResourceRequest.objects.filter(target_server=server).count() == 1


def test_reconciler_runs_once_per_region_at_a_time(sim_world):
    region = sim_world["region"]
    taken, release = threading.Event(), threading.Event()

    def hold():
        with single_flight("reconcile", region.pk) as mine:
            assert mine
            taken.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        assert reconcile_region(region.pk)["skipped"] == 1
    finally:
        release.set()
        holder.join(10)
    assert reconcile_region(region.pk)["skipped"] == 0


def test_audit_record_takes_no_lock_a_worker_could_wait_on(sim_world):
    """Recording an event while another transaction holds an unsealed one does not wait."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        audit_record(actor=None, action="test.probe", obj=sim_world["allocation"])
    sql = " ".join(q["sql"].lower() for q in queries)
    assert "pg_advisory" not in sql and "for update" not in sql


def test_a_taken_over_request_creates_nothing_until_the_dead_workers_call_has_ended(
    sim_world, settings
):
    network = Network.objects.get(origin_request=_drive(_network_request(sim_world)))
    request = request_submit(
        user=sim_world["requester"], kind=Kind.SERVER, allocation=sim_world["allocation"],
        spec={"name": "vm", "flavor": "m1.tiny", "image": "debian-12", "networks": [network.pk]},
        justification=WHY,
    )  # fmt: skip
    request_approve(user=sim_world["approver"], request=request)
    request.refresh_from_db()
    # Worker A claims and dies before its create reached the cloud (or while it was in flight).
    assert work_claim(request.pk, token=request.work_token, owner="dead:1") is not None
    ResourceRequest.objects.filter(pk=request.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert work_redrive_lapsed() == [request.pk]

    request = _drive(request, rounds=1)
    assert request.state == RequestState.PROVISIONING
    assert request.status_note.startswith("Waiting for the cloud to settle")
    servers = [s for s in cloud.servers_list(_target(sim_world)) if s.name == "vm"]
    assert servers == []  # nothing created while A's create could still land

    progress = {**request.progress, "settle_until": timezone.now().isoformat()}
    ResourceRequest.objects.filter(pk=request.pk).update(progress=progress)
    assert _drive(request).state == RequestState.COMPLETED
    servers = [s for s in cloud.servers_list(_target(sim_world)) if s.name == "vm"]
    assert len(servers) == 1
