"""Every change to tenancy and access: memberships and the guardian grants that carry them.

Membership is the record of truth; the guardian object permissions the access layer reads are
kept in step here, and only here. Each tenant has one group per role holding that role's
permissions on the tenant, so a membership costs one user-group row, not one row per permission.

Who was given or lost which right is what an accreditor asks first, so every change here is
written to the audit log in the same transaction, with the person who made it (``actor``; None
for the system, e.g. the demo seed).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import models, transaction
from guardian.shortcuts import assign_perm, get_group_perms, get_user_perms, remove_perm

from portal.audit import audit_record
from tenants.access import (
    DOMAIN_PERMISSION,
    OFFICER_PERMISSION,
    SITE_PERMISSION,
    TENANT_PERMISSION,
    Action,
)
from tenants.models import Allocation, Membership, Role, SecurityDomain, Site, Tenant
from tenants.quotas import DIMENSION_KEYS
from tenants.rollup import usage_rollup_refresh_on_commit
from tenants.signals import allocation_changed

#: Who makes a change: a person, or None for the system.
Actor = AbstractBaseUser | None

#: The tenant permissions of each role (cumulative: each role includes the ones before it).
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: (TENANT_PERMISSION[Action.VIEW],),
    Role.REQUESTER: (TENANT_PERMISSION[Action.VIEW], TENANT_PERMISSION[Action.REQUEST]),
    Role.APPROVER: (
        TENANT_PERMISSION[Action.VIEW],
        TENANT_PERMISSION[Action.REQUEST],
        TENANT_PERMISSION[Action.APPROVE],
    ),
    Role.MANAGER: tuple(TENANT_PERMISSION.values()),
}


def role_group_name(tenant: Tenant, role: Role | str) -> str:
    return f"tenant:{tenant.pk}:{Role(role).value}"


def tenant_role_group(*, tenant: Tenant, role: Role | str) -> Group:
    """The group that holds ``role``'s permissions on ``tenant``, created on first use."""
    role = Role(role)
    group, created = Group.objects.get_or_create(name=role_group_name(tenant, role))
    if created:
        for codename in ROLE_PERMISSIONS[role]:
            assign_perm(f"tenants.{codename}", group, tenant)
    return group


@transaction.atomic
def membership_set(
    *, tenant: Tenant, user: AbstractBaseUser, role: Role | str, actor: Actor = None
) -> Membership:
    """Make ``user`` a member of ``tenant`` with ``role`` (creating or changing the membership)."""
    role = Role(role)
    membership = (
        Membership.objects.select_for_update(of=("self",), no_key=True)
        .filter(tenant=tenant, user=user)
        .first()
    )
    before = membership.role if membership else None
    if membership is None:
        membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    elif before != role:
        membership.role = role
        membership.save(update_fields=["role"])
    _sync_role_groups(tenant=tenant, user=user, role=role)
    if before != role:
        audit_record(
            actor=actor, action="membership.set", obj=membership, tenant=tenant,
            before=None if before is None else {"user": user.get_username(), "role": before},
            after={"user": user.get_username(), "role": role.value},
        )  # fmt: skip
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor = None) -> None:
    """End a membership and take away every right it carried."""
    _sync_role_groups(tenant=membership.tenant, user=membership.user, role=None)
    audit_record(
        actor=actor, action="membership.remove", obj=membership, tenant=membership.tenant,
        before={"user": membership.user.get_username(), "role": membership.role},
    )  # fmt: skip
    membership.delete()


def _sync_role_groups(*, tenant: Tenant, user: AbstractBaseUser, role: Role | None) -> None:
    names = [role_group_name(tenant, r) for r in Role]
    user.groups.remove(*Group.objects.filter(name__in=names))
    if role is not None:
        user.groups.add(tenant_role_group(tenant=tenant, role=role))


