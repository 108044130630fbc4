"""Out of office: an approver hands their approvals to a colleague for a period, audited; the
colleague's own clearances and the four-eyes rule still hold; ending it takes back exactly what
it gave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from provisioning import services
from provisioning.models import Kind, RequestState
from provisioning.selectors import requests_awaiting
from provisioning.services import RequestNotAllowed
from tenants.delegations import delegation_create, delegation_end, delegations_apply
from tenants.models import Delegation, Role
from tests.factories import make_user, server_spec
from tests.provisioning import conftest as provisioning_fixtures

pytestmark = pytest.mark.django_db

#: The provisioning tests' small world, re-used as is.
shop = provisioning_fixtures.shop

WHY = "Needed for the exercise next week."


@pytest.fixture
def vera(shop):
    """A requester of the shop's tenant, cleared for unclassified only."""
    return make_user(
        "vera", memberships={shop.tenant: Role.REQUESTER}, domains=(shop.unclass,),
        sites=(shop.site,),
    )  # fmt: skip


def _submit(shop, user=None, *, secret=False):
    allocation, network = (shop.high, shop.high_net) if secret else (shop.low, shop.low_net)
    return services.request_submit(
        user=user or shop.requester, kind=Kind.SERVER, allocation=allocation,
        spec=server_spec(network), justification=WHY,
    )  # fmt: skip


def _hand_over(shop, vera, *, starts=-1, hours=24):
    now = timezone.now()
    return delegation_create(
        delegator=shop.approver, delegate=vera, starts_at=now + timedelta(hours=starts),
        ends_at=now + timedelta(hours=starts + hours), reason="Leave",
    )  # fmt: skip


def _awaits(user, request) -> bool:
    return requests_awaiting(user).filter(pk=request.pk).exists()


def test_the_delegate_decides_within_their_own_clearance(shop, vera):
    low, high = _submit(shop), _submit(shop, secret=True)
    assert not _awaits(vera, low)
    delegation = _hand_over(shop, vera)
    assert list(delegation.tenants.all()) == [shop.tenant]
    assert _awaits(vera, low)
    assert not _awaits(vera, high)  # not cleared for secret: a delegation never widens that
    services.request_approve(user=vera, request=low, comment="For Arno.")
    low.refresh_from_db()
    assert low.state != RequestState.PENDING_APPROVAL
    assert low.approvals.get().decided_by == vera
    assert AuditEvent.objects.filter(action="delegation.create").count() == 1


def test_four_eyes_still_holds(shop, vera):
    _hand_over(shop, vera)
    own = _submit(shop, user=vera)
    assert not _awaits(vera, own)
    with pytest.raises(RequestNotAllowed):
        services.request_approve(user=vera, request=own)


def test_ending_takes_back_what_it_gave_and_nothing_else(shop, vera):
    request = _submit(shop)
    delegation = _hand_over(shop, vera)
    assert _awaits(vera, request)
    delegation_end(delegation=delegation, actor=shop.approver)
    assert not _awaits(vera, request)
    assert Delegation.objects.get().group is None
    # Her own role is untouched: she still sees the request and may still ask for servers.
    assert services.request_submit(
        user=vera, kind=Kind.SERVER, allocation=shop.low, spec=server_spec(shop.low_net),
        justification=WHY,
    ).pk  # fmt: skip
    assert AuditEvent.objects.filter(action="delegation.end").count() == 1


