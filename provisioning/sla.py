"""SLA figures from the request timeline: how long decisions and builds take, and how often
the targets were missed.

Computed from ``RequestTransition`` rows (two queries for any number of requests), on a queryset
the caller has already narrowed with the access layer, so a report never counts a request its
reader may not see.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from provisioning.models import Kind, RequestState, RequestTransition, ResourceRequest
from tenants.models import SecurityDomain

DECIDED = (RequestState.APPROVED, RequestState.REJECTED, RequestState.CANCELLED)


@dataclass(frozen=True)
class Stats:
    """Durations in seconds."""

    count: int
    p50: float | None
    p90: float | None
    worst: float | None

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            return cls(0, None, None, None)
        ordered = sorted(values)
        p90 = ordered[min(round(0.9 * (len(ordered) - 1)), len(ordered) - 1)]
        return cls(len(ordered), statistics.median(ordered), p90, ordered[-1])


@dataclass
class SlaRow:
    domain: SecurityDomain
    kind: str
    requests: int = 0
    decision: list[float] = field(default_factory=list)  # submitted -> first decision
    build: list[float] = field(default_factory=list)  # approved -> completed
    decision_breaches: int = 0
    build_breaches: int = 0
    failed: int = 0

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label

    @property
    def decision_stats(self) -> Stats:
        return Stats.of(self.decision)

    @property
    def build_stats(self) -> Stats:
        return Stats.of(self.build)


@dataclass
class SlaReport:
    since: datetime
    until: datetime
    decision_target: timedelta
    build_target: timedelta
    rows: list[SlaRow]

    @property
    def domains(self) -> set[SecurityDomain]:
        return {row.domain for row in self.rows}


def sla_report(requests: QuerySet[ResourceRequest], *, days: int = 30) -> SlaReport:
    """SLA figures of the requests submitted in the last ``days`` days, by domain and kind.

    A request still waiting past a target counts as a breach already: a report must not look
    better because the slowest requests have not finished yet.
    """
    until = timezone.now()
    since = until - timedelta(days=days)
    decision_target = timedelta(seconds=settings.PORTAL_SLA_DECISION_SECONDS)
    build_target = timedelta(seconds=settings.PORTAL_SLA_BUILD_SECONDS)
    chosen = requests.filter(created_at__gte=since).select_related("allocation__region__domain")
    meta = {r.pk: r for r in chosen}
    timeline: dict[int, dict[str, datetime]] = defaultdict(dict)
    for request_id, state, at in (
        RequestTransition.objects.filter(request_id__in=list(meta))
        .order_by("at", "id")
        .values_list("request_id", "to_state", "at")
    ):
        timeline[request_id].setdefault(state, at)  # the first time each state was reached
        if state == RequestState.COMPLETED:
            timeline[request_id][state] = at  # the last completion counts (after retries)
    rows: dict[tuple[int, str], SlaRow] = {}
    for request_id, request in meta.items():
        domain = request.allocation.region.domain
        row = rows.setdefault((domain.pk, request.kind), SlaRow(domain, request.kind))
        row.requests += 1
        times = timeline[request_id]
        submitted = times.get(RequestState.PENDING_APPROVAL)
        decided = min((times[s] for s in DECIDED if s in times), default=None)
        if submitted and decided:
            row.decision.append((decided - submitted).total_seconds())
        if submitted and (decided or until) - submitted > decision_target:
            row.decision_breaches += 1
        approved, completed = times.get(RequestState.APPROVED), times.get(RequestState.COMPLETED)
        if approved and completed:
            row.build.append((completed - approved).total_seconds())
        if (
            approved
            and (completed or until) - approved > build_target
            and (completed or request.state in (RequestState.APPROVED, RequestState.PROVISIONING))
        ):
            row.build_breaches += 1
        row.failed += request.state == RequestState.FAILED
    ordered = sorted(rows.values(), key=lambda r: (r.domain.level, r.kind))
    return SlaReport(since, until, decision_target, build_target, ordered)
