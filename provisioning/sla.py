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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max, Min, Q, QuerySet, TextChoices
from django.utils import timezone

from provisioning.models import Kind, RequestState, ResourceRequest
from tenants.models import SecurityDomain, Site, Tenant

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

    @property
    def targets(self) -> list[tuple[SecurityDomain, timedelta, timedelta]]:
        """Each counted domain's decision and build targets (its own, or the defaults)."""
        return [
            (d, d.sla_decision or self.decision_target, d.sla_build or self.build_target)
            for d in sorted(self.domains, key=lambda d: d.level)
        ]

    @property
    def own_targets(self) -> list[tuple[SecurityDomain, timedelta, timedelta]]:
        """The domains among them whose contract sets targets of their own."""
        return [t for t in self.targets if t[0].sla_decision or t[0].sla_build]


#: Per grouping: the request's column holding the group, and the model the group is.
GROUP_COLUMNS = {
    Grouping.DOMAIN: ("allocation__region__domain_id", SecurityDomain),
    Grouping.SITE: ("allocation__region__site_id", Site),
    Grouping.TENANT: ("allocation__tenant_id", Tenant),
}


def _timelines(chosen: QuerySet[ResourceRequest], group_column: str) -> list[tuple]:
    """Per request, one row: id, kind, state, group id, domain id and its four moments.

    Aggregated by the database (one query, whatever the number of requests): the first time the
    request was submitted, decided and approved, and the last time it was completed (after a
    retry, the build that finally finished counts).
    """
    at = "transitions__at"
    return list(
        chosen.order_by()
        .annotate(
            t_submitted=Min(at, filter=Q(transitions__to_state=RequestState.PENDING_APPROVAL)),
            t_decided=Min(at, filter=Q(transitions__to_state__in=DECIDED)),
            t_approved=Min(at, filter=Q(transitions__to_state=RequestState.APPROVED)),
            t_completed=Max(at, filter=Q(transitions__to_state=RequestState.COMPLETED)),
        )
        .values_list(
            "pk",
            "kind",
            "state",
            group_column,
            "allocation__region__domain_id",
            "t_submitted",
            "t_decided",
            "t_approved",
            "t_completed",
        )
    )


def _sort_key(grouping: Grouping, group) -> tuple:
    if grouping == Grouping.DOMAIN:
        return (group.level, group.pk)
    return (group.name, group.pk)


def _group_label(grouping: Grouping, group) -> str:
    return group.marking if grouping == Grouping.DOMAIN else group.name


def sla_report(
    requests: QuerySet[ResourceRequest],
    *,
    period: Period | None = None,
    grouping: Grouping = Grouping.DOMAIN,
    now: datetime | None = None,
) -> SlaReport:
    """SLA figures of the requests submitted in ``period`` (default: the last 30 days).

    A request still waiting past a target counts as a breach already, measured up to ``now``:
    a report must not look better because the slowest requests have not finished yet. Each
    request is held to its domain's targets where the domain has its own. A fixed number of
    queries: the timelines aggregated by the database, then the domains, the groups and the late
    requests themselves.
    """
    now = now or timezone.now()
    period = period or Period.last_days(30, now=now)
    grouping = Grouping(grouping)
    decision_target = timedelta(seconds=settings.PORTAL_SLA_DECISION_SECONDS)
    build_target = timedelta(seconds=settings.PORTAL_SLA_BUILD_SECONDS)
    group_column, group_model = GROUP_COLUMNS[grouping]
    chosen = requests.filter(created_at__gte=period.since, created_at__lt=period.until)
    timelines = _timelines(chosen, group_column)

    rows: dict[tuple[int, str], SlaRow] = {}
    late: list[tuple[int, str, float, float, bool]] = []

    def check(pk: int, target: Target, start: datetime, end: datetime | None, allowed) -> int:
        took, limit = ((end or now) - start).total_seconds(), allowed.total_seconds()
        if took > limit:
            late.append((pk, target, took, limit, end is None))
            return 1
        return 0

    domains = SecurityDomain.objects.in_bulk({t[4] for t in timelines})
    targets = {
        pk: (d.sla_decision or decision_target, d.sla_build or build_target)
        for pk, d in domains.items()
    }
    for pk, kind, state, group_id, domain_id, submitted, decided, approved, completed in timelines:
        decision_allowed, build_allowed = targets[domain_id]
        row = rows.setdefault((group_id, kind), SlaRow("", None, kind))
        row.requests += 1
        if submitted and decided:
            row.decision.append((decided - submitted).total_seconds())
        if submitted:
            row.decision_breaches += check(pk, Target.DECISION, submitted, decided,
                                           decision_allowed)  # fmt: skip
        if approved and completed:
            row.build.append((completed - approved).total_seconds())
        building = state in (RequestState.APPROVED, RequestState.PROVISIONING)
        if approved and (completed or building):  # a failed build is counted as failed instead
            row.build_breaches += check(pk, Target.BUILD, approved, completed, build_allowed)
        row.failed += state == RequestState.FAILED

    group_ids = {group_id for group_id, _kind in rows}
    groups = domains if grouping == Grouping.DOMAIN else group_model.objects.in_bulk(group_ids)
    for (group_id, _kind), row in rows.items():
        row.group = _group_label(grouping, groups[group_id])
        row.domain = groups[group_id] if grouping == Grouping.DOMAIN else None
    ordered = [
        rows[key] for key in sorted(rows, key=lambda k: (_sort_key(grouping, groups[k[0]]), k[1]))
    ]
    # The late requests themselves, for their titles, links and domains: one query.
    late_requests = (
        ResourceRequest.objects.filter(pk__in=[pk for pk, *_ in late])
        .select_related("allocation__region__domain", "target_server", "target_network")
        .in_bulk()
        if late
        else {}
    )
    breaches = sorted(
        (SlaBreach(late_requests[pk], target, took, limit, waiting)
         for pk, target, took, limit, waiting in late),
        key=lambda b: -b.late_by,
    )  # fmt: skip
    return SlaReport(
        period, grouping, decision_target, build_target, ordered, breaches, set(domains.values())
    )