def test_a_delegate_who_approves_anyway_keeps_that_right(shop):
    request = _submit(shop)
    delegation = delegation_create(
        delegator=shop.approver, delegate=shop.approver2, starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    delegation_end(delegation=delegation, actor=shop.approver)
    assert _awaits(shop.approver2, request)


def test_the_period_is_applied_by_the_sweep(shop, vera):
    request = _submit(shop)
    delegation = _hand_over(shop, vera, starts=24, hours=48)  # from tomorrow, for two days
    assert not _awaits(vera, request)
    now = timezone.now()
    assert delegations_apply(now + timedelta(hours=25)) == 1
    assert _awaits(vera, request)
    assert delegations_apply(now + timedelta(hours=26)) == 0  # nothing new
    assert delegations_apply(now + timedelta(hours=73)) == 1
    assert not _awaits(vera, request)
    delegation.refresh_from_db()
    assert delegation.group is None


def test_bad_hand_overs_are_refused_at_the_field(shop, vera):
    outsider = make_user("ozzy", domains=(shop.unclass,), sites=(shop.site,))
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        delegation_create(delegator=shop.approver, delegate=outsider, starts_at=now,
                          ends_at=now + timedelta(days=1))  # fmt: skip
    assert "delegate" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        delegation_create(delegator=shop.approver, delegate=shop.approver, starts_at=now,
                          ends_at=now + timedelta(days=1))  # fmt: skip
    assert "delegate" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        delegation_create(delegator=shop.approver, delegate=vera, starts_at=now,
                          ends_at=now - timedelta(days=1))  # fmt: skip
    assert "ends_at" in refused.value.message_dict
    _hand_over(shop, vera)
    with pytest.raises(ValidationError) as refused:
        delegation_create(delegator=shop.approver, delegate=shop.approver2, starts_at=now,
                          ends_at=now + timedelta(hours=2))  # fmt: skip
    assert "starts_at" in refused.value.message_dict
    assert Delegation.objects.count() == 1


def test_the_page_hands_over_and_the_inbox_says_for_whom(client, shop, vera):
    request = _submit(shop)
    client.force_login(shop.approver)
    page = client.get(reverse("account-delegation"))
    assert page.status_code == 200 and "vera" in page.content.decode()
    today = timezone.localdate()
    bad = client.post(reverse("account-delegation"), {
        "delegate": vera.pk, "starts_on": f"{today}", "ends_on": "not-a-date",
    })  # fmt: skip
    assert bad.status_code == 400 and 'id="id_ends_on_error"' in bad.content.decode()
    done = client.post(reverse("account-delegation"), {
        "delegate": vera.pk, "starts_on": f"{today}", "ends_on": f"{today + timedelta(days=3)}",
        "reason": "Leave",
    })  # fmt: skip
    assert done.status_code == 302
    client.force_login(vera)
    inbox = client.get(reverse("approval-inbox")).content.decode()
    assert f"request-{request.pk}" in inbox and "You decide this for" in inbox
    # Only the delegator ends it.
    delegation = Delegation.objects.get()
    assert client.post(reverse("account-delegation-end", args=[delegation.pk])).status_code == 404
    client.force_login(shop.approver)
    client.post(reverse("account-delegation-end", args=[delegation.pk]))
    delegation.refresh_from_db()
    assert delegation.ended_at is not None
    client.force_login(vera)
    assert f"request-{request.pk}" not in client.get(reverse("approval-inbox")).content.decode()


def test_the_delegate_is_told_and_reminded(shop, vera, settings):
    from portal.models import OutboxMessage, Preferences
    from provisioning import notifications
    from provisioning.models import Notification

    Preferences.objects.create(user=vera, language="fr")
    request = _submit(shop)
    delegation = _hand_over(shop, vera)
    (queued,) = OutboxMessage.objects.filter(args__0="delegation_given")
    assert queued.args[1] == delegation.pk
    assert notifications.send("delegation_given", delegation.pk, **queued.kwargs) == 1
    assert notifications.send("delegation_given", delegation.pk, **queued.kwargs) == 0  # once
    (told,) = Notification.objects.filter(user=vera)
    assert told.subject == f"{shop.approver.username} vous délègue ses approbations"
    assert told.url == reverse("account-delegation")
    # Whoever stands in is among those asked to decide, reminders included.
    assert vera in notifications.approvers_for(request)
    delegation_end(delegation=delegation, actor=shop.approver)
    assert vera not in notifications.approvers_for(request)
