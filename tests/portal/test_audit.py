"""The audit chain: unsealed appends, the sealer, checkpoints, tamper detection, append-only
refusals, the command, concurrency."""

from __future__ import annotations

import datetime
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from portal import audit
from portal.audit import (
    AuditChainHeadMissing,
    audit_checkpoint,
    audit_record,
    audit_record_many,
    audit_seal,
    chain_head,
    event_hash,
    sealing_lag,
    verify_anchor,
    verify_chain,
    verify_checkpoint,
)
from portal.models import GENESIS_HASH, AuditChainHead, AuditEvent, AuditLogIsAppendOnly
from portal.tasks import periodic_audit_checkpoint, periodic_audit_seal
from tenants import services
from tests.factories import CloudRegionFactory, TenantFactory, UserFactory, make_portal_role

ROOT = Path(__file__).resolve().parents[2]
#: Long enough for a loaded test machine, short enough that a blocked append fails the test.
WAIT = 10.0


def _raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _sealed() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__isnull=False).order_by("seq"))


def _roll_head_back_to(event: AuditEvent) -> None:
    """What someone covering a truncation would do: make the head row agree with the rest."""
    _raw(
        "UPDATE portal_auditchainhead SET seq = %s, hash = %s, event_id = %s WHERE id = 1",
        [event.seq, event.hash, event.id],
    )


@pytest.fixture(autouse=True)
def sink(settings, tmp_path) -> Path:
    """Checkpoints of every test go to a file of its own."""
    path = tmp_path / "audit" / "checkpoints.log"
    settings.PORTAL_AUDIT_CHECKPOINT_SINK = f"file:{path}"
    return path


@pytest.fixture
def chain(db) -> list[AuditEvent]:
    """Five sealed events by a user and by the system, on a tenant and a region."""
    user = UserFactory(username="alice")
    tenant = TenantFactory()
    region = CloudRegionFactory()
    for i in range(5):
        audit_record(
            actor=user if i % 2 else None,
            action="request.approve",
            obj=tenant,
            before={"status": "submitted", "n": i},
            after={"status": "approved", "n": i},
            tenant=tenant,
            region=region,
        )
    assert audit_seal() == 5
    return _sealed()


# --- Recording ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_are_appended_unsealed_then_sealed_from_genesis():
    recorded = [audit_record(actor=None, action="request.submit", after={"n": i}) for i in range(5)]
    for event in recorded:
        stored = AuditEvent.objects.get(pk=event.pk)
        assert (stored.seq, stored.prev_hash, stored.hash, stored.sealed_at) == (None,) * 4
    assert verify_chain() == audit.VerifyResult(True, 0, pending=5)

    assert audit_seal(batch_size=2) == 5
    chain = _sealed()
    assert [e.id for e in chain] == [e.id for e in recorded]
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS_HASH
    for previous, event in itertools.pairwise(chain):
        assert event.prev_hash == previous.hash
        assert event.sealed_at is not None and event.sealed_at >= event.occurred_at
    assert chain_head() == audit.ChainHead(chain[-1].id, chain[-1].hash, 5)
    assert verify_chain() == verify_chain(batch_size=2)
    result = verify_chain(batch_size=2)
    assert result.ok and result.checked == 5 and result.first_broken_id is None
    assert result.pending == 0
    assert audit_seal() == 0


@pytest.mark.django_db
def test_the_hash_formula_is_the_one_events_were_chained_with_before_sealing():
    """Events recorded before sealing existed must still verify: the formula is pinned."""
    event = AuditEvent(
        occurred_at=datetime.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC),
        recorded_actor_id=7,
        actor_name="alice",
        action="request.approve",
        object_type="tenants.tenant",
        object_id="3",
        object_repr="Blue",
        before={"status": "submitted"},
        after={"status": "approved", "big": 1e16, "price": "1.50"},
        recorded_tenant_id=3,
        recorded_region_id=None,
        prev_hash=GENESIS_HASH,
        seq=41,  # not hashed: the order is pinned by prev_hash
    )
    expected = "ef6d4ac41f06795ccdb5f10ac84985ae37d7e440c8021d9b15ab0930fa4ec4db"
    assert event_hash(event) == expected


