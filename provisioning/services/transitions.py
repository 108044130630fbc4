"""Moving a request from one state to another: the one place that records who, when and why."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from portal import request_ids
from portal.audit import audit_record
from portal.metrics import shared as metrics
from provisioning import demand
from provisioning.models import RequestTransition, ResourceRequest
from provisioning.sla_facts import fact_created, fact_moved
from tenants.rollup import usage_rollup_refresh_on_commit

#: The notes the portal itself writes on a timeline, kept in English (the row is a record, read
#: by people of either language) and shown in the reader's language (``note_shown``).
NOTE_SUBMITTED = gettext_noop("Submitted")
NOTE_APPROVED = gettext_noop("Approved")
NOTE_APPROVED_BY_POLICY = gettext_noop("Approved by policy")
NOTE_RETRY = gettext_noop("Retry")
NOTE_COMPLETED = gettext_noop("Completed")
PORTAL_NOTES = frozenset(
    (NOTE_SUBMITTED, NOTE_APPROVED, NOTE_APPROVED_BY_POLICY, NOTE_RETRY, NOTE_COMPLETED)
)
_ATTEMPT = re.compile(r"^Attempt (\d+)$")


def attempt_note(attempt: int) -> str:
    """The note of a build's start, as stored (``note_shown`` reads it back)."""
    return f"Attempt {attempt}"


def note_shown(note: str) -> str:
    """A timeline note as the reader should see it: the portal's own notes translated, what a
    person wrote (a comment, a reason) as written."""
    if note in PORTAL_NOTES:
        return gettext(note)
    if attempt := _ATTEMPT.match(note):
        return gettext("Attempt %(n)s") % {"n": attempt.group(1)}
    return note


def requests_locked(*related: str) -> QuerySet[ResourceRequest]:
    """Requests read under a lock of their own rows only (``FOR NO KEY UPDATE``), with their
    allocation's tenant, site and domain joined but not locked (see docs/provisioning.md)."""
    return ResourceRequest.objects.select_for_update(of=("self",), no_key=True).select_related(
        "allocation__region__site", "allocation__region__domain", "allocation__tenant", *related
    )


def request_lock(request_id: int) -> ResourceRequest:
    """Re-read and lock a request; the caller's decision is then made on the current state."""
    return requests_locked("requester").get(pk=request_id)


def transition(request: ResourceRequest, name: str, *, actor, note: str = "", **changes) -> None:
    """Perform the model's transition ``name``, keep the timeline row and the audit event.

    Must run in a transaction on a locked (or freshly created) request; the state field's
    compare-and-set (ConcurrentTransitionMixin) is the second line of defence.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A request transition must run inside the caller's transaction.")
    before = request.state
    getattr(request, name)()
    now = timezone.now()
    request.state_changed_at = now
    for field, value in changes.items():
        setattr(request, field, value)
    request.save()
    moved = RequestTransition.objects.create(
        request=request,
        from_state=before,
        to_state=request.state,
        actor=actor,
        note=note,
        at=now,
        trace_id=request_ids.current(),
    )
    fact_moved(request, moved)  # the SLA report's row, in the same transaction
    _count_on_commit(request)
    usage_rollup_refresh_on_commit(request.allocation_id)
    audit_record(
        actor=actor,
        action=f"request.{name}",
        obj=request,
        before={"state": before},
        after={"state": request.state, "note": note, **{k: str(v) for k, v in changes.items()}},
        tenant=request.allocation.tenant,
        region=request.allocation.region,
    )


def record_created(request: ResourceRequest, *, actor) -> None:
    now = request.created_at or timezone.now()
    submitted = RequestTransition.objects.create(
        request=request,
        from_state="",
        to_state=request.state,
        actor=actor,
        at=now,
        note=NOTE_SUBMITTED,
        trace_id=request_ids.current(),
    )
    fact_created(request, submitted)
    demand.count_filed(request)
    _count_on_commit(request)
    usage_rollup_refresh_on_commit(request.allocation_id)
    audit_record(
        actor=actor,
        action="request.submit",
        obj=request,
        after={
            "state": request.state,
            "kind": request.kind,
            "spec": request.spec,
            "justification": request.justification,
        },
        tenant=request.allocation.tenant,
        region=request.allocation.region,
    )


def _count_on_commit(request: ResourceRequest) -> None:
    """Count the move for the metrics once it is committed (a rolled-back move never was)."""
    kind, state = request.kind, request.state
    transaction.on_commit(lambda: metrics.request_moved(kind, state))
