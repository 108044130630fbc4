"""SLA figures: how long decisions and builds take, how often the targets were missed, and
which requests missed them.

The rules: a decision is timed from the first submission to the first decision, a build from
the first approval to the completion (after a retry, the build that finally finished counts); a
request still waiting past a target counts as a breach already, measured up to now; a failed
build counts as failed, not as a late build; each request is held to its domain's own targets
(``SecurityDomain.sla_decision/sla_build``), else to ``PORTAL_SLA_DECISION_SECONDS/BUILD``,
in the time the domain counts: calendar time, or working time at the request's site
(``provisioning.working_time``; the facts keep the working durations and the meter's readings).

Read from ``SlaFact`` (one row per request, kept by the transition service), never from the
timeline, so a report costs what its period and the rows shown cost, not the history's size.
Breaches are decided here, from the stored durations, so an edited target applies at once.
PostgreSQL aggregates (``percentile_cont``, count filters) and pages the late requests; on SQLite
(the demo) the same rules run in Python over the period's facts. The caller narrows the facts
with the access layer, so a report never counts, groups or lists a request its reader may not
see. The page, the CSV, the API and ``manage.py sla_report`` all read the same ``SlaReport``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal.pagination import decode_cursor, encode_cursor
from provisioning.models import Kind, RequestState, ResourceRequest, SlaFact
from tenants.models import SecurityDomain, Site, Tenant

BUILDING = (RequestState.APPROVED, RequestState.PROVISIONING)
#: The periods offered by the page besides calendar months.
PERIOD_DAYS = (7, 30, 90)
MONTH = re.compile(r"(\d{4})-(\d{2})")  # matched whole (fullmatch): no trailing newline


class Grouping(TextChoices):
    """What the rows are per: the contract reviews by domain, a site manager by site..."""

    DOMAIN = "domain", gettext_lazy("Security domain")
    SITE = "site", gettext_lazy("Site")
    TENANT = "tenant", gettext_lazy("Tenant")


class Target(TextChoices):
    DECISION = "decision", gettext_lazy("Decision")
    BUILD = "build", gettext_lazy("Build")


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
        label = ngettext("the last %(days)s day", "the last %(days)s days", days) % {"days": days}
        return cls(now - timedelta(days=days), now, label, days=days)

    @classmethod
    def calendar_month(cls, month: str) -> Period:
        """``"2026-10"``: the whole month, for the contract's monthly review."""
        found = MONTH.fullmatch(month or "")
        if not found or not 1 <= int(found[2]) <= 12 or not 1970 <= int(found[1]) <= 9998:
            raise ValidationError(
                {"month": [_("Give a month as YYYY-MM, not %(month)s.") % {"month": repr(month)}]}
            )
        year, number = int(found[1]), int(found[2])
        since = datetime(year, number, 1, tzinfo=dt.UTC)
        until = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=dt.UTC)
        return cls(since, until, dateformat.format(since, "F Y"), month=month)

    @classmethod
    def from_params(cls, params) -> Period:
        """From query parameters: ``month=YYYY-MM``, else ``days`` (7, 30 or 90; 30 if absent)."""
        if params.get("month"):
            return cls.calendar_month(params["month"])
        raw = params.get("days") or "30"
        if not raw.isdigit() or int(raw) not in PERIOD_DAYS:
            choices = ", ".join(map(str, PERIOD_DAYS))
            raise ValidationError(
                {"days": [_("Choose %(choices)s days, or a month.") % {"choices": choices}]}
            )
        return cls.last_days(int(raw))


def grouping_from(params) -> Grouping:
    raw = params.get("group_by") or Grouping.DOMAIN
    if raw not in Grouping.values:
        raise ValidationError(
            {
                "group_by": [
                    _("Group by one of %(groupings)s.") % {"groupings": ", ".join(Grouping.values)}
                ]
            }
        )
    return Grouping(raw)


@dataclass(frozen=True)
class Stats:
    """Durations in seconds; p50 and p90 interpolated between neighbours (``percentile_cont``)."""

    count: int
    p50: float | None
    p90: float | None
    worst: float | None

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            return cls(0, None, None, None)
        ordered = sorted(values)
        return cls(len(ordered), _at(ordered, 0.5), _at(ordered, 0.9), ordered[-1])

    @classmethod
    def from_sql(cls, count: int, percentiles: list[float] | None, worst: float | None) -> Stats:
        if not count:
            return cls(0, None, None, None)
        return cls(count, percentiles[0], percentiles[1], worst)


