"""Keeping ``SlaFact`` rows: one per request, moved on with each transition, rebuilt in bulk.

The transition service calls ``fact_created`` and ``fact_moved`` inside the transaction that
writes the timeline row, so a fact never disagrees with its timeline. ``rebuild`` (the migration,
the scale generator) and ``refresh`` (rows written to the timeline directly) derive facts from the
timeline with the same rules as the report always had: first submission, first decision, first
approval, last completion.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction

from provisioning import working_time
from provisioning.models import RequestState, RequestTransition, ResourceRequest, SlaFact
from provisioning.working_time import WorkingCalendar

DECIDED = (RequestState.APPROVED, RequestState.REJECTED, RequestState.CANCELLED)

#: Facts derived from the timeline, set-based (PostgreSQL). ``{where}`` narrows the requests.
FACTS_SELECT = """
    SELECT r.id, r.allocation_id, a.tenant_id, g.site_id, g.domain_id, r.kind, r.state,
           r.created_at, t.submitted, t.decided, t.approved, t.completed,
           EXTRACT(EPOCH FROM t.decided - t.submitted)::float8,
           EXTRACT(EPOCH FROM t.completed - t.approved)::float8
    FROM provisioning_resourcerequest r
    JOIN tenants_allocation a ON a.id = r.allocation_id
    JOIN tenants_cloudregion g ON g.id = a.region_id
    LEFT JOIN (
        SELECT request_id,
               min(at) FILTER (WHERE to_state = 'pending_approval') AS submitted,
               min(at) FILTER (WHERE to_state IN ('approved', 'rejected', 'cancelled')) AS decided,
               min(at) FILTER (WHERE to_state = 'approved') AS approved,
               max(at) FILTER (WHERE to_state = 'completed') AS completed
        FROM provisioning_requesttransition {where_transitions}
        GROUP BY request_id
    ) t ON t.request_id = r.id
    {where_requests}
"""
COLUMNS = (
    "request_id, allocation_id, tenant_id, site_id, domain_id, kind, state, created_at, "
    "submitted_at, decided_at, approved_at, completed_at, decision_seconds, build_seconds"
)


def rebuild(cursor) -> None:
    """Every request's fact again, from the timeline: idempotent, one INSERT ... SELECT.

    Takes a Django cursor (``benchmarks.scale_data``'s ``AFTER_LOAD`` hook, the migration).
    The working-time columns are ``clocks_refresh``'s (nothing to do until a domain counts
    working time).
    """
    if cursor.db.vendor != "postgresql":
        refresh(None, clocks=False)
        return
    cursor.execute("TRUNCATE provisioning_slafact")
    select = FACTS_SELECT.format(where_transitions="", where_requests="")
    cursor.execute(f"INSERT INTO provisioning_slafact ({COLUMNS}) {select}")


def refresh(request_ids: Iterable[int] | None, *, clocks: bool = True) -> None:
    """The facts of these requests (all when ``None``) again, from their timelines.

    For rows written to the timeline without the transition service (tests ageing a timeline,
    data loads). Idempotent. ``clocks``: their working-time columns too (not in the migration
    that first made the facts, which predates them).
    """

    ids = None if request_ids is None else list(request_ids)
    if connection.vendor == "postgresql":
        where_t = "" if ids is None else "WHERE request_id = ANY(%s)"
        where_r = "" if ids is None else "WHERE r.id = ANY(%s)"
        select = FACTS_SELECT.format(where_transitions=where_t, where_requests=where_r)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS.split(", ")[1:])
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO provisioning_slafact ({COLUMNS}) {select} "
                f"ON CONFLICT (request_id) DO UPDATE SET {updates}",
                [] if ids is None else [ids, ids],
            )
        if clocks:
            clocks_refresh(None if ids is None else SlaFact.objects.filter(pk__in=ids))
        return
    # SQLite (the newcomer's demo): request by request, small by nature.
    requests = ResourceRequest.objects.select_related("allocation__region")
    if clocks:
        requests = requests.select_related("allocation__region__site", "allocation__region__domain")
    if ids is not None:
        requests = requests.filter(pk__in=ids)
    for request in requests.iterator(chunk_size=500):
        fact = _fact_of(request)
        calendar = _calendar(request) if clocks else None
        for transition in request.transitions.order_by("at", "id"):
            move(fact, transition.to_state, transition.at, calendar)
        fact.state = request.state
        fact.save()


def _fact_of(request: ResourceRequest) -> SlaFact:
    region = request.allocation.region
    return SlaFact(
        request=request,
        allocation_id=request.allocation_id,
        tenant_id=request.allocation.tenant_id,
        site_id=region.site_id,
        domain_id=region.domain_id,
        kind=request.kind,
        state=request.state,
        created_at=request.created_at,
    )


def move(fact, state: str, at: datetime, calendar: WorkingCalendar | None = None) -> None:
    """The rules, once in Python: first submission, decision and approval; last completion.

    With the domain's working ``calendar``, the same durations in working time too."""
    fact.state = state
    if state == RequestState.PENDING_APPROVAL and fact.submitted_at is None:
        fact.submitted_at = at
    if state in DECIDED and fact.decided_at is None:
        fact.decided_at = at
        if fact.submitted_at is not None:
            fact.decision_seconds = (at - fact.submitted_at).total_seconds()
    if state == RequestState.APPROVED and fact.approved_at is None:
        fact.approved_at = at
    if state == RequestState.COMPLETED:
        fact.completed_at = at
        if fact.approved_at is not None:
            fact.build_seconds = (at - fact.approved_at).total_seconds()
    clock(fact, calendar)


