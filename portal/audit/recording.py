"""Recording audit events, unsealed, and the hashing that chains them.

Recording takes no lock and reads no other event, so audited writes never wait on each other:
the event commits or rolls back with the change it describes and gets its place in the chain
later, from the sealer. The hashing sits with it because what is hashed must be exactly what was
recorded, as the database gives it back.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router, transaction

from portal.models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from tenants.models import CloudRegion, Tenant

logger = logging.getLogger(__name__)

SYSTEM_ACTOR_NAME = "system"
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


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
    # From the package, looked up at each call: the sealer imports this module, and a test
    # replaces ``portal.audit.audit_seal`` to make sealing fail.
    from portal.audit import audit_seal

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
