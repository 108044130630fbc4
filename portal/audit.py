"""Recording, sealing, checkpointing and verifying the hash-chained audit log.

Every service that decides or changes state calls ``audit_record()`` inside its own transaction;
the event commits or rolls back with the change it describes. Recording takes no lock and reads
nothing: the event is inserted *unsealed*. ``audit_seal()``, run right after the commit and
periodically, then gives the committed events their place in the chain (``seq``) and their
``prev_hash``/``hash``, one sealer at a time. Changing, removing or reordering sealed rows with
raw SQL breaks the chain, which ``verify_chain()`` reports; removing the newest ones, or
rewriting the chain from some point on, is caught against ``audit_checkpoint()``'s signed lines
kept outside the database. See docs/audit.md for what this does and does not protect against.

Why not a library: django-auditlog, django-simple-history and django-reversion record changes
through model signals but none chains the rows or verifies them, and recording from signals
would miss decisions that change no row (a rejection, a refused request).
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router, transaction
from django.db.models import Count, Min

from portal.models import GENESIS_HASH, AuditChainHead, AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tenants.models import CloudRegion, Tenant

logger = logging.getLogger(__name__)

SYSTEM_ACTOR_NAME = "system"
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
HEAD_ID = 1


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


# --- Hashing -----------------------------------------------------------------------------------


def _stable_numbers(value: Any) -> Any:
    """Integral floats as ints: PostgreSQL's jsonb returns 1e16 as 10000000000000000 and would
    otherwise turn an untouched event into a false alarm."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _stable_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stable_numbers(item) for item in value]
    return value


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, Django's encoder."""
    return json.dumps(
        _stable_numbers(value), sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder
    )


def event_hash(event: AuditEvent) -> str:
    """sha256 hex of the previous hash followed by the canonical JSON of the event's content.

    Unchanged since events were first chained, so events sealed before and after sealing was
    introduced verify alike. Neither the id nor ``seq`` is covered: the chain order is pinned by
    ``prev_hash``, whatever numbers the rows carry. The ``recorded_*_id`` copies are covered
    rather than the foreign keys, which deletions legitimately set to NULL.
    """
    content = {
        "occurred_at": _iso(event.occurred_at),
        "actor_id": event.recorded_actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
        "tenant_id": event.recorded_tenant_id,
        "region_id": event.recorded_region_id,
    }
    return hashlib.sha256((event.prev_hash + canonical_json(content)).encode()).hexdigest()


def audit_value(value: Any) -> Any:
    """The value as the JSON column will give it back, so the hash is computed on that."""
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Audit before/after must be JSON-serialisable: {exc}") from exc


# --- Recording ---------------------------------------------------------------------------------


def _new_event(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model | None = None,
    before: Any = None,
    after: Any = None,
    tenant: Tenant | None = None,
    region: CloudRegion | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
) -> AuditEvent:
    """A validated, unsaved and unsealed event."""
    if not ACTION_PATTERN.match(action) or len(action) > 64:
        raise ValueError(
            f"Audit action {action!r} must be a short dotted lower-case name, "
            "e.g. 'request.approve'."
        )
    if actor is not None and actor.pk is None:
        raise ValueError("Audit actor must be a saved user, or None for the system.")
    if obj is not None:
        if obj.pk is None:
            raise ValueError(f"Record the audit event after saving the {obj._meta.label}.")
        object_type = object_type if object_type is not None else obj._meta.label_lower
        object_id = object_id if object_id is not None else obj.pk
        object_repr = object_repr if object_repr is not None else str(obj)
    return AuditEvent(
        occurred_at=_now(),
        actor=actor,
        recorded_actor_id=actor.pk if actor is not None else None,
        actor_name=actor.get_username() if actor is not None else SYSTEM_ACTOR_NAME,
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        object_repr=(object_repr or "")[:200],
        before=audit_value(before),
        after=audit_value(after),
        tenant=tenant,
        recorded_tenant_id=tenant.pk if tenant is not None else None,
        region=region,
        recorded_region_id=region.pk if region is not None else None,
    )