def _at(ordered: list[float], fraction: float) -> float:
    """``percentile_cont`` in Python: linear interpolation between the two nearest ranks."""
    position = fraction * (len(ordered) - 1)
    low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
    return low + (high - low) * (position - math.floor(position))


NO_STATS = Stats(0, None, None, None)


@dataclass
class SlaRow:
    group: str  # the domain's marking, the site's or the tenant's name
    domain: SecurityDomain | None  # when grouped by domain: for its badge
    kind: str
    requests: int = 0
    decision_stats: Stats = NO_STATS  # submitted -> first decision
    build_stats: Stats = NO_STATS  # approved -> completed
    decision_breaches: int = 0
    build_breaches: int = 0
    failed: int = 0

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label


@dataclass(frozen=True)
class SlaBreach:
    """One request that missed one target (a request can miss both)."""

    request: ResourceRequest
    target: str
    took: float  # seconds; up to the report's moment if it is still waiting
    allowed: float
    still_waiting: bool

    @property
    def late_by(self) -> float:
        return self.took - self.allowed

    @property
    def target_label(self) -> str:
        return Target(self.target).label


@dataclass(frozen=True)
class LateCursor:
    """Where a page of late requests ends, and the report it belongs to.

    The order is the most overdue first (``late_by`` descending), then request id and target
    ascending: a total order, so pages neither repeat nor skip. Every page is computed as of the
    first page's moment (``as_of``): requests submitted later are left out and later decisions
    or completions ignored, so lateness cannot change between two pages.
    """

    as_of: datetime
    period: Period
    late_by: float
    request_id: int
    target: str

    def encode(self) -> str:
        p = self.period
        raw = [self.as_of.isoformat(), p.since.isoformat(), p.until.isoformat(), p.label, p.days,
               p.month, self.late_by, self.request_id, self.target]  # fmt: skip
        return encode_cursor(raw)

    @classmethod
    def decode(cls, token: str) -> LateCursor:
        try:
            raw, _backwards = decode_cursor(token)
            as_of, since, until, label, days, month, late_by, request_id, target = raw
            period = Period(datetime.fromisoformat(since), datetime.fromisoformat(until),
                            str(label), days, month)  # fmt: skip
            return cls(datetime.fromisoformat(as_of), period, float(late_by), int(request_id),
                       Target(target).value)  # fmt: skip
        except (ValueError, TypeError, UnicodeDecodeError) as err:
            raise ValidationError({"cursor": [_("This cursor is not one we gave out.")]}) from err


@dataclass
class SlaReport:
    period: Period
    grouping: Grouping
    decision_target: timedelta
    build_target: timedelta
    rows: list[SlaRow]
    breaches: list[SlaBreach]  # the first page of late requests, the most overdue first
    domains: set[SecurityDomain]  # of every request counted: the page's classification
    as_of: datetime
    late_next: LateCursor | None = None  # where the next page of late requests starts
    #: The period's public holidays at the sites whose working-time targets it counted.
    holidays: list[Holiday] = field(default_factory=list)

    @property
    def since(self) -> datetime:
        return self.period.since

    @property
    def late_count(self) -> int:
        """Every breach in the period (the sum of the rows' late counts)."""
        return sum(r.decision_breaches + r.build_breaches for r in self.rows)

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

    @property
    def working_domains(self) -> list[SecurityDomain]:
        """The counted domains whose targets count working time, with their hours."""
        return [d for d, _decision, _build in self.targets if d.counts_working_time]


@dataclass(frozen=True)
class Holiday:
    """A public holiday within a report's period at a site: not working time there."""

    site: Site
    day: dt.date
    name: str


#: Per grouping: the fact's column holding the group, and the model the group is.
GROUP_COLUMNS = {
    Grouping.DOMAIN: ("domain_id", SecurityDomain),
    Grouping.SITE: ("site_id", Site),
    Grouping.TENANT: ("tenant_id", Tenant),
}
#: Per target: the fact's start and end moments, its duration column, and for working-time
#: domains its duration in working time and the calendar's meter when the wait began.
MOMENTS = {
    Target.DECISION: ("submitted_at", "decided_at", "decision_seconds"),
    Target.BUILD: ("approved_at", "completed_at", "build_seconds"),
}
WORKING = {
    Target.DECISION: ("submitted_clock", "decision_working_seconds"),
    Target.BUILD: ("approved_clock", "build_working_seconds"),
}


