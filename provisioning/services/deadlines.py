"""Deadlines that act: a waiting stage's approvers are reminded before the decision target is
reached, its tenant's managers told when it is breached, and the operators after that.

The decision target is the request's domain's (``SecurityDomain.sla_decision``) or the
portal's (``PORTAL_SLA_DECISION_SECONDS``), the one the SLA report holds decisions to; each stage
is measured from the moment it began to wait (submission, or the previous stage's approval), so
a security officer has the whole target for the second stage, and in the time the domain counts
(working time stops at night, at weekends and on the site's holidays).

A sweep (every ``PORTAL_DEADLINE_SWEEP_EVERY`` seconds, beat) takes the steps that became due:
in the request's row it records how many steps of its current stage were taken
(``deadline_stage``, ``deadline_step``) in the same transaction as the notification it puts in
the outbox, so each step is sent once whatever runs twice; the notification itself is sent once
per person (``provisioning.notifications``), in their language. A sweep that was down while
several steps fell due takes only the latest (and the managers' with the operators'): three
reminders in a row tell nobody anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.audit import audit_record
from provisioning import notifications, working_time
from provisioning.models import RequestState, ResourceRequest
from tenants.models import SecurityDomain

log = logging.getLogger(__name__)

REMIND, MANAGERS, OPERATORS = "remind", "managers", "operators"


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: at ``fraction`` of the target, tell ``whom``."""

    fraction: float
    whom: str


def ladder() -> list[Step]:
    """The steps in order: the reminders, the breach (managers), then the operators."""
    steps = [Step(f, REMIND) for f in sorted(settings.PORTAL_DEADLINE_REMINDERS) if 0 < f < 1]
    steps.append(Step(1.0, MANAGERS))
    steps.append(Step(max(settings.PORTAL_ESCALATE_TO_OPERATORS_AT, 1.0), OPERATORS))
    return steps


def decision_target(request: ResourceRequest) -> timedelta:
    """The decision target of the request's domain, else the portal's."""
    domain = request.allocation.region.domain
    return domain.sla_decision or timedelta(seconds=settings.PORTAL_SLA_DECISION_SECONDS)


def stage_since(request: ResourceRequest) -> datetime:
    """When the stage now waiting began: the previous stage's approval, else submission (what
    ``waiting_requests`` annotates for many at once)."""
    last = request.approvals.order_by("-decided_at").values_list("decided_at", flat=True).first()
    return last or request.created_at


def waiting_requests(now: datetime, steps: list[Step]) -> QuerySet[ResourceRequest]:
    """Requests waiting for a decision that may have a step due, each with ``stage_since``:
    when its stage began. Those that took every step of their stage, and those too young for
    the first step at the shortest target of any domain, are left to the database."""
    own = SecurityDomain.objects.exclude(sla_decision=None).values_list("sla_decision", flat=True)
    shortest = min([timedelta(seconds=settings.PORTAL_SLA_DECISION_SECONDS), *own])
    return (
        ResourceRequest.objects.filter(state=RequestState.PENDING_APPROVAL)
        .exclude(deadline_stage=F("pending_stage"), deadline_step__gte=len(steps))
        .annotate(stage_since=Coalesce(Max("approvals__decided_at"), "created_at"))
        .filter(stage_since__lte=now - shortest * steps[0].fraction)
        .select_related(
            "allocation__tenant", "allocation__region__domain", "allocation__region__site"
        )
        .order_by("pk")
    )


def steps_due(request: ResourceRequest, now: datetime, steps: list[Step]) -> int:
    """How many steps of the ladder are due for ``request``'s current stage at ``now``."""
    target = decision_target(request)
    waited = waited_for(request, request.stage_since, now)
    return sum(1 for step in steps if waited >= target * step.fraction)


def waited_for(request: ResourceRequest, since: datetime, now: datetime) -> timedelta:
    """How long the current stage has waited, as its domain counts: calendar time, or working
    time by the site's calendar (never more than the calendar time, which the query's
    prefilter relies on)."""
    region = request.allocation.region
    calendar = working_time.calendar_of(region.site, region.domain)
    if calendar is None:
        return now - since
    return timedelta(seconds=calendar.between(since, now))


def deadlines_sweep(now: datetime | None = None) -> int:
    """Take every step that fell due; returns how many notifications were put in the outbox."""
    now = now or timezone.now()
    steps = ladder()
    queued = 0
    for request in waiting_requests(now, steps):
        taken = request.deadline_step if request.deadline_stage == request.pending_stage else 0
        due = steps_due(request, now, steps)
        if due > taken:
            queued += _take(request, taken, due, steps, now)
    return queued


def _take(request: ResourceRequest, taken: int, due: int, steps: list[Step], now) -> int:
    with transaction.atomic():
        fresh = (
            ResourceRequest.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
            .filter(pk=request.pk, state=RequestState.PENDING_APPROVAL)
            .first()
        )
        # Decided meanwhile, moved on to another stage, or another sweep holds it: not ours.
        if fresh is None or fresh.pending_stage != request.pending_stage:
            return 0
        already = fresh.deadline_step if fresh.deadline_stage == fresh.pending_stage else 0
        if already >= due:
            return 0
        latest = steps[due - 1]
        send = [latest]
        if latest.whom == OPERATORS and MANAGERS not in {s.whom for s in steps[:already]}:
            send.insert(0, next(s for s in steps if s.whom == MANAGERS))
        for step in send:
            notifications.deadline_step(fresh, step.whom, index=steps.index(step) + 1)
        fresh.deadline_stage, fresh.deadline_step = fresh.pending_stage, due
        fresh.save(update_fields=["deadline_stage", "deadline_step"])
        target = decision_target(request)
        audit_record(
            actor=None,
            action="request.reminded" if latest.whom == REMIND else "request.escalated",
            obj=fresh,
            after={
                "stage": fresh.pending_stage,
                "told": [s.whom for s in send],
                "waited_seconds": round(
                    waited_for(request, request.stage_since, now).total_seconds()
                ),
                "target_seconds": round(target.total_seconds()),
            },
            tenant=request.allocation.tenant,
            region=request.allocation.region,
        )
    log.info("request %s: %s at %s of its decision target", request.pk,
             "+".join(s.whom for s in send), latest.fraction)  # fmt: skip
    return len(send)