@pytest.mark.django_db
def test_event_records_object_actor_tenant_and_region(chain):
    event = AuditEvent.objects.get(pk=chain[1].pk)
    assert event.actor.username == "alice" and event.actor_name == "alice"
    assert event.object_type == "tenants.tenant"
    assert event.object_id == str(event.tenant_id)
    assert event.object_repr == str(event.tenant)
    assert event.tenant_id == event.recorded_tenant_id
    assert event.region_id == event.recorded_region_id
    assert event.occurred_at.utcoffset() == datetime.timedelta(0)
    assert event.after == {"status": "approved", "n": 1}
    assert event.hash == event_hash(event)


@pytest.mark.django_db
def test_actor_none_is_recorded_as_system():
    event = audit_record(actor=None, action="server.reconcile", object_type="x.y", object_id=7)
    assert event.pk is not None
    assert event.actor is None and event.recorded_actor_id is None
    assert AuditEvent.objects.get(pk=event.pk).actor_name == "system"
    assert event.object_id == "7"


@pytest.mark.django_db
def test_values_are_hashed_as_the_database_returns_them():
    """Dates, decimals and large floats come back from jsonb changed; no false alarm."""
    audit_record(
        actor=None,
        action="quota.change",
        after={
            "at": datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
            "price": Decimal("1.50"),
            "big": 1e16,
            "whole": 100.0,
            "small": 1.5e-7,
            1: "int key",
        },
    )
    assert audit_seal() == 1
    assert verify_chain().ok


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["approve", "Request.Approve", "request approve", "a." * 40])
def test_action_must_be_a_short_dotted_name(action):
    with pytest.raises(ValueError, match="dotted"):
        audit_record(actor=None, action=action)


@pytest.mark.django_db
def test_unsaved_object_and_unserialisable_values_are_refused():
    with pytest.raises(ValueError, match="after saving"):
        audit_record(actor=None, action="tenant.create", obj=TenantFactory.build())
    with pytest.raises(ValueError, match="JSON"):
        audit_record(actor=None, action="tenant.create", after={"x": object()})
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_event_rolls_back_with_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="request.submit")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()
    assert audit_seal() == 0
    audit_record(actor=None, action="request.submit")
    assert audit_seal() == 1
    assert _sealed()[0].prev_hash == GENESIS_HASH


@pytest.mark.django_db
def test_recording_takes_no_lock_and_reads_no_event():
    """One INSERT: no advisory lock, no read of the last event, nothing to wait for."""
    user = UserFactory()
    tenant = TenantFactory()
    with CaptureQueriesContext(connection) as captured:
        audit_record(actor=user, action="request.submit", obj=tenant, tenant=tenant)
    statements = [query["sql"] for query in captured]
    assert len(statements) == 1, statements
    assert statements[0].startswith('INSERT INTO "portal_auditevent"')
    assert not any("pg_advisory" in sql or "SELECT" in sql.upper() for sql in statements)


@pytest.mark.django_db
def test_many_events_are_appended_in_one_statement():
    tenant = TenantFactory()
    events = [
        {"actor": None, "action": "server.reconcile", "obj": tenant, "after": {"n": i}}
        for i in range(3)
    ]
    with CaptureQueriesContext(connection) as captured:
        assert audit_record_many(events) == 3
    assert len(captured) == 1 and captured[0]["sql"].startswith("INSERT")
    stored = list(AuditEvent.objects.order_by("id"))
    assert [e.after for e in stored] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert {e.object_id for e in stored} == {str(tenant.pk)}
    assert all(e.seq is None and e.hash is None for e in stored)
    assert audit_seal() == 3 and verify_chain().checked == 3
    assert audit_record_many([]) == 0


@pytest.mark.django_db
def test_many_events_are_all_refused_when_one_is_invalid():
    with pytest.raises(ValueError, match="dotted"):
        audit_record_many(
            [{"actor": None, "action": "server.reconcile"}, {"actor": None, "action": "Bad"}]
        )
    with pytest.raises(TypeError):
        audit_record_many([{"actor": None, "action": "server.reconcile", "colour": "red"}])
    assert not AuditEvent.objects.exists()


