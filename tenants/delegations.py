"""Delegating one's approvals while away (out of office), for a period, audited.

A delegation in effect is a group of its own holding ``tenant_approve`` on the tenants it
covers, with the delegate as its one member: the access layer then lets the delegate decide
the tenant stage of those tenants' requests exactly as it lets an approver, within the
delegate's own site entitlements and clearances (a delegation never widens those), and the
four-eyes rule still applies (nobody decides their own request). Ending it deletes the group,
which takes away what it gave and nothing the delegate holds by their own role.

It covers the tenants where the delegator approves or manages and the delegate is a member:
someone outside a tenant cannot be made to decide in it. The security officer's stage is not
delegable: officers are named per domain by the agency.

Periods are applied by beat (``delegations_apply``, every minute) and at once when a delegation
is created or ended inside its period.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from portal.audit import audit_record
from portal.outbox import enqueue
from tenants import access_memory
from tenants.access import TENANT_PERMISSION, Action
from tenants.models import Delegation, Membership, Role, Tenant

#: Roles whose approvals can be handed on.
DELEGATING_ROLES = (Role.APPROVER, Role.MANAGER)


def delegable_tenants(delegator: AbstractBaseUser, delegate: AbstractBaseUser) -> QuerySet[Tenant]:
    """Tenants where ``delegator`` approves or manages and ``delegate`` is a member."""
    return (
        Tenant.objects.filter(memberships__user=delegator, memberships__role__in=DELEGATING_ROLES)
        .filter(memberships__user=delegate)
        .distinct()
    )


def delegate_candidates(delegator: AbstractBaseUser) -> QuerySet:
    """People ``delegator`` may hand approvals to: active members of a tenant they approve in."""
    from django.contrib.auth import get_user_model

    approving = Membership.objects.filter(user=delegator, role__in=DELEGATING_ROLES).values(
        "tenant"
    )
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__tenant__in=approving)
        .exclude(pk=delegator.pk)
        .distinct()
        .order_by("username")
    )


@transaction.atomic
def delegation_create(
    *,
    delegator: AbstractBaseUser,
    delegate: AbstractBaseUser,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> Delegation:
    """Hand ``delegator``'s approvals to ``delegate`` for [starts_at, ends_at)."""
    errors: dict[str, list[str]] = {}
    if delegate.pk == delegator.pk:
        errors["delegate"] = [_("Choose someone else: you cannot stand in for yourself.")]
    elif not delegate.is_active:
        errors["delegate"] = [_("This person's account is not active.")]
    elif not delegable_tenants(delegator, delegate).exists():
        errors["delegate"] = [
            _("Choose a member of a tenant where you approve: nobody else may decide there.")
        ]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The end must come after the start.")]
    elif ends_at <= timezone.now():
        errors["ends_at"] = [_("The end is in the past.")]
    overlapping = Delegation.objects.filter(
        delegator=delegator, ended_at=None, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if not errors and overlapping.exists():
        errors["starts_at"] = [
            _("You already hand your approvals on in this period; end that first.")
        ]
    if errors:
        raise ValidationError(errors)
    delegation = Delegation.objects.create(
        delegator=delegator, delegate=delegate, starts_at=starts_at, ends_at=ends_at,
        reason=reason.strip(),
    )  # fmt: skip
    audit_record(
        actor=delegator, action="delegation.create", obj=delegation,
        after={"delegate": delegate.get_username(), "starts_at": starts_at.isoformat(),
               "ends_at": ends_at.isoformat(), "reason": delegation.reason},
    )  # fmt: skip
    _apply(delegation, timezone.now())
    # The delegate hears of it (bell and e-mail, in their language): by name, after commit.
    enqueue("provisioning.tasks.notify", "delegation_given", delegation.pk,
            event=f"delegation:{delegation.pk}:given")  # fmt: skip
    return delegation


@transaction.atomic
def delegation_end(*, delegation: Delegation, actor: AbstractBaseUser | None) -> Delegation:
    """End a delegation now (back early, or changed one's mind); ended ones stay on record."""
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    if delegation.ended_at is None and delegation.ends_at > timezone.now():
        delegation.ended_at = timezone.now()
        delegation.save(update_fields=["ended_at"])
        audit_record(
            actor=actor, action="delegation.end", obj=delegation,
            after={"delegate": delegation.delegate.get_username()},
        )  # fmt: skip
    _apply(delegation, timezone.now())
    return delegation


def delegations_apply(now: datetime | None = None) -> int:
    """Give effect to delegations whose period began, and take it from those that ended;
    returns how many changed."""
    now = now or timezone.now()
    starting = Delegation.objects.filter(
        group=None, ended_at=None, starts_at__lte=now, ends_at__gt=now
    )
    stopping = Delegation.objects.exclude(group=None).filter(
        Q(ended_at__isnull=False) | Q(ends_at__lte=now) | Q(starts_at__gt=now)
    )
    changed = 0
    for delegation in [*starting, *stopping]:
        with transaction.atomic():
            fresh = Delegation.objects.select_for_update().get(pk=delegation.pk)
            changed += _apply(fresh, now)
    return changed


def _apply(delegation: Delegation, now: datetime) -> int:
    """Make the grant group match the period: 1 if it changed, else 0."""
    if delegation.in_effect_at(now) and delegation.group_id is None:
        tenants = list(delegable_tenants(delegation.delegator, delegation.delegate))
        group = Group.objects.create(name=f"delegation:{delegation.pk}")
        for tenant in tenants:
            assign_perm(f"tenants.{TENANT_PERMISSION[Action.APPROVE]}", group, tenant)
        delegation.delegate.groups.add(group)
        delegation.group = group
        delegation.save(update_fields=["group"])
        delegation.tenants.set(tenants)
        return 1
    if not delegation.in_effect_at(now) and delegation.group_id is not None:
        group = delegation.group
        delegation.group = None
        delegation.save(update_fields=["group"])
        group.delete()  # its object permissions and membership go with it
        return 1
    return 0


def delegations_to(user: AbstractBaseUser, now: datetime | None = None) -> list[Delegation]:
    """Delegations ``user`` holds now, with their tenants: what the inbox marks as theirs to
    decide for someone else.

    Those that grant (they have their group) are remembered at the access generation, which
    every save of a delegation, its tenants or its group bumps (``tenants.apps``); the period
    is checked here at each call, as time passes without anything written.
    """
    now = now or timezone.now()
    granting = access_memory.recall(
        ("delegations-to", user.pk), access_memory.generation_for(user), lambda: _granting(user)
    )
    return [d for d in granting if d.starts_at <= now < d.ends_at]


def _granting(user: AbstractBaseUser) -> list[Delegation]:
    return list(
        Delegation.objects.filter(delegate=user, ended_at=None)
        .exclude(group=None)
        .select_related("delegator")
        .prefetch_related("tenants")
    )


def standing_in(user: AbstractBaseUser, now: datetime | None = None) -> dict[int, Delegation]:
    """Tenant id -> the delegation through which ``user`` decides there for someone else (not
    where they approve by their own role): what the inbox marks. No query beyond one when
    ``user`` holds no delegation."""
    held = delegations_to(user, now)
    if not held:
        return {}
    own = set(
        Membership.objects.filter(user=user, role__in=DELEGATING_ROLES).values_list(
            "tenant_id", flat=True
        )
    )
    return {t.pk: d for d in held for t in d.tenants.all() if t.pk not in own}
