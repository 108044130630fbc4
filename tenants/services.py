"""Every change to tenancy and access: memberships and the guardian grants that carry them.

Membership is the record of truth; the guardian object permissions the access layer reads are
kept in step here, and only here. Each tenant has one group per role holding that role's
permissions on the tenant, so a membership costs one user-group row, not one row per permission.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from tenants.access import (
    DOMAIN_PERMISSION,
    OFFICER_PERMISSION,
    SITE_PERMISSION,
    TENANT_PERMISSION,
    Action,
)
from tenants.models import Allocation, Membership, Role, SecurityDomain, Site, Tenant
from tenants.quotas import DIMENSION_KEYS
from tenants.signals import allocation_changed

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
def membership_set(*, tenant: Tenant, user: AbstractBaseUser, role: Role | str) -> Membership:
    """Make ``user`` a member of ``tenant`` with ``role`` (creating or changing the membership)."""
    role = Role(role)
    membership, _ = Membership.objects.select_for_update().update_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    _sync_role_groups(tenant=tenant, user=user, role=role)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """End a membership and take away every right it carried."""
    _sync_role_groups(tenant=membership.tenant, user=membership.user, role=None)
    membership.delete()


def _sync_role_groups(*, tenant: Tenant, user: AbstractBaseUser, role: Role | None) -> None:
    names = [role_group_name(tenant, r) for r in Role]
    user.groups.remove(*Group.objects.filter(name__in=names))
    if role is not None:
        user.groups.add(tenant_role_group(tenant=tenant, role=role))


@transaction.atomic
def tenant_delete(*, tenant: Tenant) -> None:
    """Delete a tenant with its memberships and role groups (allocations must be gone first)."""
    Group.objects.filter(name__in=[role_group_name(tenant, r) for r in Role]).delete()
    tenant.delete()


# --- Security-domain clearance and site entitlement -------------------------------------------

Grantee = AbstractBaseUser | Group


def domain_access_grant(*, grantee: Grantee, domain: SecurityDomain) -> None:
    assign_perm(f"tenants.{DOMAIN_PERMISSION}", grantee, domain)


def domain_access_revoke(*, grantee: Grantee, domain: SecurityDomain) -> None:
    remove_perm(f"tenants.{DOMAIN_PERMISSION}", grantee, domain)


def security_officer_grant(*, grantee: Grantee, domain: SecurityDomain) -> None:
    """Security officers decide in their domain, so they are cleared for it as well."""
    with transaction.atomic():
        domain_access_grant(grantee=grantee, domain=domain)
        assign_perm(f"tenants.{OFFICER_PERMISSION}", grantee, domain)


def security_officer_revoke(*, grantee: Grantee, domain: SecurityDomain) -> None:
    remove_perm(f"tenants.{OFFICER_PERMISSION}", grantee, domain)


def site_access_grant(*, grantee: Grantee, site: Site) -> None:
    assign_perm(f"tenants.{SITE_PERMISSION}", grantee, site)


def site_access_revoke(*, grantee: Grantee, site: Site) -> None:
    remove_perm(f"tenants.{SITE_PERMISSION}", grantee, site)


# --- Allocations ------------------------------------------------------------------------------

#: Fields whose change must reach the cloud.
CLOUD_FIELDS = ("region_id", "project_id", *DIMENSION_KEYS)


@transaction.atomic
def allocation_save(*, allocation: Allocation) -> Allocation:
    """Save an allocation (validated) and tell listeners when the cloud must follow."""
    created = allocation.pk is None
    before = (
        None
        if created
        else Allocation.objects.filter(pk=allocation.pk).values(*CLOUD_FIELDS).first()
    )
    allocation.full_clean()
    allocation.save()
    if created or before != {f: getattr(allocation, f) for f in CLOUD_FIELDS}:
        allocation_changed.send(sender=Allocation, allocation=allocation, created=created)
    return allocation