@dataclass(frozen=True)
class Targets:
    """Seconds allowed per target and domain (the domain's own, else the portal's default), and
    the clock each counts: calendar time, or working time by each site's calendar
    (``provisioning.working_time``), read at ``as_of``."""

    default: dict[str, float]
    per_domain: dict[int, dict[str, float]]
    #: The domains whose targets count working time.
    working: frozenset[int] = frozenset()
    as_of: datetime | None = None
    #: (site id, domain id) -> the working calendar's meter at ``as_of``, for working domains.
    readings: dict[tuple[int, int], float] = field(default_factory=dict)

    @classmethod
    def of(cls, domains: list[SecurityDomain], as_of: datetime | None = None) -> Targets:
        from provisioning.working_time import calendars

        default = {Target.DECISION: float(settings.PORTAL_SLA_DECISION_SECONDS),
                   Target.BUILD: float(settings.PORTAL_SLA_BUILD_SECONDS)}  # fmt: skip
        own = {
            d.pk: {
                Target.DECISION: (d.sla_decision.total_seconds() if d.sla_decision
                                  else default[Target.DECISION]),
                Target.BUILD: d.sla_build.total_seconds() if d.sla_build else default[Target.BUILD],
            }
            for d in domains
        }  # fmt: skip
        working = frozenset(d.pk for d in domains if d.counts_working_time)
        readings = {}
        if as_of is not None and working:
            readings = {pair: c.reading(as_of) for pair, c in calendars(domains).items()}
        return cls(default, own, working, as_of, readings)

    def allowed(self, domain_id: int, target: str) -> float:
        return self.per_domain.get(domain_id, self.default)[target]

    def expression(self, target: str, *, as_of: datetime | None = None):
        """The allowed seconds of each fact's domain (or, with ``as_of``, its deadline)."""
        default = self.default[target]

        def value(seconds: float):
            return seconds if as_of is None else as_of - timedelta(seconds=seconds)

        whens = [When(domain_id=pk, then=Value(value(t[target])))
                 for pk, t in self.per_domain.items() if t[target] != default]  # fmt: skip
        output = FloatField() if as_of is None else SlaFact._meta.get_field("created_at")
        return Case(*whens, default=Value(value(default)), output_field=output)

    def counted(self, target: str):
        """A finished wait's duration as its domain counts it: the working seconds where the
        fact has them (its domain counts working time), else the calendar's. A COALESCE of two
        columns, not a CASE over the domains: it is read four times per fact by the report's
        aggregates (measured: a third of the report's time at a million facts)."""
        seconds = MOMENTS[target][2]
        if not self.working:
            return F(seconds)
        return Coalesce(F(WORKING[target][1]), F(seconds), output_field=FloatField())

    def meter(self, *, less: str | None = None):
        """Per fact: its calendar's meter now (less its domain's allowed ``target``: the reading
        past which a wait that began is late). ``None`` outside working-time domains."""
        whens = [
            When(site_id=site, domain_id=domain,
                 then=Value(reading - (self.allowed(domain, less) if less else 0.0)))
            for (site, domain), reading in self.readings.items()
        ]  # fmt: skip
        return Case(*whens, default=Value(None), output_field=FloatField())

    def took_python(self, fact: SlaFact, target: str) -> float | None:
        """``counted`` in Python, for a finished wait; ``None`` while it runs."""
        working = getattr(fact, WORKING[target][1]) if fact.domain_id in self.working else None
        return working if working is not None else getattr(fact, MOMENTS[target][2])

    def waited_python(self, fact: SlaFact, target: str) -> float:
        """How long a wait still running has taken at ``as_of``, as its domain counts (by the
        calendar where its working clock is not counted yet, as in SQL)."""
        clock = getattr(fact, WORKING[target][0])
        reading = self.readings.get((fact.site_id, fact.domain_id))
        if clock is not None and reading is not None:
            return reading - clock
        return (self.as_of - getattr(fact, MOMENTS[target][0])).total_seconds()


