"""Sealing: giving committed events their place in the chain, and the chain head.

Kept apart from recording so that writers never wait on the chain: one sealer at a time chains
what has committed, in the order it became visible.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connections, router, transaction
from django.db.models import Count, Min

from portal.audit.recording import _now, event_hash
from portal.models import AuditChainHead, AuditEvent

HEAD_ID = 1


class AuditChainHeadMissing(RuntimeError):
    """The chain head row is gone while sealed events exist; sealing would fork the chain."""


def _lock_head(using: str) -> AuditChainHead | None:
    """The head row, locked for this transaction; None when another sealer holds it.

    Creates the row when the chain is empty (a flushed test database): with sealed events and
    no head, recreating it would hide a deletion, so that is refused.
    """
    connection = connections[using]
    heads = AuditChainHead.objects.using(using).filter(pk=HEAD_ID)
    for _attempt in range(2):
        if connection.features.has_select_for_update_skip_locked:
            head = heads.select_for_update(skip_locked=True, of=("self",)).first()
        else:
            # SQLite has no row locks: its transactions take the database write lock when they
            # begin (settings: transaction_mode IMMEDIATE), so sealers queue there instead.
            head = heads.select_for_update(of=("self",)).first()
        if head is not None:
            return head
        # Sealed events first, then the head: a sealer commits both at once, so a head still
        # invisible after its events were seen is really gone, not being created next door.
        sealed = AuditEvent.objects.using(using).filter(seq__isnull=False).exists()
        if heads.exists():  # a plain read does not wait: the row is there but taken
            return None
        if sealed:
            raise AuditChainHeadMissing(
                "The audit chain head row is missing while sealed events exist: it was "
                "deleted. Check the chain and its checkpoints (manage.py verify_audit --no-seal) "
                "before recreating the row from the last sealed event."
            )
        # Concurrent creators: one inserts, the others wait for its commit and find the row.
        AuditChainHead.objects.using(using).get_or_create(pk=HEAD_ID)
    return None


def _seal_batch(using: str, batch_size: int) -> int | None:
    """Seal up to ``batch_size`` committed unsealed events; None when another sealer runs."""
    with transaction.atomic(using=using):
        head = _lock_head(using)
        if head is None:
            return None
        unsealed = AuditEvent.objects.using(using).filter(seq__isnull=True).order_by("id")
        batch = list(unsealed[:batch_size])
        if not batch:
            return 0
        now = _now()
        seq, prev_hash = head.seq, head.hash
        for event in batch:
            seq += 1
            event.seq, event.prev_hash, event.sealed_at = seq, prev_hash, now
            event.hash = prev_hash = event_hash(event)
        AuditEvent.objects.using(using)._seal(batch)
        head.seq, head.hash, head.event_id, head.sealed_at = seq, prev_hash, batch[-1].id, now
        head.save(using=using, update_fields=["seq", "hash", "event_id", "sealed_at"])
    return len(batch)


def audit_seal(*, batch_size: int = 500) -> int:
    """Give the committed unsealed events their place in the chain; return how many.

    Single-flight: the head row's lock is taken with SKIP LOCKED, so while one sealer runs a
    second returns 0 at once instead of queueing behind it (the first seals what it would
    have). Each batch is one transaction: lock the head, read the oldest unsealed events by id,
    number them on from the head, chain and hash them, move the head. Events of transactions
    not yet committed are invisible here and are sealed by a later run, so the chain order
    (``seq``) is the order events became visible to the sealer: it may differ from id order and
    from ``occurred_at`` order. Loops while batches come back full.
    """
    using = router.db_for_write(AuditEvent)
    sealed = 0
    while batch := _seal_batch(using, batch_size):
        sealed += batch
        if batch < batch_size:
            break  # what committed meanwhile is the next run's
    return sealed


@dataclass(frozen=True)
class SealingLag:
    """How far sealing is behind: events committed but not yet in the chain."""

    pending: int
    oldest_pending_at: datetime.datetime | None
    seconds: float


def sealing_lag() -> SealingLag:
    """Report the sealing lag: how many events wait to be sealed and the oldest one's age.

    Until an event is sealed its row can be changed without the chain showing it, so this is
    the window to watch (docs/audit.md).
    """
    found = AuditEvent.objects.filter(seq__isnull=True).aggregate(
        pending=Count("id"), oldest=Min("occurred_at")
    )
    oldest = found["oldest"]
    seconds = max(0.0, (_now() - oldest).total_seconds()) if oldest is not None else 0.0
    return SealingLag(found["pending"], oldest, seconds)


# --- The head ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainHead:
    """The last sealed event: exported elsewhere, it anchors the chain against a rewrite."""

    id: int
    hash: str
    seq: int


def chain_head() -> ChainHead | None:
    """The last sealed event's id, hash and seq, or None when nothing is sealed yet."""
    row = AuditChainHead.objects.filter(pk=HEAD_ID).values_list("event_id", "hash", "seq").first()
    if row is None or row[0] is None:
        return None
    return ChainHead(*row)
