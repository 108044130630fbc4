"""One request's id from the API call through the outbox and the worker into the cloud's calls;
and what the worker's runs add to /metrics.

Real worker, real Redis, cloudsim over HTTP: the approval's ``X-Request-ID`` must come back in
the answer, be on the timeline's rows the worker wrote, and reach cloudsim as the global request
id (``X-OpenStack-Request-ID``) of the calls that built the network. The worker's counters are
kept in that Redis and read by this process's /metrics.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal import request_ids
from portal.metrics.collectors import collector
from provisioning import services
from provisioning.models import Kind, RequestState
from tests.integration.test_provisioning import WHY, wait_state
from tests.live import broker_kind
from tests.metrics import samples

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def test_an_approvals_request_id_reaches_the_clouds_calls(live_world):
    request = services.request_submit(
        user=live_world.requester, kind=Kind.NETWORK, allocation=live_world.allocation,
        spec={"name": "traced", "cidr": "10.31.0.0/24", "router": True}, justification=WHY,
    )  # fmt: skip
    traced = f"req-{uuid.uuid4()}"
    api = APIClient()
    api.force_authenticate(live_world.approver)

    answer = api.post(f"/api/v1/requests/{request.pk}/approve/", {}, HTTP_X_REQUEST_ID=traced)

    assert answer.status_code == 200, answer.content
    assert answer["X-Request-ID"] == traced
    wait_state(request, RequestState.COMPLETED)
    built = request.transitions.filter(to_state__in=("provisioning", "completed"))
    assert {t.trace_id for t in built} == {traced}
    calls = live_world.sim.control.journal(global_request_id=traced)
    operations = {c["operation"] for c in calls}
    assert {"network.network.create", "network.subnet.create"} <= operations, operations
    # The allocation's project is made on first use, under the same id.
    assert "identity.project.create" in operations
    untraced = live_world.sim.control.journal()
    assert any(c["global_request_id"] != traced for c in untraced)  # the journal tells them apart


def test_a_malformed_request_id_is_replaced_and_the_new_one_is_answered(live_world):
    api = APIClient()
    api.force_authenticate(live_world.requester)

    answer = api.get("/api/v1/requests/", HTTP_X_REQUEST_ID="my-own-id; DROP TABLE")

    assert answer.status_code == 200
    assert request_ids.valid(answer["X-Request-ID"])


@pytest.mark.skipif(
    broker_kind() != "redis",
    reason="the workers keep their counters in the session's Redis; with RabbitMQ there is none",
)
def test_the_workers_runs_are_counted_in_metrics(live_world, redis_server, settings):
    request = services.request_submit(
        user=live_world.requester, kind=Kind.NETWORK, allocation=live_world.allocation,
        spec={"name": "counted", "cidr": "10.32.0.0/24", "router": False}, justification=WHY,
    )  # fmt: skip
    services.request_approve(user=live_world.approver, request=request)
    wait_state(request, RequestState.COMPLETED)

    settings.PORTAL_METRICS_REDIS_URL = redis_server.url
    collector.forget()
    text = Client().get("/metrics").content.decode()
    found = samples(text)
    advance = "provisioning.tasks.advance_request"
    assert found[("portal_task_runs_total", (("outcome", "success"), ("task", advance)))] >= 1
    assert found[("portal_task_duration_seconds_count", (("task", advance),))] >= 1
    assert found[("portal_task_queue_wait_seconds_count", (("queue", "provisioning"),))] >= 1
    moved = ("portal_request_transitions_total", (("kind", "network"), ("state", "completed")))
    assert found[moved] >= 1
    assert found[("portal_queue_messages", (("queue", "provisioning"),))] >= 0
