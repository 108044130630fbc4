"""Deadlines that act: reminders before the decision target, escalation after it, each sent
once, to the right people, in their language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from portal.models import AuditEvent, OutboxMessage, Preferences
from provisioning import notifications, services
from provisioning.models import Kind, Notification
from provisioning.services.deadlines import deadlines_sweep
from tenants.models import Role
from tests.factories import make_portal_role, make_user, server_spec

pytestmark = pytest.mark.django_db

WHY = "Needed for the exercise next week."
HOUR = 3600


@pytest.fixture
def people(shop, settings):
    settings.PORTAL_SLA_DECISION_SECONDS = HOUR
    settings.PORTAL_DEADLINE_REMINDERS = (0.5, 0.9)
    settings.PORTAL_ESCALATE_TO_OPERATORS_AT = 1.5
    everything = {"domains": (shop.unclass, shop.secret), "sites": (shop.site,)}
    manager = make_user("mona", memberships={shop.tenant: Role.MANAGER}, **everything)
    manager.email = "mona@agency.example"
    manager.save()
    Preferences.objects.create(user=manager, language="fr")
    operator = make_portal_role("olga", "operate_portal")
    operator.email = "olga@agency.example"
    operator.save()
    for approver in (shop.approver, shop.approver2):
        approver.email = f"{approver.username}@agency.example"
        approver.save()
    return manager, operator


def _submit(shop, *, secret: bool = False):
    allocation, network = (shop.high, shop.high_net) if secret else (shop.low, shop.low_net)
    return services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=allocation,
        spec=server_spec(network), justification=WHY,
    )  # fmt: skip


def _deadline_messages() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(args__0__startswith="deadline_").order_by("id"))


def _deliver_all() -> dict[str, set[str]]:
    """Run every queued deadline notification, as the worker would: kind -> recipients."""
    told: dict[str, set[str]] = {}
    for message in _deadline_messages():
        kind, object_id = message.args[:2]
        notifications.send(kind, object_id, **message.kwargs)
    for n in Notification.objects.filter(event__contains=":deadline:"):
        told.setdefault(n.event.rsplit(":", 1)[1], set()).add(n.user.username)
    return told


def test_reminders_then_managers_then_operators_each_once(shop, people):
    request = _submit(shop)
    start = request.created_at
    assert deadlines_sweep(start + timedelta(minutes=29)) == 0
    assert deadlines_sweep(start + timedelta(minutes=30)) == 1  # half the target: remind
    assert deadlines_sweep(start + timedelta(minutes=31)) == 0  # taken already
    assert deadlines_sweep(start + timedelta(minutes=54)) == 1  # 90 %
    assert deadlines_sweep(start + timedelta(minutes=60)) == 1  # breached: the managers
    assert deadlines_sweep(start + timedelta(minutes=90)) == 1  # 1.5x: the operators
    assert deadlines_sweep(start + timedelta(days=3)) == 0  # nothing left to tell
    assert [m.args[0] for m in _deadline_messages()] == [
        "deadline_remind", "deadline_remind", "deadline_managers", "deadline_operators",
    ]  # fmt: skip
    told = _deliver_all()
    assert told == {
        # Whoever may decide the stage (a manager may), never the requester (four-eyes).
        "1": {"arno", "anna", "mona"},
        "2": {"arno", "anna", "mona"},
        "3": {"mona"},
        "4": {"olga"},
    }
    # Delivered twice (a redelivered task): nobody hears twice.
    sent = len(mail.outbox)
    _deliver_all()
    assert len(mail.outbox) == sent
    # In each recipient's language: the manager reads French.
    french = [m for m in mail.outbox if m.to == ["mona@agency.example"]][-1]  # the breach
    assert french.subject == (
        f"[{shop.unclass.marking}] La demande n° {request.pk} a dépassé son objectif de décision"
    )
    english = next(m for m in mail.outbox if m.to == ["olga@agency.example"])
    assert "past its decision target" in english.subject
    actions = list(
        AuditEvent.objects.filter(object_id=str(request.pk)).values_list("action", flat=True)
    )
    assert actions.count("request.reminded") == 2 and actions.count("request.escalated") == 2


def test_a_sweep_that_was_down_takes_only_the_latest_step(shop, people):
    request = _submit(shop)
    assert deadlines_sweep(request.created_at + timedelta(hours=2)) == 2
    assert [m.args[0] for m in _deadline_messages()] == ["deadline_managers", "deadline_operators"]


def test_each_stage_has_the_whole_target_and_its_own_steps(shop, people):
    request = _submit(shop, secret=True)
    start = request.created_at
    deadlines_sweep(start + timedelta(minutes=30))
    services.request_approve(user=shop.approver, request=request)
    request.refresh_from_db()
    assert request.pending_stage == "security"
    approved_at = request.approvals.get().decided_at
    # The officer's stage began at the approval: nothing due 29 minutes later.
    assert deadlines_sweep(approved_at + timedelta(minutes=29)) == 0
    assert deadlines_sweep(approved_at + timedelta(minutes=30)) == 1
    events = [m.kwargs["event"] for m in _deadline_messages()]
    assert events == [f"request:{request.pk}:deadline:tenant:1",
                      f"request:{request.pk}:deadline:security:1"]  # fmt: skip
    told = _deliver_all()
    assert "otto" in told["1"]  # the security officer, for the security stage


def test_a_domain_target_of_its_own_sets_the_pace(shop, people):
    shop.unclass.sla_decision = timedelta(hours=10)
    shop.unclass.save()
    request = _submit(shop)
    assert deadlines_sweep(request.created_at + timedelta(hours=4)) == 0
    assert deadlines_sweep(request.created_at + timedelta(hours=5)) == 1


def test_decided_requests_are_left_alone(shop, people):
    request = _submit(shop)
    deadlines_sweep(request.created_at + timedelta(minutes=30))
    services.request_reject(user=shop.approver, request=request, comment="Not this quarter.")
    assert deadlines_sweep(request.created_at + timedelta(hours=5)) == 0
    # The reminder queued before the decision finds it decided and tells nobody.
    assert _deliver_all() == {}


def test_the_sweep_reads_a_bounded_number_of_queries(shop, people, django_assert_max_num_queries):
    for _ in range(5):
        _submit(shop)
    with django_assert_max_num_queries(3):  # the domains' targets, the waiting requests
        deadlines_sweep()  # none due yet: nothing read row by row