class Epoch(Func):
    """Seconds between two moments (PostgreSQL)."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))::float8"
    arg_joiner = " - "
    output_field = FloatField()


def _finished(target: str, as_of: datetime) -> Q:
    _start, end, seconds = MOMENTS[target]
    return Q(**{f"{end}__lte": as_of, f"{seconds}__isnull": False})


def _waiting(target: str, as_of: datetime) -> Q:
    if target == Target.DECISION:
        return Q(submitted_at__isnull=False) & (
            Q(decided_at__isnull=True) | Q(decided_at__gt=as_of)
        )
    # A build that failed is failed, not late; one completed after ``as_of`` was building then.
    return Q(approved_at__lte=as_of) & (
        Q(completed_at__isnull=True, state__in=BUILDING) | Q(completed_at__gt=as_of)
    )


def _late(target: str, targets: Targets, as_of: datetime) -> Q:
    start, _end, _seconds = MOMENTS[target]
    finished_late = _finished(target, as_of) & _over(target, targets)
    overdue = Q(**{f"{start}__lt": targets.expression(target, as_of=as_of)})
    if targets.working:
        # A wait with a working clock is measured by it; the others by the calendar.
        clock = WORKING[target][0]
        overdue = (Q(**{f"{clock}__isnull": True}) & overdue) | Q(
            **{f"{clock}__lt": targets.meter(less=target)}
        )
    return finished_late | (_waiting(target, as_of) & overdue)


def _over(target: str, targets: Targets) -> Q:
    """A finished wait that took longer than its domain allows, as its domain counts time."""
    return Q(GreaterThan(targets.counted(target), targets.expression(target)))


def _took(target: str, targets: Targets, as_of: datetime):
    start, _end, _seconds = MOMENTS[target]
    running = Epoch(Value(as_of, output_field=SlaFact._meta.get_field("created_at")), F(start))
    if targets.working:
        running = Coalesce(targets.meter() - F(WORKING[target][0]), running,
                           output_field=FloatField())  # fmt: skip
    return Case(
        When(_finished(target, as_of), then=targets.counted(target)),
        default=running,
        output_field=FloatField(),
    )


def _use_sql() -> bool:
    """PostgreSQL aggregates and pages; anything else (the SQLite demo) computes in Python."""
    return connection.vendor == "postgresql"


def _aggregates(targets: Targets, as_of: datetime) -> dict:
    from django.contrib.postgres.fields import ArrayField
    from django.db.models import Aggregate, Count, Max

    class Percentiles(Aggregate):
        """p50 and p90 of one column, from one sort of it."""

        function = "percentile_cont"
        template = "%(function)s(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
        output_field = ArrayField(FloatField())

    aggregates = {"requests": Count("pk")}
    for target in Target:
        seconds = targets.counted(target)
        aggregates |= {
            f"{target}_count": Count(seconds),
            f"{target}_percentiles": Percentiles(seconds),
            f"{target}_worst": Max(seconds),
            f"{target}_late": Count("pk", filter=_late(target, targets, as_of)),
        }
    return aggregates | {"failed": Count("pk", filter=Q(state=RequestState.FAILED))}


def _figures_sql(chosen: QuerySet[SlaFact], group_column: str, group_model, aggregates: dict,
                 *, everything: bool, period: Period) -> list[dict]:  # fmt: skip
    """Per (group, kind): the aggregates, computed by PostgreSQL in one query.

    A reader who sees everything gets one aggregate per (group, kind) over its index range
    (``LATERAL``): no sort of the whole period by group, which is what a ``GROUP BY`` over half
    a million rows spends most of its time on. A narrower reader's facts are few: ``GROUP BY``.
    """
    if not everything:
        return list(chosen.values(group=F(group_column), k=F("kind")).annotate(**aggregates))
    from django.db.models.expressions import RawSQL

    inner = (
        SlaFact.objects.filter(created_at__gte=period.since, created_at__lt=period.until,
                               **{group_column: RawSQL("g.id", ()), "kind": RawSQL("k.kind", ())})
        .order_by()
        .values(_one=Value(1))
        .annotate(**aggregates)
        .values(*aggregates)
    )  # fmt: skip
    inner_sql, inner_params = inner.query.sql_with_params()
    kinds = ", ".join(["(%s)"] * len(Kind.values))
    # Only our own table name and the ORM's compiled subquery go into the text; values are params.
    table = group_model._meta.db_table
    sql = (
        f"SELECT g.id, k.kind, a.* FROM {table} g CROSS JOIN (VALUES {kinds}) k(kind) "  # noqa: S608
        f"CROSS JOIN LATERAL ({inner_sql}) a WHERE a.requests > 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*Kind.values, *inner_params])
        names = ["group", "k", *aggregates]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _figures_python(chosen: QuerySet[SlaFact], group_column: str, targets: Targets,
                    as_of: datetime) -> list[dict]:  # fmt: skip
    """The same figures in Python, for SQLite (the demo): the rules of ``_late`` once more."""
    rows: dict[tuple, dict] = {}
    for fact in chosen.iterator(chunk_size=2000):
        row = rows.setdefault((getattr(fact, group_column), fact.kind), {
            "requests": 0, "failed": 0, "decision": [], "build": [], "decision_late": 0,
            "build_late": 0})  # fmt: skip
        row["requests"] += 1
        row["failed"] += fact.state == RequestState.FAILED
        for target in Target:
            seconds = targets.took_python(fact, target)
            if seconds is not None:
                row[target.value].append(seconds)
            row[f"{target}_late"] += _late_python(fact, target, targets, as_of) is not None
    figures = []
    for (group, kind), row in rows.items():
        figure = {"group": group, "k": kind, "requests": row["requests"], "failed": row["failed"]}
        for target in Target:
            stats = Stats.of(row[target.value])
            figure |= {f"{target}_count": stats.count, f"{target}_worst": stats.worst,
                       f"{target}_percentiles": [stats.p50, stats.p90],
                       f"{target}_late": row[f"{target}_late"]}  # fmt: skip
        figures.append(figure)
    return figures


def _late_python(fact: SlaFact, target: str, targets: Targets, as_of: datetime):
    """(took, allowed, still waiting) when ``fact`` missed ``target`` as of ``as_of``."""
    start, end, seconds = (getattr(fact, name) for name in MOMENTS[target])
    allowed = targets.allowed(fact.domain_id, target)
    if end is not None and end <= as_of and seconds is not None:
        took = targets.took_python(fact, target)
        return (took, allowed, False) if took > allowed else None
    if target == Target.DECISION:
        waiting = start is not None
    else:
        building = fact.state in BUILDING or end is not None
        waiting = start is not None and start <= as_of and building
    took = targets.waited_python(fact, target) if waiting else 0
    return (took, allowed, True) if waiting and took > allowed else None


def _late_rows_sql(chosen: QuerySet[SlaFact], targets: Targets, as_of: datetime,
                   after: LateCursor | None) -> QuerySet:  # fmt: skip
    """(request id, target, took, allowed, still waiting, late by) of every breach, in order."""
    parts = []
    for target in Target:
        took = _took(target, targets, as_of)
        part = (
            chosen.filter(_late(target, targets, as_of))
            .annotate(t=Value(target.value), took=took, allowed=targets.expression(target),
                      waiting=Case(When(_finished(target, as_of), then=Value(False)),
                                   default=Value(True)),
                      late_by=took - targets.expression(target))
        )  # fmt: skip
        parts.append(_after_cursor(part, target, after).order_by().values_list(*LATE_COLUMNS))
    return parts[0].union(parts[1], all=True).order_by("-late_by", "request_id", "t")


#: What a late row holds, in order: what ``_breaches`` and ``late_all`` read.
LATE_COLUMNS = ("request_id", "t", "took", "allowed", "waiting", "late_by")


def _after_cursor(part: QuerySet, target: Target, after: LateCursor | None) -> QuerySet:
    """Only the rows after ``after`` in the late list's order (late by, request, target)."""
    if after is None:
        return part
    tie = Q(late_by=after.late_by, request_id__gt=after.request_id)
    if target.value > after.target:
        tie |= Q(late_by=after.late_by, request_id=after.request_id)
    return part.filter(Q(late_by__lt=after.late_by) | tie)


