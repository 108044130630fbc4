"""SLA figures from the request timeline: how long decisions and builds take, how often the
targets were missed, and which requests missed them.

Computed from ``RequestTransition`` rows (two queries for any number of requests), on a queryset
the caller has already narrowed with the access layer, so a report never counts, groups or lists
a request its reader may not see. The page, the CSV, the API and ``manage.py sla_report`` all read
the same ``SlaReport``.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, TextChoices
from django.utils import timezone

from provisioning.models import Kind, RequestState, RequestTransition, ResourceRequest
from tenants.models import SecurityDomain

DECIDED = (RequestState.APPROVED, RequestState.REJECTED, RequestState.CANCELLED)
#: The periods offered by the page besides calendar months.
PERIOD_DAYS = (7, 30, 90)
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class Grouping(TextChoices):
    """What the rows are per: the contract reviews by domain, a site manager by site..."""

    DOMAIN = "domain", "Security domain"
    SITE = "site", "Site"
    TENANT = "tenant", "Tenant"


class Target(TextChoices):
    DECISION = "decision", "Decision"
    BUILD = "build", "Build"


@dataclass(frozen=True)
class Period:
    """Requests submitted in [since, until): the last N days, or a calendar month (UTC)."""

    since: datetime
    until: datetime
    label: str
    days: int | None = None
    month: str | None = None

    @classmethod
    def last_days(cls, days: int, *, now: datetime | None = None) -> Period:
        now = now or timezone.now()
        return cls(now - timedelta(days=days), now, f"the last {days} days", days=days)

    @classmethod
    def calendar_month(cls, month: str) -> Period:
        """``"2026-10"``: the whole month, for the contract's monthly review."""
        found = MONTH.match(month or "")
        if not found or not 1 <= int(found[2]) <= 12 or not 1970 <= int(found[1]) <= 9998:
            raise ValidationError({"month": [f"Give a month as YYYY-MM, not {month!r}."]})
        year, number = int(found[1]), int(found[2])
        since = datetime(year, number, 1, tzinfo=dt.UTC)
        until = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=dt.UTC)
        return cls(since, until, since.strftime("%B %Y"), month=month)

    @classmethod
    def from_params(cls, params) -> Period:
        """From query parameters: ``month=YYYY-MM``, else ``days`` (7, 30 or 90; 30 if absent)."""
        if params.get("month"):
            return cls.calendar_month(params["month"])
        raw = params.get("days") or "30"
        if not raw.isdigit() or int(raw) not in PERIOD_DAYS:
            choices = ", ".join(map(str, PERIOD_DAYS))
            raise ValidationError({"days": [f"Choose {choices} days, or a month."]})
        return cls.last_days(int(raw))


def grouping_from(params) -> Grouping:
    raw = params.get("group_by") or Grouping.DOMAIN
    if raw not in Grouping.values:
        raise ValidationError({"group_by": [f"Group by one of {', '.join(Grouping.values)}."]})
    return Grouping(raw)


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
    group: str  # the domain's marking, the site's or the tenant's name
    domain: SecurityDomain | None  # when grouped by domain: for its badge
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


@dataclass(frozen=True)
class SlaBreach:
    """One request that missed one target (a request can miss both)."""

    request: ResourceRequest
    target: str
    took: float  # seconds; up to now if it is still waiting
    allowed: float
    still_waiting: bool

    @property
    def late_by(self) -> float:
        return self.took - self.allowed

    @property
    def target_label(self) -> str:
        return Target(self.target).label


@dataclass
class SlaReport:
    period: Period
    grouping: Grouping
    decision_target: timedelta
    build_target: timedelta
    rows: list[SlaRow]
    breaches: list[SlaBreach]  # the most overdue first
    domains: set[SecurityDomain]  # of every request counted: the page's classification

    @property
    def since(self) -> datetime:
        return self.period.since


def _group_of(
    request: ResourceRequest, grouping: Grouping
) -> tuple[tuple, str, SecurityDomain | None]:
    region = request.allocation.region
    if grouping == Grouping.SITE:
        return (region.site.name, region.site.pk), region.site.name, None
    if grouping == Grouping.TENANT:
        tenant = request.allocation.tenant
        return (tenant.name, tenant.pk), tenant.name, None
    return (region.domain.level, region.domain.pk), region.domain.marking, region.domain


def sla_report(
    requests: QuerySet[ResourceRequest],
    *,
    period: Period | None = None,
    grouping: Grouping = Grouping.DOMAIN,
    now: datetime | None = None,
) -> SlaReport:
    """SLA figures of the requests submitted in ``period`` (default: the last 30 days).

    A request still waiting past a target counts as a breach already, measured up to ``now``:
    a report must not look better because the slowest requests have not finished yet.
    """
    now = now or timezone.now()
    period = period or Period.last_days(30, now=now)
    grouping = Grouping(grouping)
    decision_target = timedelta(seconds=settings.PORTAL_SLA_DECISION_SECONDS)
    build_target = timedelta(seconds=settings.PORTAL_SLA_BUILD_SECONDS)
    chosen = requests.filter(created_at__gte=period.since, created_at__lt=period.until)
    chosen = chosen.select_related(
        "allocation__tenant",
        "allocation__region__site",
        "allocation__region__domain",
        "target_server",
        "target_network",
    )
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
    rows: dict[tuple, SlaRow] = {}
    breaches: list[SlaBreach] = []

    def late(request, target: Target, start: datetime, end: datetime | None, allowed: timedelta):
        took = ((end or now) - start).total_seconds()
        if took > allowed.total_seconds():
            breaches.append(SlaBreach(request, target, took, allowed.total_seconds(), end is None))
            return True
        return False

    for request_id, request in meta.items():
        key, label, domain = _group_of(request, grouping)
        row = rows.setdefault((key, request.kind), SlaRow(label, domain, request.kind))
        row.requests += 1
        times = timeline[request_id]
        submitted = times.get(RequestState.PENDING_APPROVAL)
        decided = min((times[s] for s in DECIDED if s in times), default=None)
        if submitted and decided:
            row.decision.append((decided - submitted).total_seconds())
        if submitted:
            row.decision_breaches += late(request, Target.DECISION, submitted, decided,
                                          decision_target)  # fmt: skip
        approved, completed = times.get(RequestState.APPROVED), times.get(RequestState.COMPLETED)
        if approved and completed:
            row.build.append((completed - approved).total_seconds())
        building = request.state in (RequestState.APPROVED, RequestState.PROVISIONING)
        if approved and (completed or building):  # a failed build is counted as failed instead
            row.build_breaches += late(request, Target.BUILD, approved, completed, build_target)
        row.failed += request.state == RequestState.FAILED
    ordered = [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1]))]
    breaches.sort(key=lambda b: -b.late_by)
    domains = {r.allocation.region.domain for r in meta.values()}
    return SlaReport(period, grouping, decision_target, build_target, ordered, breaches, domains)