@transaction.atomic
def tenant_delete(*, tenant: Tenant, actor: Actor = None) -> None:
    """Delete a tenant with its memberships and role groups (allocations must be gone first)."""
    members = list(
        tenant.memberships.values_list("user__username", "role").order_by("user__username")
    )
    Group.objects.filter(name__in=[role_group_name(tenant, r) for r in Role]).delete()
    audit_record(
        actor=actor, action="tenant.delete", obj=tenant,
        before={"name": tenant.name, "slug": tenant.slug, "members": members},
    )  # fmt: skip
    tenant.delete()


# --- Security-domain clearance and site entitlement -------------------------------------------

Grantee = AbstractBaseUser | Group


def grantee_label(grantee: Grantee) -> str:
    """``user:alice`` or ``group:analysts``: how the audit log names who holds a right."""
    if isinstance(grantee, Group):
        return f"group:{grantee.name}"
    return f"user:{grantee.get_username()}"


@transaction.atomic
def object_permissions_change(
    *,
    grantee: Grantee,
    obj: models.Model,
    grant: Iterable[str] = (),
    revoke: Iterable[str] = (),
    actor: Actor = None,
) -> set[str]:
    """Give and take away permissions (codenames) on one object, and audit what changed.

    Every clearance and entitlement goes through here, the admin's object-permission pages
    included, so the log shows each change once, with its before and after. Returns the
    permissions ``grantee`` holds directly on ``obj`` afterwards (not those through groups).
    """
    grant, revoke = set(grant), set(revoke)
    if grant & revoke:
        raise ValueError(f"Both granted and revoked: {sorted(grant & revoke)}")
    if isinstance(obj, SecurityDomain):
        # An officer decides on what they see, so is always cleared: the officer right brings
        # the clearance, and taking the clearance (alone) takes the officer right.
        if OFFICER_PERMISSION in grant:
            grant.add(DOMAIN_PERMISSION)
            revoke.discard(DOMAIN_PERMISSION)
        elif DOMAIN_PERMISSION in revoke:
            revoke.add(OFFICER_PERMISSION)
    held_now = get_group_perms if isinstance(grantee, Group) else get_user_perms
    before = set(held_now(grantee, obj))
    app = obj._meta.app_label
    for codename in sorted(revoke & before):
        remove_perm(f"{app}.{codename}", grantee, obj)
    for codename in sorted(grant - before):
        assign_perm(f"{app}.{codename}", grantee, obj)
    after = (before - revoke) | grant
    if after != before:
        who = grantee_label(grantee)
        audit_record(
            actor=actor, action="access.change", obj=obj,
            before={"grantee": who, "permissions": sorted(before)},
            after={"grantee": who, "permissions": sorted(after)},
        )  # fmt: skip
    return after


def domain_access_grant(*, grantee: Grantee, domain: SecurityDomain, actor: Actor = None) -> None:
    object_permissions_change(grantee=grantee, obj=domain, grant={DOMAIN_PERMISSION}, actor=actor)


def domain_access_revoke(*, grantee: Grantee, domain: SecurityDomain, actor: Actor = None) -> None:
    """Without clearance nobody may oversee a domain either: the officer right goes too."""
    object_permissions_change(grantee=grantee, obj=domain, revoke={DOMAIN_PERMISSION}, actor=actor)


def security_officer_grant(
    *, grantee: Grantee, domain: SecurityDomain, actor: Actor = None
) -> None:
    """Security officers decide in their domain, so they are cleared for it as well."""
    object_permissions_change(grantee=grantee, obj=domain, grant={OFFICER_PERMISSION}, actor=actor)


def security_officer_revoke(
    *, grantee: Grantee, domain: SecurityDomain, actor: Actor = None
) -> None:
    object_permissions_change(grantee=grantee, obj=domain, revoke={OFFICER_PERMISSION}, actor=actor)


def site_access_grant(*, grantee: Grantee, site: Site, actor: Actor = None) -> None:
    object_permissions_change(grantee=grantee, obj=site, grant={SITE_PERMISSION}, actor=actor)


