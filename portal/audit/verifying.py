"""Verifying: the chain, an exported anchor, and the latest checkpoint.

Each check reports the first break it finds and what it means (a row altered, events removed,
the tail rewritten), so an operator knows where to look, not only that something is wrong.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model

from portal.audit.checkpoints import _last_line_of, _parse_line, _signature, _sink
from portal.audit.recording import _iso, event_hash
from portal.audit.sealing import HEAD_ID
from portal.iterables import batched
from portal.models import GENESIS_HASH, AuditChainHead, AuditEvent


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    pending: int = 0  # events committed but not sealed yet: not verified, not an error


# (foreign key attribute, recorded copy attribute, what it points at)
_LINKS = (
    ("actor_id", "recorded_actor_id", "actor"),
    ("tenant_id", "recorded_tenant_id", "tenant"),
    ("region_id", "recorded_region_id", "region"),
)


def _still_existing(batch: list[AuditEvent]) -> dict[str, set[int]]:
    """For links cleared to NULL, which recorded targets still exist (one query per kind)."""
    from tenants.models import CloudRegion, Tenant

    targets = {"actor": get_user_model(), "tenant": Tenant, "region": CloudRegion}
    existing: dict[str, set[int]] = {}
    for fk, recorded, kind in _LINKS:
        cleared = {
            getattr(e, recorded)
            for e in batch
            if getattr(e, fk) is None and getattr(e, recorded) is not None
        }
        existing[kind] = (
            set(targets[kind]._base_manager.filter(pk__in=cleared).values_list("pk", flat=True))
            if cleared
            else set()
        )
    return existing


@dataclass
class _Walk:
    """Where the walk along the chain is: the last event checked."""

    seq: int = 0
    id: int | None = None
    hash: str = GENESIS_HASH


def _break_in(event: AuditEvent, walk: _Walk, existing: dict[str, set[int]]) -> str | None:
    """Why ``event``, the next one in seq order after ``walk``, breaks the chain, or None."""
    after_what = f"event #{walk.id}" if walk.id is not None else "the start of the chain"
    if event.seq != walk.seq + 1:
        return (
            f"the event with seq {walk.seq + 1}, after {after_what}, is missing: "
            "an event was removed (or renumbered)"
        )
    if event.prev_hash is None or event.hash is None:
        return "it has a seq but no hash: the row was altered"
    if event_hash(event) != event.hash:
        return "its stored hash does not match its content: the row was altered"
    if event.prev_hash != walk.hash:
        return (
            f"it does not chain onto {after_what}: "
            "an event before it was removed, inserted or reordered"
        )
    for fk, recorded, kind in _LINKS:
        target, copy = getattr(event, fk), getattr(event, recorded)
        if target is not None and target != copy:
            return f"its {kind} link points at #{target} but #{copy} was recorded"
        if target is None and copy in existing[kind]:
            return f"its {kind} link was cleared but {kind} #{copy} still exists"
    return None


def _head_row() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=HEAD_ID).first()


def _head_break(head: AuditChainHead | None, walk: _Walk, at_head: tuple[int, str] | None) -> str:
    """Why the head row read before the walk disagrees with the sealed events, or ""."""
    if head is None:
        return "the chain head row is missing: it was deleted" if walk.seq else ""
    if head.seq > walk.seq:
        return (
            f"the chain's tail was removed: the head row says seq {head.seq} "
            f"(event #{head.event_id}) but the last sealed event is seq {walk.seq}"
        )
    if head.seq and at_head != (head.event_id, head.hash):
        return (
            f"the event with seq {head.seq} is not the one the head row records "
            f"(event #{head.event_id}): the chain's tail was rewritten"
        )
    if walk.seq > head.seq:
        # Sealed since the head was read? Then the head has moved on by now.
        now = _head_row()
        if now is None or now.seq < walk.seq:
            return (
                f"events are sealed up to seq {walk.seq} but the head row stops at seq "
                f"{head.seq}: the head row was rolled back or events were sealed behind the "
                "portal's back"
            )
    return ""


def verify_chain(batch_size: int = 1000) -> VerifyResult:
    """Walk the sealed events in chain (seq) order, recompute each hash and check its links.

    Reports the first broken event: a missing seq means an event was removed; a hash mismatch
    means that row was altered; a prev_hash mismatch means events before it were removed,
    inserted or reordered. Then the head row must match the last sealed event: a head pointing
    past it means the tail was removed. Removing the tail *and* rolling the head row back
    leaves a shorter chain that verifies: ``verify_checkpoint()`` catches that. Unsealed events
    are counted in ``pending``, not verified.
    """
    head = _head_row()  # before the walk: a sealer may only move it on meanwhile
    walk = _Walk()
    at_head: tuple[int, str] | None = None
    checked = 0
    events = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    for batch in batched(events.iterator(chunk_size=batch_size), batch_size):
        existing = _still_existing(batch)
        for event in batch:
            if reason := _break_in(event, walk, existing):
                return VerifyResult(False, checked, event.id, reason, _pending())
            if head is not None and event.seq == head.seq:
                at_head = (event.id, event.hash)
            walk = _Walk(event.seq, event.id, event.hash)
            checked += 1
    if reason := _head_break(head, walk, at_head):
        broken_id = head.event_id if head is not None else walk.id
        return VerifyResult(False, checked, broken_id, reason, _pending())
    return VerifyResult(True, checked, pending=_pending())


def _pending() -> int:
    return AuditEvent.objects.filter(seq__isnull=True).count()


def verify_anchor(*, event_id: int, expected_hash: str) -> VerifyResult:
    """Whether event ``event_id`` still carries the hash exported earlier for it.

    Together with ``verify_chain()`` this detects a chain rewritten from that event or before it
    and the removal of events up to it, which the chain alone cannot.
    """
    stored = AuditEvent.objects.filter(id=event_id).values_list("hash", flat=True).first()
    if stored is None:
        return VerifyResult(False, 0, event_id, "the anchored event no longer exists")
    if stored != expected_hash:
        return VerifyResult(
            False, 0, event_id, "its hash differs from the anchor: the chain was rewritten"
        )
    return VerifyResult(True, 1)


def verify_checkpoint() -> VerifyResult:
    """Whether the chain still holds the head recorded by the sink's latest checkpoint.

    Reads the file sink itself; a syslog sink cannot be read back, so then it only says so
    (check a checkpoint from the log with ``verify_audit --anchor EVENT_ID:HASH``). A bad
    signature means the line was not written by the portal (forged, or the key changed).
    """
    kind, target = _sink()
    if kind != "file":
        return VerifyResult(
            True,
            0,
            reason="checkpoints go to syslog and cannot be read back here: verifying one "
            "needs --anchor EVENT_ID:HASH from that log",
        )
    path = Path(target)
    line = _last_line_of(path)
    if not line:
        return VerifyResult(True, 0, reason=f"no checkpoint written yet to {path}")
    checkpoint = _parse_line(line)
    if checkpoint is None:
        return VerifyResult(False, 0, None, f"the last line of {path} is not a checkpoint")
    when = f"checkpoint of {_iso(checkpoint.at)}"
    expected = _signature(
        seq=checkpoint.seq, event_id=checkpoint.event_id, hash_=checkpoint.hash, at=checkpoint.at
    )
    if not hmac.compare_digest(expected, checkpoint.sig):
        return VerifyResult(
            False,
            0,
            checkpoint.event_id,
            f"the {when} has a bad signature: it was forged (or the checkpoint key changed)",
        )
    stored = AuditEvent.objects.filter(seq=checkpoint.seq).values_list("id", "hash").first()
    if stored is None:
        last = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").first()
        last_seq = last.seq if last is not None else 0
        if last_seq < checkpoint.seq:
            return VerifyResult(
                False,
                0,
                checkpoint.event_id,
                f"the chain was truncated after event seq {last_seq} ({when} "
                f"recorded seq {checkpoint.seq}, event #{checkpoint.event_id})",
            )
        return VerifyResult(
            False,
            0,
            checkpoint.event_id,
            f"the event with seq {checkpoint.seq} of the {when} is missing: it was removed",
        )
    if stored != (checkpoint.event_id, checkpoint.hash):
        return VerifyResult(
            False,
            0,
            checkpoint.event_id,
            f"the event with seq {checkpoint.seq} differs from the {when}: the chain was rewritten",
        )
    return VerifyResult(True, 1, reason=f"matches the {when} (seq {checkpoint.seq})")
