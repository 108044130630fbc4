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

from provisioning.models import RequestState, RequestTransition, ResourceRequest, SlaFact

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
    """
    if cursor.db.vendor != "postgresql":
        refresh(None)
        return
    cursor.execute("TRUNCATE provisioning_slafact")
    select = FACTS_SELECT.format(where_transitions="", where_requests="")
    cursor.execute(f"INSERT INTO provisioning_slafact ({COLUMNS}) {select}")


def refresh(request_ids: Iterable[int] | None) -> None:
    """The facts of these requests (all when ``None``) again, from their timelines.

    For rows written to the timeline without the transition service (tests ageing a timeline,
    data loads). Idempotent.
    """
    from django.db import connection

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
        return
    # SQLite (the newcomer's demo): request by request, small by nature.
    requests = ResourceRequest.objects.select_related("allocation__region")
    if ids is not None:
        requests = requests.filter(pk__in=ids)
    for request in requests.iterator(chunk_size=500):
        fact = _fact_of(request)
        for transition in request.transitions.order_by("at", "id"):
            move(fact, transition.to_state, transition.at)
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


def move(fact, state: str, at: datetime) -> None:
    """The rules, once in Python: first submission, decision and approval; last completion."""
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


def fact_created(request: ResourceRequest, transition: RequestTransition) -> None:
    """A new request's fact (its first timeline row was just written)."""
    fact = _fact_of(request)
    move(fact, transition.to_state, transition.at)
    fact.save(force_insert=True)


def fact_moved(request: ResourceRequest, transition: RequestTransition) -> None:
    """Move the request's fact on; the caller holds the request's lock, so no one races us."""
    fact = SlaFact.objects.filter(request=request).first()
    if fact is None:  # a request from before the facts, or loaded without them
        refresh([request.pk])
        return
    move(fact, transition.to_state, transition.at)
    fact.save()