#: When this process last sealed after a commit (monotonic seconds).
_last_sealed = [-1e9]


def _seal_committed() -> None:
    """The on-commit sealer: never fails the request or task that committed.

    A busy process seals at most every ``PORTAL_AUDIT_SEAL_MIN_INTERVAL`` seconds: one run seals
    everything committed so far, so sealing after every commit of a busy worker would mostly
    find little to do, at four queries a time. What a skipped run leaves is sealed by this
    process's next commit or by the periodic sealer.
    """
    now = time.monotonic()
    if now - _last_sealed[0] < settings.PORTAL_AUDIT_SEAL_MIN_INTERVAL:
        return
    _last_sealed[0] = now
    try:
        audit_seal()
    except Exception:
        # The periodic sealer catches up; the events are committed and wait for it.
        logger.warning("Sealing audit events after commit failed", exc_info=True)


def _seal_after_commit(using: str) -> None:
    """Seal once the caller's transaction commits, with one callback however many events.

    Django keeps a transaction's pending callbacks in ``run_on_commit`` and drops those of a
    rolled back transaction or savepoint, so looking there (rather than keeping a flag of our
    own) stays right when an earlier event of the transaction was rolled back with its savepoint.
    """
    if not settings.PORTAL_AUDIT_SEAL_ON_COMMIT:
        return
    pending = connections[using].run_on_commit
    if any(callback is _seal_committed for _savepoints, callback, _robust in pending):
        return
    transaction.on_commit(_seal_committed, using=using)


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model | None = None,
    before: Any = None,
    after: Any = None,
    tenant: Tenant | None = None,
    region: CloudRegion | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
) -> AuditEvent:
    """Append one event to the audit log, unsealed, and return it.

    Call it inside the transaction that makes the change: the event commits or rolls back with
    it. It takes no lock and reads no other event (one INSERT), so it never makes two audited
    writes wait on each other; the event gets its place in the chain from ``audit_seal()``
    after the commit. ``actor=None`` means the system (a worker, a schedule). ``obj`` fills
    ``object_type``/``object_id``/``object_repr`` unless they are given. ``before``/``after``
    must be JSON-serialisable (Django's encoder: dates, decimals and UUIDs become strings).
    Without ``tenant`` and ``region`` only operators and auditors will see the event.
    """
    event = _new_event(
        actor=actor,
        action=action,
        obj=obj,
        before=before,
        after=after,
        tenant=tenant,
        region=region,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
    )
    using = router.db_for_write(AuditEvent)
    event.save(using=using)
    _seal_after_commit(using)
    return event


def audit_record_many(events: list[dict[str, Any]]) -> int:
    """Append many events in one INSERT and return how many; each dict holds the keyword
    arguments of ``audit_record()``.

    For callers that record many changes at once (a reconciler's batch): one statement instead
    of one per event. Every event is validated before any is inserted, so a bad one refuses the
    lot.
    """
    built = [_new_event(**event) for event in events]
    if not built:
        return 0
    using = router.db_for_write(AuditEvent)
    AuditEvent.objects.using(using)._append_many(built)
    _seal_after_commit(using)
    return len(built)


# --- Sealing -----------------------------------------------------------------------------------


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


# --- Checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The sealed head at a moment, signed with a key the database does not hold."""

    seq: int
    event_id: int
    hash: str
    at: datetime.datetime
    sig: str

    def line(self) -> str:
        fields = {"seq": self.seq, "event_id": self.event_id, "hash": self.hash}
        fields |= {"at": _iso(self.at), "sig": self.sig}
        return json.dumps(fields, separators=(",", ":"))


def _signature(*, seq: int, event_id: int, hash_: str, at: datetime.datetime) -> str:
    signed = canonical_json({"seq": seq, "event_id": event_id, "hash": hash_, "at": _iso(at)})
    key = settings.PORTAL_AUDIT_CHECKPOINT_KEY.encode()
    return hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()