def _late_first(chosen: QuerySet[SlaFact], targets: Targets, as_of: datetime,
                after: LateCursor | None, limit: int) -> QuerySet:  # fmt: skip
    """``_late_rows_sql(...)[:limit]`` for a reader of every fact, without ordering every breach.

    In one domain the allowed time is one number, so its finished breaches are ordered by how
    long they took, and its open ones by when they began. Each (domain, target) then gives its
    first ``limit`` finished breaches from the top of an index of the durations
    (``slafact_*_took_idx``) and its first open ones from the waits not ended as of the report
    (``slafact_*_open_idx``: few); the list's first ``limit`` are among them, ordered once
    more. Durations are kept to the microsecond, so two that differ never give the same lateness
    and the order within a part is the list's. Only where no domain counts working time (the
    working clock has no such index): else ``_late_rows_sql``.
    """
    moment = Value(as_of, output_field=SlaFact._meta.get_field("created_at"))
    parts = []
    for target in Target:
        start, _end, seconds = MOMENTS[target]
        for domain_id in targets.per_domain:
            allowed = Value(targets.allowed(domain_id, target), output_field=FloatField())
            mine = chosen.filter(domain_id=domain_id)
            finished = mine.filter(
                _finished(target, as_of), GreaterThan(F(seconds), allowed)
            ).annotate(t=Value(target.value), took=F(seconds), allowed=allowed,
                       waiting=Value(False), late_by=F(seconds) - allowed)  # fmt: skip
            took = Epoch(moment, F(start))
            deadline = as_of - timedelta(seconds=targets.allowed(domain_id, target))
            still_open = mine.filter(
                _waiting(target, as_of), **{f"{start}__lt": deadline}
            ).annotate(t=Value(target.value), took=took, allowed=allowed, waiting=Value(True),
                       late_by=took - allowed)  # fmt: skip
            for part, order in ((finished, (f"-{seconds}", "request_id")),
                                (still_open, (start, "request_id"))):  # fmt: skip
                part = _after_cursor(part, target, after).order_by(*order)
                parts.append(part.values_list(*LATE_COLUMNS)[:limit])
    return parts[0].union(*parts[1:], all=True).order_by("-late_by", "request_id", "t")[:limit]


