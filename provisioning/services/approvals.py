"""Decisions on requests: four-eyes, stage by stage, then provisioning."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_record
from provisioning import notifications
from provisioning.models import Approval, RequestState, ResourceRequest, Stage
from provisioning.models.approvals import Decision
from provisioning.policy import policy_for, stages_for
from provisioning.selectors import requests_awaiting
from provisioning.services.errors import RequestNotAllowed
from provisioning.services.quotas import allocation_lock, needs_of, quota_check
from provisioning.services.transitions import (
    NOTE_APPROVED,
    NOTE_APPROVED_BY_POLICY,
    request_lock,
    transition,
)
from provisioning.services.work import work_start


def _check_decider(user, request: ResourceRequest) -> None:
    if request.state != RequestState.PENDING_APPROVAL:
        raise ValidationError(
            _("Request #%(request)s is %(state)s: there is nothing left to decide.")
            % {"request": request.pk, "state": request.get_state_display().lower()}
        )
    if request.requester_id == user.pk:
        raise RequestNotAllowed(_("Four-eyes rule: nobody decides on their own request."))
    earlier = request.approvals.filter(decided_by=user).first()
    if earlier is not None:
        raise RequestNotAllowed(
            _(
                "Four-eyes rule: you already approved this request as %(stage)s; another person "
                "must decide this stage."
            )
            % {"stage": earlier.get_stage_display().lower()}
        )
    if not requests_awaiting(user).filter(pk=request.pk).exists():
        stage = Stage(request.pending_stage).label.lower()
        raise RequestNotAllowed(
            _("This request is waiting for a %(stage)s; you are not one here.") % {"stage": stage}
        )


def _record(request, *, user, decision: Decision, comment: str) -> Approval:
    approval = Approval.objects.create(
        request=request,
        stage=request.pending_stage,
        decision=decision,
        decided_by=user,
        comment=comment,
        decided_at=timezone.now(),
    )
    audit_record(
        actor=user,
        action=f"approval.{decision}",
        obj=approval,
        after={"request": request.pk, "stage": approval.stage, "comment": comment},
        tenant=request.allocation.tenant,
        region=request.allocation.region,
    )
    return approval


def request_approve(*, user, request: ResourceRequest, comment: str = "") -> ResourceRequest:
    """Approve the stage the request waits at; the last stage re-checks quota and builds."""
    with transaction.atomic():
        request = request_lock(request.pk)
        _check_decider(user, request)
        _record(request, user=user, decision=Decision.APPROVED, comment=comment.strip())
        stages = stages_for(request, policy_for(request))
        decided = set(request.approvals.values_list("stage", flat=True))
        remaining = [s for s in stages if s not in decided]
        if remaining:
            request.pending_stage = remaining[0]
            request.save(update_fields=["pending_stage"])
            notifications.approvers_new_request(request)
            return request
        _approve(request, actor=user, note=comment.strip() or NOTE_APPROVED)
    return request


def approve_by_policy(request: ResourceRequest) -> None:
    """Approval without a person (within policy limits, or a power action)."""
    Approval.objects.create(
        request=request,
        stage=Stage.TENANT,
        decision=Decision.APPROVED,
        decided_by=None,
        comment="Approved by policy",
        decided_at=timezone.now(),
    )
    _approve(request, actor=None, note=NOTE_APPROVED_BY_POLICY)


def _approve(request: ResourceRequest, *, actor, note: str) -> None:
    # Quota again, under the allocation lock: limits may have shrunk since the submit.
    allocation_lock(request.allocation_id)
    quota_check(
        allocation=request.allocation, needs=needs_of(request), approving=True,
        volume_type=request.spec.get("volume_type", ""),
    )  # fmt: skip
    transition(request, "approve", actor=actor, note=note, pending_stage="")
    work_start(request)
    notifications.requester_decided(request)


def request_reject(*, user, request: ResourceRequest, comment: str) -> ResourceRequest:
    """Reject at the current stage; the requester is told why."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(
            {"comment": [_("Say why you reject it: the requester will read it.")]}
        )
    with transaction.atomic():
        request = request_lock(request.pk)
        _check_decider(user, request)
        _record(request, user=user, decision=Decision.REJECTED, comment=comment)
        transition(request, "reject", actor=user, note=comment, pending_stage="")
        notifications.requester_decided(request)
    return request


def requests_bulk_approve(
    *, user, requests: Iterable[ResourceRequest], comment: str = ""
) -> dict[int, str]:
    """Approve each request on its own (one failing does not stop the others).

    Returns ``{request id: "approved" | "advanced" | the reason it was not approved}``.
    """
    results: dict[int, str] = {}
    for request in requests:
        try:
            done = request_approve(user=user, request=request, comment=comment)
        except (ValidationError, RequestNotAllowed) as err:
            results[request.pk] = " ".join(getattr(err, "messages", [str(err)]))
        else:
            results[request.pk] = "approved" if done.state == RequestState.APPROVED else "advanced"
    return results