def site_access_revoke(*, grantee: Grantee, site: Site, actor: Actor = None) -> None:
    object_permissions_change(grantee=grantee, obj=site, revoke={SITE_PERMISSION}, actor=actor)


# --- Portal-wide roles: operator and auditor ------------------------------------------------

#: The group that carries each portal-wide role.
PORTAL_ROLE_GROUPS = {"operator": "Operators", "auditor": "Auditors"}
#: Operators also get the admin pages of these apps.
ADMIN_APPS = ["tenants", "provisioning", "django_celery_beat"]


def portal_role_group(role: str) -> Group:
    """The group holding ``role`` (``operator`` or ``auditor``), created on first use."""
    group, created = Group.objects.get_or_create(name=PORTAL_ROLE_GROUPS[role])
    if created:
        codename = {"operator": "operate_portal", "auditor": "audit_portal"}[role]
        perms = Permission.objects.filter(content_type__app_label="tenants", codename=codename)
        if role == "operator":
            perms |= Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
        group.permissions.add(*perms)
    return group


def portal_role_holds(user: AbstractBaseUser, role: str) -> bool:
    return user.groups.filter(name=PORTAL_ROLE_GROUPS[role]).exists()


@transaction.atomic
def portal_role_grant(*, user: AbstractBaseUser, role: str, actor: Actor = None) -> None:
    """Make ``user`` an operator (with the admin) or an auditor."""
    if portal_role_holds(user, role):
        return
    user.groups.add(portal_role_group(role))
    if role == "operator" and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    audit_record(
        actor=actor, action="role.grant", obj=user,
        after={"user": user.get_username(), "role": role},
    )  # fmt: skip


@transaction.atomic
def portal_role_revoke(*, user: AbstractBaseUser, role: str, actor: Actor = None) -> None:
    if not portal_role_holds(user, role):
        return
    user.groups.remove(portal_role_group(role))
    if role == "operator" and user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])
    audit_record(
        actor=actor, action="role.revoke", obj=user,
        before={"user": user.get_username(), "role": role},
    )  # fmt: skip


# --- Allocations ------------------------------------------------------------------------------

#: Fields whose change must reach the cloud.
CLOUD_FIELDS = ("region_id", "project_id", *DIMENSION_KEYS)


@transaction.atomic
def allocation_save(*, allocation: Allocation, actor: Actor = None) -> Allocation:
    """Save an allocation (validated) and tell listeners when the cloud must follow."""
    created = allocation.pk is None
    before = (
        None
        if created
        else Allocation.objects.filter(pk=allocation.pk).values(*CLOUD_FIELDS).first()
    )
    allocation.full_clean()
    allocation.save()
    usage_rollup_refresh_on_commit(allocation.pk)  # a new row, or quotas that moved "fullest"
    after = {f: getattr(allocation, f) for f in CLOUD_FIELDS}
    if created or before != after:
        audit_record(
            actor=actor, action="allocation.create" if created else "allocation.change",
            obj=allocation, before=before, after=after,
            tenant=allocation.tenant, region=allocation.region,
        )  # fmt: skip
        allocation_changed.send(sender=Allocation, allocation=allocation, created=created)
    return allocation


@transaction.atomic
def allocation_delete(*, allocation: Allocation, actor: Actor = None) -> None:
    """Delete an allocation nothing was requested in or built from.

    Requests and resources protect their allocation (``ProtectedError``), so capacity with a
    history is reduced to zero instead. The cloud project is left in place: deleting a project
    is an operator's decision in the cloud itself.
    """
    audit_record(
        actor=actor, action="allocation.delete", obj=allocation,
        before={f: getattr(allocation, f) for f in CLOUD_FIELDS},
        tenant=allocation.tenant, region=allocation.region,
    )  # fmt: skip
    allocation.delete()