def _late_rows(
    chosen: QuerySet[SlaFact], targets: Targets, as_of: datetime, after: LateCursor | None,
    limit: int, *, everything: bool,
) -> list[tuple]:  # fmt: skip
    """The first ``limit`` late rows after ``after``: by index for a reader of every fact."""
    if not _use_sql():
        return _late_python_all(chosen, targets, as_of, after)[:limit]
    if everything and not targets.working:
        return list(_late_first(chosen, targets, as_of, after, limit))
    return list(_late_rows_sql(chosen, targets, as_of, after)[:limit])


def _late_python_all(chosen: QuerySet[SlaFact], targets: Targets, as_of: datetime,
                     after: LateCursor | None) -> list[tuple]:  # fmt: skip
    found = []
    for fact in chosen.iterator(chunk_size=2000):
        for target in Target:
            late = _late_python(fact, target, targets, as_of)
            if late:
                took, allowed, waiting = late
                found.append((fact.request_id, target.value, took, allowed, waiting,
                              took - allowed))  # fmt: skip
    found.sort(key=_order)
    if after is not None:
        mark = (-after.late_by, after.request_id, after.target)
        found = [row for row in found if _order(row) > mark]
    return found


def _order(row: tuple) -> tuple:
    return (-row[5], row[0], row[1])


def _breaches(rows: list[tuple]) -> list[SlaBreach]:
    """Late rows with their requests (one query): title, link and domain."""
    requests = (
        ResourceRequest.objects.filter(pk__in=[row[0] for row in rows])
        .select_related("allocation__region__domain", "target_server", "target_network")
        .in_bulk()
        if rows
        else {}
    )
    return [SlaBreach(requests[pk], target, took, allowed, waiting)
            for pk, target, took, allowed, waiting, _late_by in rows]  # fmt: skip


def _facts(requests: QuerySet) -> QuerySet[SlaFact]:
    """Facts of ``requests`` (facts or requests, narrowed by the access layer)."""
    if requests.model is SlaFact:
        return requests
    if not requests.query.where:
        return SlaFact.objects.all()
    return SlaFact.objects.filter(request__in=requests.values("pk"))


def _every_fact(facts: QuerySet[SlaFact]) -> bool:
    """Whether ``facts`` are every fact (an operator's or auditor's, unnarrowed by the access
    layer): what the figures' lateral aggregates and the late list by index are for."""
    return not facts.query.where


def _chosen(facts: QuerySet[SlaFact], period: Period, as_of: datetime) -> QuerySet[SlaFact]:
    until = min(period.until, as_of + timedelta(microseconds=1))
    return facts.filter(created_at__gte=period.since, created_at__lt=until).order_by()


def late_page(
    requests: QuerySet,
    cursor: LateCursor | None = None,
    *,
    period: Period | None = None,
    limit: int = 50,
) -> tuple[list[SlaBreach], LateCursor | None]:
    """A page of late requests: after ``cursor`` (as of its report), else the first of ``period``.

    Three queries whatever the page: the domains' targets, the page, its requests.
    """
    as_of = cursor.as_of if cursor else timezone.now()
    period = cursor.period if cursor else (period or Period.last_days(30, now=as_of))
    targets = Targets.of(list(SecurityDomain.objects.all()), as_of)
    facts = _facts(requests)
    chosen = _chosen(facts, period, as_of)
    with transaction.atomic():
        _tune_for_reports()
        return _page(chosen, targets, period, as_of, cursor, limit,
                     everything=_every_fact(facts))  # fmt: skip


def _page(
    chosen, targets, period, as_of, after, limit, *, everything: bool
) -> tuple[list[SlaBreach], LateCursor | None]:
    rows = _late_rows(chosen, targets, as_of, after, limit + 1, everything=everything)
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if rows else None
    following = LateCursor(as_of, period, last[5], last[0], last[1]) if more else None
    return _breaches(rows), following


