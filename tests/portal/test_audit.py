"""The audit chain: recording, tamper detection, append-only refusals, the command, concurrency."""

from __future__ import annotations

import datetime
import itertools
import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from portal.audit import (
    CHAIN_LOCK_KEY,
    audit_record,
    chain_head,
    event_hash,
    verify_anchor,
    verify_chain,
)
from portal.models import GENESIS_HASH, AuditEvent, AuditLogIsAppendOnly
from tenants import services
from tests.factories import CloudRegionFactory, TenantFactory, UserFactory, make_portal_role


def _raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def chain(db) -> list[AuditEvent]:
    """Five events by a user and by the system, on a tenant and a region."""
    user = UserFactory(username="alice")
    tenant = TenantFactory()
    region = CloudRegionFactory()
    return [
        audit_record(
            actor=user if i % 2 else None,
            action="request.approve",
            obj=tenant,
            before={"status": "submitted", "n": i},
            after={"status": "approved", "n": i},
            tenant=tenant,
            region=region,
        )
        for i in range(5)
    ]


# --- Recording ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_chain_from_genesis_and_verify(chain):
    assert chain[0].prev_hash == GENESIS_HASH
    for previous, event in itertools.pairwise(chain):
        assert event.prev_hash == previous.hash
        assert event.id > previous.id
        assert event.occurred_at >= previous.occurred_at
    assert verify_chain() == verify_chain(batch_size=2)
    result = verify_chain(batch_size=2)
    assert result.ok and result.checked == 5 and result.first_broken_id is None


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
    assert audit_record(actor=None, action="request.submit").prev_hash == GENESIS_HASH


# --- Deletions of what events point at ---------------------------------------------------------


@pytest.mark.django_db
def test_deleting_the_actor_tenant_and_region_keeps_the_chain_valid(chain):
    tenant, region = chain[0].tenant, chain[0].region
    chain[1].actor.delete()
    services.tenant_delete(tenant=tenant)
    region.delete()
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
    assert f"event #{chain[1].id}" in result.reason and "removed" in result.reason


@pytest.mark.django_db
def test_reordered_rows_are_detected(chain):
    # Swap the ids of two events: each keeps its content hash, the links break.
    a, b = chain[1].id, chain[2].id
    _raw("UPDATE portal_auditevent SET id = -1 WHERE id = %s", [a])
    _raw("UPDATE portal_auditevent SET id = %s WHERE id = %s", [a, b])
    _raw("UPDATE portal_auditevent SET id = %s WHERE id = -1", [b])
    result = verify_chain()
    assert not result.ok and result.first_broken_id == a


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
def test_rewritten_chain_is_caught_by_an_exported_anchor(chain):
    head = chain_head()
    assert head is not None and (head.id, head.hash) == (chain[-1].id, chain[-1].hash)
    assert verify_anchor(event_id=head.id, expected_hash=head.hash).ok
    _raw("DELETE FROM portal_auditevent WHERE id = %s", [head.id])
    assert verify_chain().ok  # removing the newest event leaves a valid, shorter chain
    result = verify_anchor(event_id=head.id, expected_hash=head.hash)
    assert not result.ok and result.first_broken_id == head.id


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
    assert "Audit chain intact: 5 events" in out
    assert f"Audit chain head: {chain[-1].id}:{chain[-1].hash}" in out
    call_command("verify_audit", "--anchor", f"{chain[-1].id}:{chain[-1].hash}")


@pytest.mark.django_db
def test_command_on_an_empty_chain(capsys):
    call_command("verify_audit", "--print-head")
    out = capsys.readouterr().out
    assert "Audit chain intact: 0 events" in out and "Audit chain is empty" in out


@pytest.mark.django_db
def test_command_fails_on_a_broken_chain(chain):
    _raw("UPDATE portal_auditevent SET actor_name = 'mallory' WHERE id = %s", [chain[1].id])
    with pytest.raises(CommandError, match=rf"Audit chain broken at event #{chain[1].id}: "):
        call_command("verify_audit")


@pytest.mark.django_db
def test_command_fails_on_a_moved_anchor(chain):
    with pytest.raises(CommandError, match=rf"broken at event #{chain[2].id}: .*rewritten"):
        call_command("verify_audit", "--anchor", f"{chain[2].id}:{'f' * 64}")


# --- Concurrency -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_chain():
    threads_count, per_thread = 8, 10
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                audit_record(actor=None, action="request.provision", after={"w": worker, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prev_hashes) == threads_count * per_thread
    assert len(set(prev_hashes)) == len(prev_hashes)
    result = verify_chain(batch_size=7)
    assert result.ok and result.checked == threads_count * per_thread


@pytest.mark.django_db(transaction=True)
def test_append_waits_for_the_chain_lock():
    """While another transaction holds the chain lock, an append waits instead of forking."""
    audit_record(actor=None, action="request.submit")
    held, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
                held.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert held.wait(10)
    done = threading.Event()

    def append() -> None:
        try:
            audit_record(actor=None, action="request.approve")
            done.set()
        finally:
            connection.close()

    appender = threading.Thread(target=append)
    appender.start()
    assert not done.wait(0.5)  # blocked behind the holder
    release.set()
    holder.join()
    appender.join()
    assert done.is_set() and verify_chain().ok
