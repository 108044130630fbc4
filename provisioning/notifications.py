"""Email to the people a request concerns: approvers, the requester, resource owners.

Services call the ``*`` functions after commit; they enqueue the ``notify`` task so a slow mail
server never holds up a page. The task renders and sends with ``send``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from guardian.shortcuts import get_users_with_perms

from provisioning.models import ResourceRequest, Server, Stage
from tenants.access import OFFICER_PERMISSION
from tenants.models import Role

KINDS = ("approvers_new_request", "requester_decided", "requester_outcome", "lease_ending")


def _enqueue(kind: str, object_id: int) -> None:
    from provisioning import tasks

    tasks.notify.delay(kind, object_id)


def approvers_new_request(request_id: int) -> None:
    _enqueue("approvers_new_request", request_id)


def requester_decided(request_id: int) -> None:
    _enqueue("requester_decided", request_id)


def requester_outcome(request_id: int) -> None:
    _enqueue("requester_outcome", request_id)


def lease_ending(server_id: int) -> None:
    _enqueue("lease_ending", server_id)


def _url(obj) -> str:
    return settings.PORTAL_URL.rstrip("/") + obj.get_absolute_url()


def approvers_for(request: ResourceRequest) -> list:
    """Everyone who could decide the request's current stage now."""
    from provisioning.selectors import requests_awaiting

    if request.pending_stage == Stage.SECURITY:
        candidates = get_users_with_perms(
            request.allocation.region.domain,
            only_with_perms_in=[OFFICER_PERMISSION],
            with_group_users=True,
        )
    else:
        candidates = get_user_model().objects.filter(
            memberships__tenant=request.allocation.tenant,
            memberships__role__in=[Role.APPROVER, Role.MANAGER],
        )
    candidates = candidates.filter(is_active=True).exclude(email="")
    return [u for u in candidates if requests_awaiting(u).filter(pk=request.pk).exists()]


def send(kind: str, object_id: int) -> int:
    """Render and send one notification; returns the number of messages sent."""
    if kind == "lease_ending":
        server = Server.objects.select_related("origin_request__requester").get(pk=object_id)
        owner = server.origin_request.requester if server.origin_request else None
        if owner is None or not owner.email:
            return 0
        subject = f"Lease of {server.name} ends {server.lease_end:%Y-%m-%d %H:%M} UTC"
        body = (
            f"The lease of server {server.name} ends on {server.lease_end:%Y-%m-%d %H:%M} UTC. "
            f"It will then be decommissioned.\n\n{_url(server)}"
        )
        return send_mail(subject, body, None, [owner.email])

    request = ResourceRequest.objects.select_related(
        "requester", "allocation__region__site", "allocation__region__domain"
    ).get(pk=object_id)
    marking = request.allocation.region.domain.marking
    if kind == "approvers_new_request":
        recipients = [u.email for u in approvers_for(request)]
        subject = f"[{marking}] Request #{request.pk} waits for your decision"
        body = (
            f"{request.requester} asks for {request.get_kind_display().lower()} "
            f'"{request.title}" in {request.allocation}.\n\nWhy: {request.justification}\n\n'
            f"Decide: {_url(request)}"
        )
    elif kind == "requester_decided":
        recipients = [request.requester.email]
        last = request.approvals.order_by("-decided_at").first()
        verdict = request.get_state_display().lower()
        subject = f"[{marking}] Request #{request.pk} {verdict}"
        body = f'Your request #{request.pk} "{request.title}" was {verdict}.'
        if last and last.comment:
            body += f"\n\n{last.get_stage_display()} said: {last.comment}"
        body += f"\n\n{_url(request)}"
    elif kind == "requester_outcome":
        recipients = [request.requester.email]
        verdict = request.get_state_display().lower()
        subject = f"[{marking}] Request #{request.pk} {verdict}"
        body = f'Your request #{request.pk} "{request.title}" is {verdict}.'
        if request.failure_reason:
            body += f"\n\nReason: {request.failure_reason}"
        body += f"\n\n{_url(request)}"
    else:
        raise ValueError(f"Unknown notification {kind!r}")
    recipients = [r for r in recipients if r]
    return send_mail(subject, body, None, recipients) if recipients else 0