def late_all(report: SlaReport, requests: QuerySet, *, chunk_size: int = 2000,
             ) -> Iterator[tuple[int, str, str, float, float, bool]]:  # fmt: skip
    """Every late request of ``report``: (id, title, target, took, allowed, still waiting).

    Streamed from a server-side cursor, the most overdue first, so a file of half a million
    breaches never sits in the web worker's memory. Titles are read in the same query.
    """
    targets = Targets.of(list(SecurityDomain.objects.all()), report.as_of)
    chosen = _chosen(_facts(requests), report.period, report.as_of)
    if _use_sql():
        rows = _late_rows_sql(chosen, targets, report.as_of, None).iterator(chunk_size=chunk_size)
    else:
        rows = iter(_late_python_all(chosen, targets, report.as_of, None))
    while True:
        chunk = list(_take(rows, chunk_size))
        if not chunk:
            return
        titles = {
            r.pk: r.title
            for r in ResourceRequest.objects.filter(
                pk__in=[row[0] for row in chunk]
            ).select_related("target_server", "target_network")
        }
        for pk, target, took, allowed, waiting, _late_by in chunk:
            yield pk, titles[pk], target, took, allowed, waiting


def _take(rows: Iterator, n: int) -> Iterator:
    for _step in range(n):
        row = next(rows, None)
        if row is None:
            return
        yield row


def sla_report(
    requests: QuerySet,
    *,
    period: Period | None = None,
    grouping: Grouping = Grouping.DOMAIN,
    now: datetime | None = None,
    late_limit: int = 50,
) -> SlaReport:
    """SLA figures of the requests submitted in ``period`` (default: the last 30 days).

    ``requests``: ``SlaFact`` or ``ResourceRequest`` rows the caller narrowed with the access
    layer (``selectors.sla_facts_visible_to``). A fixed number of queries whatever the number of
    requests: the domains and their targets, the figures, the groups' names (sites, tenants),
    the first ``late_limit`` late requests and their requests; the rest of the late list is
    paged (``late_page``) or streamed (``late_all``).
    """
    with transaction.atomic():
        _tune_for_reports()
        return _sla_report(requests, period, Grouping(grouping), now or timezone.now(), late_limit)


def _tune_for_reports() -> None:
    """No JIT for the report's queries: PostgreSQL's cost estimate of the aggregates (millions)
    makes it compile them, which took 200 ms of a 700 ms query, for nothing (measured).

    And a plan for the values of each report, never one kept for any values: the late list's
    first rows (``_late_first``) read ~50 rows per part under a plan made for its moment and
    targets (0.1 s at a million requests), and 1.26 s under the plan PostgreSQL kept after
    the fifth report on a connection. Planning a report's statements takes a millisecond."""
    if _use_sql():
        with connection.cursor() as cursor:
            # SET LOCAL of both, in one statement.
            cursor.execute(
                "SELECT set_config('jit', 'off', true), "
                "set_config('plan_cache_mode', 'force_custom_plan', true)"
            )


def _sla_report(requests, period, grouping, as_of, late_limit) -> SlaReport:
    period = period or Period.last_days(30, now=as_of)
    group_column, group_model = GROUP_COLUMNS[grouping]
    facts = _facts(requests)
    chosen = _chosen(facts, period, as_of)
    everything = _every_fact(facts)
    domains = list(
        SecurityDomain.objects.annotate(counted=Exists(chosen.filter(domain=OuterRef("pk"))))
    )
    targets = Targets.of(domains, as_of)
    if _use_sql():
        figures = _figures_sql(chosen, group_column, group_model, _aggregates(targets, as_of),
                               everything=everything, period=period)  # fmt: skip
    else:
        figures = _figures_python(chosen, group_column, targets, as_of)
    by_pk = {d.pk: d for d in domains}
    groups = by_pk if grouping == Grouping.DOMAIN else group_model.objects.in_bulk(
        {f["group"] for f in figures}
    )  # fmt: skip
    rows = [
        SlaRow(
            group=_group_label(grouping, groups[f["group"]]),
            domain=groups[f["group"]] if grouping == Grouping.DOMAIN else None,
            kind=f["k"],
            requests=f["requests"],
            decision_stats=Stats.from_sql(f["decision_count"], f["decision_percentiles"],
                                          f["decision_worst"]),
            build_stats=Stats.from_sql(f["build_count"], f["build_percentiles"], f["build_worst"]),
            decision_breaches=f["decision_late"],
            build_breaches=f["build_late"],
            failed=f["failed"],
        )
        for f in sorted(figures, key=lambda f: (_sort_key(grouping, groups[f["group"]]), f["k"]))
    ]  # fmt: skip
    breaches, following = _page(chosen, targets, period, as_of, None, late_limit,
                                everything=everything)  # fmt: skip
    decision_target = timedelta(seconds=settings.PORTAL_SLA_DECISION_SECONDS)
    build_target = timedelta(seconds=settings.PORTAL_SLA_BUILD_SECONDS)
    counted = {d for d in domains if d.counted}
    return SlaReport(period, grouping, decision_target, build_target, rows, breaches, counted,
                     as_of, following, _holidays(chosen, domains, targets, period))  # fmt: skip


