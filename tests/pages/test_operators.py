"""The operations page: only operators; orphans, drift, stuck and failed; re-drive and retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, OutboxMessage
from provisioning.models import Orphan, RequestState, ResourceRequest, Server
from provisioning.services import request_approve
from tests.factories import make_portal_role
from tests.pages.conftest import make_server, submit_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(shop):
    return make_portal_role("olga", "operate_portal")


@pytest.fixture
def trouble(shop):
    """One of each thing the page lists, and one of each that it must not."""
    long_ago = timezone.now() - timedelta(hours=1)
    orphan = Orphan.objects.create(region=shop.low.region, kind="server", backend_id="zz-1",
                                   name="ghost", tag="portal-request-99.1.0")  # fmt: skip
    Orphan.objects.create(region=shop.low.region, kind="server", backend_id="zz-2",
                          name="laid-to-rest", resolved_at=timezone.now())  # fmt: skip
    drifted = make_server(shop.low, "drifted", last_seen_at=long_ago)
    make_server(shop.low, "fresh", last_seen_at=timezone.now())
    make_server(shop.low, "gone", last_seen_at=long_ago, deleted_at=timezone.now())
    stuck = submit_server(shop, name="stuck")
    request_approve(user=shop.approver, request=stuck)
    # Its worker died an hour ago: the lease it held lapsed.
    ResourceRequest.objects.filter(pk=stuck.pk).update(
        state=RequestState.PROVISIONING, heartbeat_at=long_ago, lease_owner="host:42",
        lease_expires_at=long_ago,
    )  # fmt: skip
    moving = submit_server(shop, name="moving")
    request_approve(user=shop.approver, request=moving)  # a fresh lease: its message is queued
    failed = submit_server(shop, name="broken", secret=True)
    ResourceRequest.objects.filter(pk=failed.pk).update(
        state=RequestState.FAILED, failure_reason="Build ERROR: no valid host", pending_stage=""
    )
    return {"orphan": orphan, "drifted": drifted, "stuck": stuck, "moving": moving,
            "failed": failed}  # fmt: skip


def test_only_operators_reach_it(client, shop, stranger):
    auditor = make_portal_role("audrey", "audit_portal")
    for user in (shop.requester, shop.approver, shop.officer, stranger, auditor):
        client.force_login(user)
        assert client.get(reverse("operator-overview")).status_code == 404
        url = reverse("operator-request-action", args=[1, "redrive"])
        assert client.post(url).status_code == 404
    client.logout()
    assert client.get(reverse("operator-overview")).status_code == 302  # to the login page


def test_lists_orphans_drift_stuck_and_failed(client, operator, trouble):
    client.force_login(operator)
    response = client.get(reverse("operator-overview"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "ghost" in page and "laid-to-rest" not in page
    assert reverse("admin:provisioning_orphan_change", args=[trouble["orphan"].pk]) in page
    assert ">drifted</a>" in page and ">fresh</a>" not in page and ">gone</a>" not in page
    stuck, moving, failed = trouble["stuck"], trouble["moving"], trouble["failed"]
    assert f"Re-drive #{stuck.pk}" in page and f"Re-drive #{moving.pk}" not in page
    assert f"Retry #{failed.pk}" in page and "no valid host" in page
    assert 'aria-label="Classification: SECRET"' in page  # the failed request is secret


def test_write_path_backlog_is_shown(client, operator, trouble):
    """Two approvals left work in the outbox (nothing relays in this test): operators see it."""
    client.force_login(operator)
    page = client.get(reverse("operator-overview")).content.decode()
    waiting = OutboxMessage.objects.count()
    assert waiting and f"{waiting} messages, the oldest" in page
    assert "Audit events waiting to be sealed" in page


def test_empty_page_says_all_is_well(client, shop, operator):
    client.force_login(operator)
    page = client.get(reverse("operator-overview")).content.decode()
    assert "No open orphans" in page and "No drift" in page and "No stuck requests" in page


def _advance_messages(request) -> list[list]:
    return [
        m.args
        for m in OutboxMessage.objects.filter(task="provisioning.tasks.advance_request")
        if m.args[0] == request.pk
    ]


def test_redrive_takes_the_request_over_with_a_new_chain(client, operator, trouble):
    stuck = trouble["stuck"]
    client.force_login(operator)
    url = reverse("operator-request-action", args=[stuck.pk, "redrive"])
    response = client.post(url, follow=True)
    assert f"Request #{stuck.pk} re-driven" in response.content.decode()
    stuck.refresh_from_db()
    # A new token fences out whatever the old chain is doing; its first message is queued.
    assert stuck.work_token == 1 and stuck.lease_owner == ""
    assert _advance_messages(stuck)[-1] == [stuck.pk, 1, 0]
    assert AuditEvent.objects.filter(action="request.redrive", object_id=str(stuck.pk)).exists()


def test_redrive_refuses_a_request_not_in_flight(client, operator, trouble):
    failed = trouble["failed"]
    client.force_login(operator)
    url = reverse("operator-request-action", args=[failed.pk, "redrive"])
    before = OutboxMessage.objects.count()
    page = client.post(url, follow=True).content.decode()
    assert OutboxMessage.objects.count() == before
    assert "only approved or provisioning requests can be re-driven" in page


def test_retry_sends_a_failed_request_back(client, operator, trouble):
    failed = trouble["failed"]
    client.force_login(operator)
    url = reverse("operator-request-action", args=[failed.pk, "retry"])
    page = client.post(url, follow=True).content.decode()
    assert f"Request #{failed.pk} sent back to provisioning" in page
    failed.refresh_from_db()
    assert failed.state == RequestState.APPROVED


def test_redrive_service_is_for_operators_only(shop, trouble):
    from provisioning.services import RequestNotAllowed
    from provisioning.services.operations import request_redrive

    with pytest.raises(RequestNotAllowed):
        request_redrive(user=shop.approver, request=trouble["stuck"])
    assert Server.objects.filter(name="drifted").exists()
