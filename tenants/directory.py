"""Directory groups to portal rights: applied at each sign-in and by the periodic sync.

The directory is the source of truth for what its rules give, and for nothing else:

- a right a rule gives is granted through ``tenants.services`` (so it is audited like any
  other change of a right) and recorded as the directory's (``DirectoryGrant``);
- when the person leaves the group, or the rule goes, the directory takes back what it gave;
- a right the person already held by hand is left alone, and stays theirs when the group goes;
- a person the directory no longer knows loses every right it gave, is disabled, and their API
  tokens are revoked (``directory_account_remove``); if the directory knows them again later
  (a sign-in, a sync), they are enabled again and get the rights their groups give.

The callers (``portal.sso``) work out who the person is and which groups they are in; this
module never talks to a directory.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from guardian.shortcuts import get_user_perms

from portal.audit import audit_record
from tenants import services
from tenants.access import DOMAIN_PERMISSION, OFFICER_PERMISSION, SITE_PERMISSION
from tenants.models import Membership, Role, SecurityDomain, Site, Tenant
from tenants.models.directory import (
    DirectoryAccount,
    DirectoryGrant,
    DirectoryRule,
    DirectorySource,
    Right,
)

#: ``{right key: role}`` (the role only for memberships), e.g. ``{"membership:3": "requester",
#: "clearance:1": "", "operator": ""}``.
Rights = dict[str, str]


class DirectoryConflict(Exception):
    """The name belongs to an account of another kind (local, or the other sign-in)."""


def right_key(rule: DirectoryRule) -> str:
    target = rule.tenant_id or rule.domain_id or rule.site_id
    return f"{rule.right}:{target}" if target else rule.right


def rights_for_groups(source: str, groups: Iterable[str]) -> Rights:
    """What the rules give to someone in ``groups`` (names or DNs, compared without case).

    Several rules on one tenant give the highest of their roles; a security officer is
    cleared for the domain too, as everywhere in the portal.
    """
    names = sorted({g.strip().lower() for g in groups if g and g.strip()})
    if not names:
        return {}
    rules = (
        DirectoryRule.objects.annotate(group_lower=Lower("group"))
        .filter(Q(source="") | Q(source=source), group_lower__in=names)
        .only("right", "role", "tenant_id", "domain_id", "site_id")
    )
    wanted: Rights = {}
    for rule in rules:
        key = right_key(rule)
        if rule.right == Right.MEMBERSHIP:
            held = wanted.get(key)
            if held is None or Role(rule.role).rank > Role(held).rank:
                wanted[key] = rule.role
        else:
            wanted[key] = ""
            if rule.right == Right.OFFICER:
                wanted[f"{Right.CLEARANCE}:{rule.domain_id}"] = ""
    return wanted


def directory_account_for(
    *, source: str, subject: str, username: str, defaults: dict | None = None
) -> DirectoryAccount:
    """The account of this directory identity, creating its user at the first sign-in.

    A user name already held by a local account or by the other kind of sign-in is refused
    (``DirectoryConflict``) rather than taken over: an operator hands such an account to the
    directory in the admin (a directory account for that user) if that is what is meant.
    """
    account = (
        DirectoryAccount.objects.select_related("user")
        .filter(source=source, subject=subject)
        .first()
    )
    if account is not None:
        return account
    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is not None:
        linked = DirectoryAccount.objects.filter(user=user).first()
        if linked is None or linked.source != source:
            raise DirectoryConflict(
                f"The user name {username!r} belongs to another account; an operator can hand "
                "it over to the directory."
            )
        # The same person with a new DN (moved in the tree): follow them.
        linked.subject = subject
        linked.save(update_fields=["subject"])
        return linked
    with transaction.atomic():
        user = user_model(**{user_model.USERNAME_FIELD: username}, **(defaults or {}))
        user.set_unusable_password()
        user.save()
        account = DirectoryAccount.objects.create(user=user, source=source, subject=subject)
        audit_record(
            actor=None, action="directory.account", obj=account, object_repr=username,
            after={"user": username, "source": source, "subject": subject},
        )  # fmt: skip
    return account


@transaction.atomic
def directory_rights_apply(
    *, account: DirectoryAccount, groups: Iterable[str], profile: dict | None = None
) -> DirectoryAccount:
    """Bring ``account``'s rights in line with its groups, as the directory sees them now.

    Called at each sign-in and by the sync. Enables a person the directory had stopped
    knowing; refreshes name and e-mail (``profile``) when the directory's differ.
    """
    account = (
        DirectoryAccount.objects.select_for_update(of=("self",), no_key=True)
        .select_related("user")
        .get(pk=account.pk)
    )
    user = account.user
    groups = sorted({g for g in groups if g})
    if account.removed_at is not None:
        account.removed_at = None
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(
            actor=None, action="directory.restore", obj=account, object_repr=str(user),
            after={"user": user.get_username()},
        )  # fmt: skip
    changed = [f for f, v in (profile or {}).items() if getattr(user, f) != v]
    if changed:
        for field in changed:
            setattr(user, field, profile[field])
        user.save(update_fields=changed)
    if groups != account.groups:
        audit_record(
            actor=None, action="directory.groups", obj=account, object_repr=str(user),
            before={"user": user.get_username(), "groups": account.groups},
            after={"user": user.get_username(), "groups": groups},
        )  # fmt: skip
        account.groups = groups
    account.synced_at = timezone.now()
    account.save(update_fields=["groups", "synced_at", "removed_at"])
    _rights_set(account, rights_for_groups(account.source, groups))
    return account


@transaction.atomic
def directory_account_remove(*, account: DirectoryAccount, why: str) -> None:
    """The directory no longer knows this person: take back its rights, disable the user and
    revoke their API tokens. Rights given by hand stay (a disabled user uses none of them)."""
    from portal.tokens import tokens_revoke_all

    account = DirectoryAccount.objects.select_for_update(of=("self",), no_key=True).get(
        pk=account.pk
    )
    if account.removed_at is not None:
        return
    user = account.user
    _rights_set(account, {})
    account.removed_at = timezone.now()
    account.synced_at = account.removed_at
    account.save(update_fields=["removed_at", "synced_at"])
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = tokens_revoke_all(user=user, actor=None)
    audit_record(
        actor=None, action="directory.remove", obj=account, object_repr=str(user),
        before={"user": user.get_username(), "groups": account.groups},
        after={"why": why, "tokens_revoked": revoked},
    )  # fmt: skip


def _rights_set(account: DirectoryAccount, wanted: Rights) -> None:
    user = account.user
    grants = {g.right: g for g in account.grants.all()}
    # Clearance last: taking it takes the officer right too.
    for key in sorted(set(grants) - set(wanted), key=lambda k: k.startswith(Right.CLEARANCE)):
        _take(user, key, grants[key].role)
        grants.pop(key).delete()
    for key, role in sorted(wanted.items()):
        grant = grants.get(key)
        if grant is None:
            if _held_by_hand(user, key):
                continue
            _give(user, key, role)
            DirectoryGrant.objects.create(account=account, right=key, role=role)
        elif grant.role != role:
            _give(user, key, role)
            grant.role = role
            grant.save(update_fields=["role"])


def _split(key: str) -> tuple[str, int | None]:
    right, _, target = key.partition(":")
    return right, int(target) if target else None


def _held_by_hand(user: AbstractBaseUser, key: str) -> bool:
    right, target = _split(key)
    if right == Right.MEMBERSHIP:
        return Membership.objects.filter(tenant_id=target, user=user).exists()
    if right in (Right.OPERATOR, Right.AUDITOR):
        return services.portal_role_holds(user, right)
    if right == Right.SITE:
        return SITE_PERMISSION in get_user_perms(user, Site(pk=target))
    permission = DOMAIN_PERMISSION if right == Right.CLEARANCE else OFFICER_PERMISSION
    return permission in get_user_perms(user, SecurityDomain(pk=target))


def _give(user: AbstractBaseUser, key: str, role: str) -> None:
    right, target = _split(key)
    if right == Right.MEMBERSHIP:
        services.membership_set(tenant=Tenant.objects.get(pk=target), user=user, role=role)
    elif right in (Right.OPERATOR, Right.AUDITOR):
        services.portal_role_grant(user=user, role=right)
    elif right == Right.SITE:
        services.site_access_grant(grantee=user, site=Site.objects.get(pk=target))
    elif right == Right.CLEARANCE:
        services.domain_access_grant(grantee=user, domain=SecurityDomain.objects.get(pk=target))
    else:
        services.security_officer_grant(grantee=user, domain=SecurityDomain.objects.get(pk=target))


def _take(user: AbstractBaseUser, key: str, role: str) -> None:
    right, target = _split(key)
    if right == Right.MEMBERSHIP:
        membership = Membership.objects.filter(tenant_id=target, user=user).first()
        if membership is not None:
            services.membership_remove(membership=membership)
    elif right in (Right.OPERATOR, Right.AUDITOR):
        services.portal_role_revoke(user=user, role=right)
    elif right == Right.SITE:
        site = Site.objects.filter(pk=target).first()
        if site is not None:
            services.site_access_revoke(grantee=user, site=site)
    else:
        domain = SecurityDomain.objects.filter(pk=target).first()
        if domain is None:
            return
        if right == Right.CLEARANCE:
            services.domain_access_revoke(grantee=user, domain=domain)
        else:
            services.security_officer_revoke(grantee=user, domain=domain)


__all__ = [
    "DirectoryConflict",
    "DirectorySource",
    "directory_account_for",
    "directory_account_remove",
    "directory_rights_apply",
    "rights_for_groups",
]