def _holidays(chosen: QuerySet[SlaFact], domains: list[SecurityDomain], targets: Targets,
              period: Period) -> list[Holiday]:  # fmt: skip
    """The period's holidays at each site with requests in a working-time domain (one query,
    none when no domain counts working time), named in the reader's language where known."""
    from django.utils.translation import get_language

    from provisioning.working_time import holiday_names

    if not targets.working:
        return []
    sites = Site.objects.filter(
        Exists(chosen.filter(site=OuterRef("pk"), domain_id__in=targets.working))
    ).exclude(country="")
    zone = dt.UTC
    since, until = period.since.astimezone(zone).date(), period.until.astimezone(zone).date()
    language = (get_language() or "en").split("-")[0]
    weekdays = {int(day) for d in domains if d.pk in targets.working for day in d.working_days}
    return [
        Holiday(site, day, name)
        for site in sites
        for day, name in holiday_names(
            site.country, site.holiday_subdivision, since, until, language
        )
        if day.isoweekday() in weekdays  # a Sunday's holiday takes no working time
    ]


def _sort_key(grouping: Grouping, group) -> tuple:
    if grouping == Grouping.DOMAIN:
        return (group.level, group.pk)
    return (group.name, group.pk)


def _group_label(grouping: Grouping, group) -> str:
    return group.marking if grouping == Grouping.DOMAIN else group.name


# --- trends -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekFigures:
    """Decision and build times of the requests submitted in one week (Monday, UTC)."""

    week: datetime
    requests: int
    decision: Stats
    build: Stats


def sla_trend(
    requests: QuerySet, period: Period, *, now: datetime | None = None
) -> list[WeekFigures]:
    """Per week of submission within ``period``: p50 and p90 of the decision and build times
    finished so far, the same rules as the report's figures. One query (PostgreSQL computes
    the percentiles); weeks without requests are left out."""
    from django.db.models import Count
    from django.db.models.functions import TruncWeek

    as_of = now or timezone.now()
    chosen = _chosen(_facts(requests), period, as_of)
    targets = Targets.of(list(SecurityDomain.objects.all()))
    decision, build = targets.counted(Target.DECISION), targets.counted(Target.BUILD)
    week = TruncWeek("created_at", tzinfo=dt.UTC)
    if _use_sql():
        from django.contrib.postgres.fields import ArrayField
        from django.db.models import Aggregate

        class Percentiles(Aggregate):
            function = "percentile_cont"
            template = "%(function)s(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
            output_field = ArrayField(FloatField())

        rows = (
            chosen.annotate(week=week)
            .values("week")
            .annotate(
                n=Count("pk"),
                d_n=Count(decision),
                d=Percentiles(decision),
                b_n=Count(build),
                b=Percentiles(build),
            )
            .order_by("week")
        )
        return [
            WeekFigures(r["week"], r["n"], Stats.from_sql(r["d_n"], r["d"], None),
                        Stats.from_sql(r["b_n"], r["b"], None))
            for r in rows
        ]  # fmt: skip
    weeks: dict[datetime, list] = {}
    for fact in chosen:
        created = fact.created_at
        monday = (created - timedelta(days=created.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        weeks.setdefault(monday, []).append(
            (targets.took_python(fact, Target.DECISION), targets.took_python(fact, Target.BUILD))
        )
    return [
        WeekFigures(
            monday, len(values),
            _no_worst(Stats.of([d for d, _b in values if d is not None])),
            _no_worst(Stats.of([b for _d, b in values if b is not None])),
        )
        for monday, values in sorted(weeks.items())
    ]  # fmt: skip


def _no_worst(stats: Stats) -> Stats:
    return Stats(stats.count, stats.p50, stats.p90, None)
