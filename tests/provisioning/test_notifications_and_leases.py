"""Who is told what, and leases: warned before the end, decommissioned after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from provisioning import notifications, reconcile, services
from provisioning.models import Kind, RequestState, ResourceRequest, Server
from tests.factories import server_spec

pytestmark = pytest.mark.django_db
WHY = "Needed for the exercise next week."


def submit(shop, allocation=None):
    allocation = allocation or shop.low
    net = shop.low_net if allocation == shop.low else shop.high_net
    return services.request_submit(user=shop.requester, kind=Kind.SERVER, allocation=allocation,
                                   spec=server_spec(net), justification=WHY)  # fmt: skip


def test_approvers_of_the_current_stage_are_told(shop):
    request = submit(shop, shop.high)
    # One message each: what is sent is recorded per recipient, so a redelivery sends nothing.
    assert notifications.send("approvers_new_request", request.pk) == 2
    assert notifications.send("approvers_new_request", request.pk) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [shop.approver.email, shop.approver2.email]
    )
    message = mail.outbox[-1]
    assert "waits for your decision" in message.subject and WHY in message.body
    assert message.subject.startswith(f"[{shop.secret.marking}]")

    services.request_approve(user=shop.approver, request=request)
    request.refresh_from_db()
    notifications.send("approvers_new_request", request.pk)
    assert mail.outbox[-1].to == [shop.officer.email]


def test_requester_hears_the_decision_with_the_comment(shop):
    request = submit(shop)
    services.request_reject(user=shop.approver, request=request, comment="Use the shared pool.")
    notifications.send("requester_decided", request.pk)
    message = mail.outbox[-1]
    assert message.to == [shop.requester.email]
    assert "rejected" in message.subject
    assert "Use the shared pool." in message.body


def test_requester_hears_the_failure_reason(shop):
    request = submit(shop)
    ResourceRequest.objects.filter(pk=request.pk).update(
        state=RequestState.FAILED, failure_reason="The cloud could not build the server (x)."
    )
    notifications.send("requester_outcome", request.pk)
    assert "The cloud could not build the server (x)." in mail.outbox[-1].body


def _leased_server(shop, ends_in: timedelta) -> Server:
    origin = submit(shop)
    return Server.objects.create(
        allocation=shop.low, origin_request=origin, name="leased", backend_id="b-1", tag="t",
        flavor_name="m1.small", status="ACTIVE", lease_end=timezone.now() + ends_in,
    )  # fmt: skip


def test_owner_is_warned_once_before_the_lease_ends(shop, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(notifications, "lease_ending", sent.append)
    server = _leased_server(shop, timedelta(days=1))

    assert reconcile.leases_run() == {"warned": 1, "expired": 0}
    assert reconcile.leases_run() == {"warned": 0, "expired": 0}
    assert sent == [server]
    assert notifications.send("lease_ending", server.pk) == 1
    assert "Lease of leased ends" in mail.outbox[-1].subject


def test_an_ended_lease_files_a_decommission_approved_by_policy(shop):
    server = _leased_server(shop, timedelta(minutes=-1))

    assert reconcile.leases_run()["expired"] == 1
    request = ResourceRequest.objects.get(kind=Kind.SERVER_DECOMMISSION, target_server=server)
    assert request.state == RequestState.APPROVED
    assert request.approvals.get().decided_by is None
    assert "Lease ended" in request.justification
    assert reconcile.leases_run()["expired"] == 0  # one request, not one per run