# --- Sealing after commit ----------------------------------------------------------------------


@pytest.mark.django_db
def test_one_seal_per_transaction_after_it_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for i in range(3):
            audit_record(actor=None, action="request.submit", after={"n": i})
        audit_record_many([{"actor": None, "action": "server.reconcile"}] * 2)
        assert AuditEvent.objects.filter(seq__isnull=True).count() == 5
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0
    assert verify_chain().checked == 5


@pytest.mark.django_db
def test_seal_registered_again_after_its_savepoint_rolled_back(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(actor=None, action="request.submit")
            raise RuntimeError("the change failed")
        audit_record(actor=None, action="request.approve")
    assert len(callbacks) == 1
    assert [e.action for e in _sealed()] == ["request.approve"]


@pytest.mark.django_db
def test_seal_on_commit_can_be_turned_off(settings, django_capture_on_commit_callbacks):
    settings.PORTAL_AUDIT_SEAL_ON_COMMIT = False
    with django_capture_on_commit_callbacks() as callbacks:
        audit_record(actor=None, action="request.submit")
    assert callbacks == []


@pytest.mark.django_db
def test_a_failed_seal_after_commit_is_logged_not_raised(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit, "audit_seal", broken)
    with (
        caplog.at_level(logging.WARNING, "portal.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        event = audit_record(actor=None, action="request.submit")
    assert "Sealing audit events after commit failed" in caplog.text
    assert AuditEvent.objects.get(pk=event.pk).seq is None  # left to the periodic sealer


@pytest.mark.django_db
def test_periodic_tasks_seal_and_checkpoint(sink):
    audit_record(actor=None, action="request.submit")
    assert periodic_audit_seal() == 1
    assert periodic_audit_checkpoint() == 1
    assert periodic_audit_checkpoint() is None  # the head did not move
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["audit-seal"]["task"] == "portal.tasks.periodic_audit_seal"
    assert schedule["audit-checkpoint"]["task"] == "portal.tasks.periodic_audit_checkpoint"


@pytest.mark.django_db
def test_sealing_lag_is_reported():
    assert sealing_lag() == audit.SealingLag(0, None, 0.0)
    first = audit_record(actor=None, action="request.submit")
    audit_record(actor=None, action="request.approve")
    long_ago = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=2)
    _raw("UPDATE portal_auditevent SET occurred_at = %s WHERE id = %s", [long_ago, first.id])
    lag = sealing_lag()
    assert lag.pending == 2 and lag.oldest_pending_at == long_ago
    assert 120 <= lag.seconds < 180
    assert verify_chain().pending == 2
    audit_seal()
    assert sealing_lag() == audit.SealingLag(0, None, 0.0)


@pytest.mark.django_db
def test_missing_head_row_is_recreated_only_for_an_empty_chain():
    _raw("DELETE FROM portal_auditchainhead")
    audit_record(actor=None, action="request.submit")
    assert audit_seal() == 1  # a flushed database: nothing sealed, so the head starts afresh
    assert AuditChainHead.objects.get().seq == 1
    _raw("DELETE FROM portal_auditchainhead")
    result = verify_chain()
    assert not result.ok and "head row is missing" in result.reason
    audit_record(actor=None, action="request.approve")
    with pytest.raises(AuditChainHeadMissing, match="head row is missing"):
        audit_seal()


# --- Concurrency -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_appends_do_not_wait_and_sealing_follows_commit_order():
    """A transaction holding an unsealed event does not hold up another append; the event it
    committed late, with the lower id, is sealed after the other and the chain verifies."""
    held, release = threading.Event(), threading.Event()
    late: list[AuditEvent] = []
    errors: list[BaseException | str] = []

    def hold_open() -> None:
        try:
            with transaction.atomic():
                late.append(audit_record(actor=None, action="request.submit"))
                held.set()
                if not release.wait(WAIT):
                    errors.append("the holder was never released")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_open)
    holder.start()
    try:
        assert held.wait(WAIT)
        started = time.monotonic()
        with transaction.atomic():
            early = audit_record(actor=None, action="request.approve")
        elapsed = time.monotonic() - started
        # Sealed on commit, alone: the holder's event is not visible yet.
        assert AuditEvent.objects.get(pk=early.pk).seq == 1
        assert sealing_lag().pending == 0
    finally:
        release.set()
        holder.join(WAIT)
    assert not holder.is_alive() and errors == []
    assert elapsed < WAIT / 2, f"the append waited {elapsed:.1f}s for the open transaction"
    assert late[0].id < early.id
    assert [(e.id, e.seq) for e in _sealed()] == [(early.id, 1), (late[0].id, 2)]
    result = verify_chain()
    assert result.ok and result.checked == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked, reason="needs SKIP LOCKED"
)
def test_a_second_sealer_returns_at_once_while_one_holds_the_head(settings):
    settings.PORTAL_AUDIT_SEAL_ON_COMMIT = False
    audit_seal()  # creates the head row of the flushed database
    event = audit_record(actor=None, action="request.submit")
    held, release = threading.Event(), threading.Event()

    def hold_head() -> None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.select_for_update(of=("self",)).get(pk=1)
                held.set()
                release.wait(WAIT)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_head)
    holder.start()
    try:
        assert held.wait(WAIT)
        started = time.monotonic()
        assert audit_seal() == 0
        assert time.monotonic() - started < WAIT / 2
        assert AuditEvent.objects.get(pk=event.pk).seq is None
    finally:
        release.set()
        holder.join(WAIT)
    assert audit_seal() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_chain(caplog):
    threads_count, per_thread = 8, 10
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait(WAIT)
            for i in range(per_thread):
                with transaction.atomic():  # each commit seals, racing the other threads
                    audit_record(actor=None, action="request.provision", after={"w": worker})
                    audit_record(actor=None, action="request.provision", after={"i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert "Sealing audit events after commit failed" not in caplog.text
    audit_seal()  # what a sealer that lost the race at the very end left to the periodic one
    total = threads_count * per_thread * 2
    assert [e.seq for e in _sealed()] == list(range(1, total + 1))
    result = verify_chain(batch_size=7)
    assert result.ok and result.checked == total and result.pending == 0


# --- Deletions of what events point at ---------------------------------------------------------


@pytest.mark.django_db
def test_deleting_the_actor_tenant_and_region_keeps_the_chain_valid(chain):
    tenant, region = chain[0].tenant, chain[0].region
    chain[1].actor.delete()
    services.tenant_delete(tenant=tenant)
    region.delete()
    audit_seal()  # the tenant's deletion was recorded too
    event = AuditEvent.objects.get(pk=chain[1].pk)
    assert event.actor is None and event.actor_name == "alice"
    assert event.tenant is None and event.region is None
    assert verify_chain().ok


# --- Tampering with raw SQL --------------------------------------------------------------------


@pytest.mark.django_db
def test_altered_row_is_detected_at_that_event(chain):
    victim = chain[2]
    _raw(
        "UPDATE portal_auditevent SET after = %s::jsonb WHERE id = %s",
        ['{"status": "rejected", "n": 2}', victim.id],
    )
    result = verify_chain()
    assert not result.ok
    assert result.first_broken_id == victim.id
    assert result.checked == 2
    assert "altered" in result.reason


@pytest.mark.django_db
def test_removed_middle_row_is_detected_at_the_following_event(chain):
    _raw("DELETE FROM portal_auditevent WHERE id = %s", [chain[2].id])
    result = verify_chain()
    assert not result.ok
    assert result.first_broken_id == chain[3].id
    assert "seq 3" in result.reason and f"event #{chain[1].id}" in result.reason
    assert "removed" in result.reason


@pytest.mark.django_db
def test_removed_and_renumbered_row_is_detected(chain):
    _raw("DELETE FROM portal_auditevent WHERE id = %s", [chain[2].id])
    for seq in (4, 5):  # one by one: seq is unique at every row
        _raw("UPDATE portal_auditevent SET seq = %s WHERE seq = %s", [seq - 1, seq])
    _raw("UPDATE portal_auditchainhead SET seq = 4")
    result = verify_chain()
    assert not result.ok and result.first_broken_id == chain[3].id
    assert f"does not chain onto event #{chain[1].id}" in result.reason


@pytest.mark.django_db
def test_reordered_rows_are_detected(chain):
    # Swap the places of two events: each keeps its content hash, the links break.
    a, b = chain[1], chain[2]
    _raw("UPDATE portal_auditevent SET seq = -1 WHERE id = %s", [a.id])
    _raw("UPDATE portal_auditevent SET seq = %s WHERE id = %s", [a.seq, b.id])
    _raw("UPDATE portal_auditevent SET seq = %s WHERE id = %s", [b.seq, a.id])
    result = verify_chain()
    assert not result.ok and result.first_broken_id == b.id
    assert "reordered" in result.reason


@pytest.mark.django_db
def test_event_moved_to_another_tenant_is_detected(chain):
    other = TenantFactory()
    _raw("UPDATE portal_auditevent SET tenant_id = %s WHERE id = %s", [other.id, chain[3].id])
    result = verify_chain()
    assert not result.ok and result.first_broken_id == chain[3].id
    assert "tenant link" in result.reason


@pytest.mark.django_db
def test_event_hidden_from_its_tenant_is_detected(chain):
    # Clearing the link while the tenant still exists is not a deletion but tampering.
    _raw("UPDATE portal_auditevent SET tenant_id = NULL WHERE id = %s", [chain[0].id])
    result = verify_chain()
    assert not result.ok and result.first_broken_id == chain[0].id
    assert "still exists" in result.reason


@pytest.mark.django_db
def test_removed_tail_is_detected_by_the_head_row(chain):
    _raw("DELETE FROM portal_auditevent WHERE seq >= 4")
    result = verify_chain()
    assert not result.ok and result.checked == 3
    assert result.first_broken_id == chain[-1].id
    assert "tail was removed" in result.reason and "seq 5" in result.reason


@pytest.mark.django_db
def test_rolled_back_head_row_is_detected(chain):
    _roll_head_back_to(chain[2])
    result = verify_chain()
    assert not result.ok and "head row stops at seq 3" in result.reason


@pytest.mark.django_db
def test_truncated_tail_with_the_head_rolled_back_is_caught_by_the_checkpoint(chain, sink):
    assert audit_checkpoint().seq == 5
    _raw("DELETE FROM portal_auditevent WHERE seq >= 4")
    _roll_head_back_to(chain[2])
    assert verify_chain().ok  # a shorter chain that verifies: only the checkpoint knows better
    result = verify_checkpoint()
    assert not result.ok and result.first_broken_id == chain[-1].id
    assert "truncated after event seq 3" in result.reason and "checkpoint of" in result.reason


@pytest.mark.django_db
def test_rewritten_tail_is_caught_by_the_checkpoint(chain):
    audit_checkpoint()
    forged = AuditEvent.objects.get(pk=chain[-1].pk)
    forged.after = {"status": "rejected", "n": 4}
    forged_hash = event_hash(forged)
    _raw(
        "UPDATE portal_auditevent SET after = %s::jsonb, hash = %s WHERE id = %s",
        [json.dumps(forged.after), forged_hash, forged.id],
    )
    _raw("UPDATE portal_auditchainhead SET hash = %s", [forged_hash])
    assert verify_chain().ok  # recomputed: the chain alone cannot tell
    result = verify_checkpoint()
    assert not result.ok and "rewritten" in result.reason and "seq 5" in result.reason


@pytest.mark.django_db
def test_forged_checkpoint_line_is_detected(chain, sink, settings):
    written = audit_checkpoint()
    assert verify_checkpoint().ok
    line = json.loads(sink.read_text().splitlines()[-1])
    forged = {**line, "seq": 3, "event_id": chain[2].id, "hash": chain[2].hash}
    with sink.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    result = verify_checkpoint()
    assert not result.ok and "forged" in result.reason
    # A line signed with another key is no better.
    settings.PORTAL_AUDIT_CHECKPOINT_KEY = "not the portal's key"
    sink.write_text(written.line() + "\n")
    assert "bad signature" in verify_checkpoint().reason


@pytest.mark.django_db
def test_checkpoints_are_signed_lines_written_when_the_head_moves(chain, sink):
    assert verify_checkpoint().reason.startswith("no checkpoint written yet")
    written = audit_checkpoint()
    assert (written.seq, written.event_id, written.hash) == (5, chain[-1].id, chain[-1].hash)
    assert audit_checkpoint() is None  # the head has not moved
    audit_record(actor=None, action="request.submit")
    assert audit_checkpoint().seq == 6  # sealed first
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [5, 6]
    assert set(lines[0]) == {"seq", "event_id", "hash", "at", "sig"}
    assert lines[0]["sig"] == written.sig and len(written.sig) == 64
    result = verify_checkpoint()
    assert result.ok and "seq 6" in result.reason


@pytest.mark.django_db
def test_no_checkpoint_of_an_empty_chain(sink):
    assert audit_checkpoint() is None and not sink.exists()


@pytest.mark.django_db
def test_checkpoints_to_syslog(chain, settings):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(WAIT)
    try:
        settings.PORTAL_AUDIT_CHECKPOINT_SINK = f"syslog:127.0.0.1:{receiver.getsockname()[1]}"
        written = audit_checkpoint()
        message = receiver.recv(4096).decode()
    finally:
        receiver.close()
    assert message.startswith("<38>")  # facility auth (4), severity info (6)
    assert written.line() in message
    result = verify_checkpoint()
    assert result.ok and "--anchor" in result.reason


def test_production_requires_its_own_checkpoint_key():
    env = {**os.environ, "PORTAL_PROFILE": "production", "DJANGO_SECRET_KEY": "s" * 50}
    env.pop("PORTAL_AUDIT_CHECKPOINT_KEY", None)
    run = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0 and "PORTAL_AUDIT_CHECKPOINT_KEY must be set" in run.stderr
    assert django_settings.PORTAL_AUDIT_CHECKPOINT_KEY not in ("", django_settings.SECRET_KEY)


@pytest.mark.django_db
def test_rewritten_chain_is_caught_by_an_exported_anchor(chain):
    head = chain_head()
    assert head is not None and (head.id, head.hash) == (chain[-1].id, chain[-1].hash)
    assert verify_anchor(event_id=head.id, expected_hash=head.hash).ok
    _raw("DELETE FROM portal_auditevent WHERE id = %s", [head.id])
    _roll_head_back_to(chain[-2])
    assert verify_chain().ok  # removing the newest event leaves a valid, shorter chain
    result = verify_anchor(event_id=head.id, expected_hash=head.hash)
    assert not result.ok and result.first_broken_id == head.id


# --- Events recorded before sealing existed ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_numbers_events_chained_in_id_order():
    executor = MigrationExecutor(connection)
    executor.migrate([("portal", "0002_api_tokens_and_idempotency_keys")])
    try:
        prev = GENESIS_HASH
        for i in range(3):
            event = AuditEvent(
                occurred_at=datetime.datetime.now(tz=datetime.UTC),
                actor_name="system",
                action="request.submit",
                after={"n": i},
                prev_hash=prev,
            )
            event.hash = prev = event_hash(event)
            _raw(
                "INSERT INTO portal_auditevent (occurred_at, actor_name, action, object_type, "
                "object_id, object_repr, after, prev_hash, hash) "
                "VALUES (%s, 'system', 'request.submit', '', '', '', %s, %s, %s)",
                [event.occurred_at, json.dumps(event.after), event.prev_hash, event.hash],
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    result = verify_chain()
    assert result.ok and result.checked == 3
    assert chain_head().seq == 3 and chain_head().hash == prev
    audit_record(actor=None, action="request.approve")  # sealed on commit, onto the old chain
    assert verify_chain().checked == 4


# --- Append-only through the ORM ---------------------------------------------------------------


@pytest.mark.django_db
def test_orm_refuses_to_change_or_remove_events(chain):
    event = AuditEvent.objects.get(pk=chain[0].pk)
    event.after = {"status": "rejected"}
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(after={})
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.bulk_create([AuditEvent(action="x.y")])
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.bulk_update([event], ["after"])
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all()._append_many([AuditEvent(action="x.y", seq=6, hash="f" * 64)])
    with pytest.raises(AuditLogIsAppendOnly, match="only 0 were unsealed"):
        AuditEvent.objects.all()._seal([event])  # a sealed event is never sealed again
    assert verify_chain().ok and AuditEvent.objects.count() == 5


@pytest.mark.django_db
def test_events_are_filtered_by_the_access_layer(chain):
    audit_record(actor=None, action="portal.maintenance")  # no tenant: operators, auditors only
    region = chain[0].region
    member = UserFactory()
    services.membership_set(tenant=chain[0].tenant, user=member, role="viewer")
    assert AuditEvent.objects.restrict(member, "view").count() == 0  # not cleared, not entitled
    services.domain_access_grant(grantee=member, domain=region.domain)
    services.site_access_grant(grantee=member, site=region.site)
    stranger = UserFactory()
    auditor = make_portal_role("auditor", "audit_portal")
    # The member sees the five events of the region, not who was given which right (the
    # membership and the two grants just made), nor the maintenance event.
    assert AuditEvent.objects.restrict(member, "view").count() == 5
    assert AuditEvent.objects.restrict(stranger, "view").count() == 0
    assert AuditEvent.objects.restrict(auditor, "view").count() == 5 + 1 + 3


# --- The management command --------------------------------------------------------------------


@pytest.mark.django_db
def test_command_reports_an_intact_chain_and_its_head(chain, capsys):
    call_command("verify_audit", "--print-head")
    out = capsys.readouterr().out
    assert "Audit chain intact: 5 events (none waiting to be sealed)" in out
    assert "Audit checkpoint: no checkpoint written yet" in out
    assert f"Audit chain head: {chain[-1].id}:{chain[-1].hash}" in out
    call_command("verify_audit", "--anchor", f"{chain[-1].id}:{chain[-1].hash}")


@pytest.mark.django_db
def test_command_on_an_empty_chain(capsys):
    call_command("verify_audit", "--print-head")
    out = capsys.readouterr().out
    assert "Audit chain intact: 0 events" in out and "Audit chain is empty" in out


@pytest.mark.django_db
def test_command_seals_first_unless_told_not_to(capsys):
    for _ in range(2):
        audit_record(actor=None, action="request.submit")
    call_command("verify_audit", "--no-seal")
    assert "Audit chain intact: 0 events (2 waiting to be sealed, oldest 0 s)" in (
        capsys.readouterr().out
    )
    call_command("verify_audit")
    assert "Audit chain intact: 2 events (none waiting" in capsys.readouterr().out


@pytest.mark.django_db
def test_command_writes_a_checkpoint(chain, capsys, sink):
    call_command("verify_audit", "--checkpoint")
    assert f"Audit checkpoint written: seq 5, event #{chain[-1].id}" in capsys.readouterr().out
    call_command("verify_audit", "--checkpoint")
    out = capsys.readouterr().out
    assert "Audit checkpoint: matches the checkpoint of" in out
    assert "Audit checkpoint not written" in out
    assert len(sink.read_text().splitlines()) == 1


@pytest.mark.django_db
def test_command_fails_on_a_broken_chain(chain):
    _raw("UPDATE portal_auditevent SET actor_name = 'mallory' WHERE id = %s", [chain[1].id])
    with pytest.raises(CommandError, match=rf"Audit chain broken at event #{chain[1].id}: ") as e:
        call_command("verify_audit")
    assert e.value.returncode == 1


@pytest.mark.django_db
def test_command_fails_on_a_truncation_only_the_checkpoint_shows(chain, sink):
    call_command("verify_audit", "--checkpoint")
    _raw("DELETE FROM portal_auditevent WHERE seq = 5")
    _roll_head_back_to(chain[3])
    with pytest.raises(CommandError, match="checkpoint check failed: the chain was truncated"):
        call_command("verify_audit")
    call_command("verify_audit", "--no-checkpoint")


@pytest.mark.django_db
def test_command_fails_on_a_moved_anchor(chain):
    with pytest.raises(CommandError, match=rf"broken at event #{chain[2].id}: .*rewritten"):
        call_command("verify_audit", "--anchor", f"{chain[2].id}:{'f' * 64}")