def _sink() -> tuple[str, str]:
    """``("file", path)`` or ``("syslog", address)`` from PORTAL_AUDIT_CHECKPOINT_SINK."""
    value = settings.PORTAL_AUDIT_CHECKPOINT_SINK
    kind, _, target = value.partition(":")
    if (kind == "file" and target) or kind == "syslog":
        return kind, target
    raise ImproperlyConfigured(
        "PORTAL_AUDIT_CHECKPOINT_SINK must be 'file:<path>', 'syslog' or 'syslog:<address>', "
        f"not {value!r}"
    )


def _syslog_address(target: str) -> str | tuple[str, int]:
    """``/dev/log`` by default; a socket path; or ``host[:port]`` over UDP."""
    if not target:
        return "/dev/log" if Path("/dev/log").exists() else ("localhost", 514)
    if target.startswith("/"):
        return target
    host, _, port = target.partition(":")
    return host, int(port or 514)


def _last_line(handle: Any) -> str:
    """The file's last line, read backwards from the end rather than the whole file."""
    end = handle.seek(0, os.SEEK_END)
    position, tail = end, b""
    while position > 0 and tail.rstrip(b"\n").count(b"\n") == 0:
        step = min(4096, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
    return tail.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")


def _last_line_of(path: Path) -> str:
    """The file's last line, or "" when there is no such file."""
    try:
        with path.open("rb") as handle:
            return _last_line(handle)
    except FileNotFoundError:
        return ""


def _write_to_file(path: Path, checkpoint: Checkpoint) -> bool:
    """Append the line unless the file's last checkpoint is already at that head."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        # Two checkpoints at once (beat and an operator) would otherwise both see the old head.
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            last = _parse_line(_last_line(handle))
            if last is not None and (last.seq, last.hash) == (checkpoint.seq, checkpoint.hash):
                return False
            handle.seek(0, os.SEEK_END)
            handle.write((checkpoint.line() + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return True


def _write_to_syslog(target: str, checkpoint: Checkpoint) -> None:
    handler = logging.handlers.SysLogHandler(
        address=_syslog_address(target), facility=logging.handlers.SysLogHandler.LOG_AUTH
    )
    handler.ident = "portal-audit-checkpoint: "
    try:
        record = logging.LogRecord(__name__, logging.INFO, __file__, 0, checkpoint.line(), (), None)
        handler.emit(record)
    finally:
        handler.close()


def audit_checkpoint() -> Checkpoint | None:
    """Seal, then write the sealed head to the checkpoint sink, signed; return what was written.

    None when nothing was written: nothing is sealed yet, or (file sink) the head has not moved
    since the file's last checkpoint. The sink is outside the database and the key is not in
    it, so a checkpoint shows later whether the chain up to it was truncated or rewritten.
    Holds no transaction while writing to the sink.
    """
    audit_seal()
    head = chain_head()
    if head is None:
        return None
    at = _now()
    checkpoint = Checkpoint(
        seq=head.seq,
        event_id=head.id,
        hash=head.hash,
        at=at,
        sig=_signature(seq=head.seq, event_id=head.id, hash_=head.hash, at=at),
    )
    kind, target = _sink()
    if kind == "file":
        return checkpoint if _write_to_file(Path(target), checkpoint) else None
    _write_to_syslog(target, checkpoint)
    return checkpoint


def _parse_line(line: str) -> Checkpoint | None:
    """A checkpoint line as written; None when the line is empty or not one."""
    try:
        data = json.loads(line)
        return Checkpoint(
            seq=int(data["seq"]),
            event_id=int(data["event_id"]),
            hash=str(data["hash"]),
            at=datetime.datetime.fromisoformat(data["at"]),
            sig=str(data["sig"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


# --- Verifying ---------------------------------------------------------------------------------


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


def _batches(events: Iterator[AuditEvent], size: int) -> Iterator[list[AuditEvent]]:
    # itertools.batched() arrives with Python 3.12; the portal still runs on 3.11.
    batch: list[AuditEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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
    for batch in _batches(events.iterator(chunk_size=batch_size), batch_size):
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