def clock(fact, calendar: WorkingCalendar | None) -> None:
    """The fact's working-time columns from its moments (cleared where time is calendar)."""
    if calendar is None:
        fact.submitted_clock = fact.approved_clock = None
        fact.decision_working_seconds = fact.build_working_seconds = None
        return
    fact.submitted_clock = _reading(calendar, fact.submitted_at)
    fact.approved_clock = _reading(calendar, fact.approved_at)
    fact.decision_working_seconds = (
        calendar.reading(fact.decided_at) - fact.submitted_clock
        if fact.decision_seconds is not None else None
    )  # fmt: skip
    fact.build_working_seconds = (
        calendar.reading(fact.completed_at) - fact.approved_clock
        if fact.build_seconds is not None else None
    )  # fmt: skip


def _reading(calendar: WorkingCalendar, moment: datetime | None) -> float | None:
    return None if moment is None else calendar.reading(moment)


CLOCK_COLUMNS = ["submitted_clock", "approved_clock", "decision_working_seconds",
                 "build_working_seconds"]  # fmt: skip


def clocks_refresh(facts=None, *, chunk_size: int = 2000) -> int:
    """The working-time columns of ``facts`` (all when ``None``) again: after a domain's hours or
    clock, or a site's zone or holidays, changed, and after a bulk rebuild. Returns how many
    facts now count working time."""
    from django.db.models import Q

    facts = SlaFact.objects.all() if facts is None else facts
    calendars = working_time.calendars()
    working = Q(pk__in=[]) if not calendars else Q(
        domain_id__in={domain for _site, domain in calendars}
    )  # fmt: skip
    facts.exclude(working).exclude(submitted_clock=None, approved_clock=None).update(
        **dict.fromkeys(CLOCK_COLUMNS)
    )
    write = _write_clocks_copy if connection.vendor == "postgresql" else _write_clocks_orm
    chunk_size = chunk_size if connection.vendor != "postgresql" else max(chunk_size, 20_000)
    moments = ("request_id", "site_id", "domain_id", "submitted_at", "decided_at", "approved_at",
               "completed_at", "decision_seconds", "build_seconds")  # fmt: skip
    counted, batch = 0, []
    rows = facts.filter(working).order_by("pk").only(*moments)
    for fact in rows.iterator(chunk_size=chunk_size):
        clock(fact, calendars[(fact.site_id, fact.domain_id)])
        batch.append(fact)
        if len(batch) >= chunk_size:
            write(batch)
            counted, batch = counted + len(batch), []
    write(batch)
    return counted + len(batch)


#: Facts rewritten past which the table is vacuumed at once rather than by autovacuum later:
#: until then the report reads past a dead row for each (measured at a million facts: 1.3 s
#: instead of 0.7).
VACUUM_AFTER = 50_000


def clocks_vacuum() -> None:
    """VACUUM ANALYZE the SLA facts (PostgreSQL; outside any transaction, as in a task)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) provisioning_slafact")


def _write_clocks_orm(facts: list[SlaFact]) -> None:
    SlaFact.objects.bulk_update(facts, CLOCK_COLUMNS)


def _write_clocks_copy(facts: list[SlaFact]) -> None:
    """A chunk of clocks written by COPY into a temporary table, then one UPDATE ... FROM: a
    million facts in a minute rather than the half hour of ``bulk_update``'s CASE per row."""
    if not facts:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped here as well as at commit: inside a caller's transaction there is no commit.
        cursor.execute("DROP TABLE IF EXISTS slafact_clocks")
        cursor.execute(
            "CREATE TEMPORARY TABLE slafact_clocks (request_id bigint PRIMARY KEY, "
            "submitted_clock float8, approved_clock float8, decision_working_seconds float8, "
            "build_working_seconds float8) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY slafact_clocks FROM STDIN") as copy:
            for f in facts:
                copy.write_row((f.request_id, f.submitted_clock, f.approved_clock,
                                f.decision_working_seconds, f.build_working_seconds))  # fmt: skip
        sets = ", ".join(f"{c} = c.{c}" for c in CLOCK_COLUMNS)
        cursor.execute(
            f"UPDATE provisioning_slafact f SET {sets} FROM slafact_clocks c "  # noqa: S608
            "WHERE f.request_id = c.request_id"
        )
        cursor.execute("DROP TABLE slafact_clocks")


def _calendar(request: ResourceRequest) -> WorkingCalendar | None:
    region = request.allocation.region
    return working_time.calendar_of(region.site, region.domain)


def fact_created(request: ResourceRequest, transition: RequestTransition) -> None:
    """A new request's fact (its first timeline row was just written)."""
    fact = _fact_of(request)
    move(fact, transition.to_state, transition.at, _calendar(request))
    fact.save(force_insert=True)


def fact_moved(request: ResourceRequest, transition: RequestTransition) -> None:
    """Move the request's fact on; the caller holds the request's lock, so no one races us."""
    fact = SlaFact.objects.filter(request=request).select_related("site", "domain").first()
    if fact is None:  # a request from before the facts, or loaded without them
        refresh([request.pk])
        return
    move(fact, transition.to_state, transition.at, working_time.calendar_of(fact.site, fact.domain))
    fact.save()
