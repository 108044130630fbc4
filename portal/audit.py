"""Recording and verifying the hash-chained audit log, so that tampering with it can be detected.

Every service that decides or changes state calls ``audit_record()`` inside its own transaction;
the event then commits or rolls back with the change it describes. Each event's ``hash`` covers
the previous event's hash and the event's own content, so changing, removing or reordering rows
with raw SQL breaks the chain at that point, which ``verify_chain()`` (and ``manage.py
verify_audit``) reports. See docs/audit.md for what this does and does not protect against.

Why not a library: django-auditlog, django-simple-history and django-reversion record changes
through model signals but none chains the rows or verifies them, and recording from signals
would miss decisions that change no row (a rejection, a refused request).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router, transaction

from portal.models import GENESIS_HASH, AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tenants.models import CloudRegion, Tenant

#: The PostgreSQL advisory lock that serialises appends ("portaudt" as a 64-bit integer).
CHAIN_LOCK_KEY = 0x706F727461756474
SYSTEM_ACTOR_NAME = "system"
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


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

    The id is not covered: it is assigned by the database on insert, after the hash is
    computed, and the order it gives is already pinned by ``prev_hash``. The ``recorded_*_id``
    copies are covered rather than the foreign keys, which deletions legitimately set to NULL.
    """
    content = {
        "occurred_at": event.occurred_at.astimezone(datetime.UTC).isoformat(
            timespec="microseconds"
        ),
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


def _lock_chain(using: str) -> None:
    """Serialise appends so two transactions never chain onto the same predecessor."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Held until the caller's transaction ends, so the next appender reads our row.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        elif connection.vendor == "sqlite":
            # A write that matches nothing takes SQLite's database write lock now, before the
            # read, instead of failing with "database is locked" at the insert.
            table = connection.ops.quote_name(AuditEvent._meta.db_table)
            cursor.execute(f"UPDATE {table} SET id = id WHERE id < 0")  # noqa: S608
        # Elsewhere select_for_update() on the last row serialises; the unique prev_hash
        # constraint refuses a fork in any case.


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
    """Append one event to the audit chain and return it.

    Call it inside the transaction that makes the change, as late as possible in it: the chain
    lock is held until that transaction ends. ``actor=None`` means the system (a worker, a
    schedule). ``obj`` fills ``object_type``/``object_id``/``object_repr`` unless they are
    given. ``before``/``after`` must be JSON-serialisable (Django's encoder: dates, decimals and
    UUIDs become strings). Without ``tenant`` and ``region`` only operators and auditors will
    see the event.
    """
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

    event = AuditEvent(
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
    using = router.db_for_write(AuditEvent)
    with transaction.atomic(using=using):
        _lock_chain(using)
        last = AuditEvent.objects.using(using).order_by("-id").values_list("hash", flat=True)
        if connections[using].vendor not in ("postgresql", "sqlite"):
            last = last.select_for_update()
        # The timestamp is taken under the lock so that time never goes backwards in the chain.
        event.occurred_at = datetime.datetime.now(tz=datetime.UTC)
        event.prev_hash = last.first() or GENESIS_HASH
        event.hash = event_hash(event)
        event.save(using=using)
    return event


# --- Verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class ChainHead:
    """The last event: exported elsewhere, it anchors the chain against a complete rewrite."""

    id: int
    hash: str


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


def _first_break(batch: list[AuditEvent], prev: tuple[int | None, str]) -> tuple[int, str] | None:
    """The position in ``batch`` of its first broken event and why, or None."""
    existing = _still_existing(batch)
    prev_id, prev_hash = prev
    for position, event in enumerate(batch):
        if event_hash(event) != event.hash:
            return position, "its stored hash does not match its content: the row was altered"
        if event.prev_hash != prev_hash:
            after_what = f"event #{prev_id}" if prev_id is not None else "the start of the chain"
            return position, (
                f"it does not chain onto {after_what}: "
                "an event before it was removed, inserted or reordered"
            )
        for fk, recorded, kind in _LINKS:
            target, copy = getattr(event, fk), getattr(event, recorded)
            if target is not None and target != copy:
                return position, f"its {kind} link points at #{target} but #{copy} was recorded"
            if target is None and copy in existing[kind]:
                return position, f"its {kind} link was cleared but {kind} #{copy} still exists"
        prev_id, prev_hash = event.id, event.hash
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


def verify_chain(batch_size: int = 1000) -> VerifyResult:
    """Walk every event in chain order, recompute its hash and check its links.

    Reports the first broken event: a hash mismatch means that row was altered; a prev_hash
    mismatch means rows before it were removed, inserted or reordered. Removing the newest
    events cannot be seen from inside the database: ``verify_anchor()`` against an exported
    head can.
    """
    checked = 0
    prev: tuple[int | None, str] = (None, GENESIS_HASH)
    events = AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size)
    for batch in _batches(events, batch_size):
        if broken := _first_break(batch, prev):
            position, reason = broken
            return VerifyResult(False, checked + position, batch[position].id, reason)
        checked += len(batch)
        prev = (batch[-1].id, batch[-1].hash)
    return VerifyResult(True, checked)


def chain_head() -> ChainHead | None:
    """The last event's id and hash, or None when nothing has been recorded yet."""
    row = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    return ChainHead(*row) if row else None


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
