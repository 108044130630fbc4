"""Directory groups to rights (``tenants.directory``): what the rules give, what stays by hand,
what the directory takes back, and the audit trail of each change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.models import AuditEvent
from portal.tokens import token_create
from tenants import services
from tenants.access import is_auditor, is_operator
from tenants.directory import (
    DirectoryConflict,
    directory_account_for,
    directory_account_remove,
    directory_rights_apply,
    rights_for_groups,
)
from tenants.models import DirectoryRule, Membership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(world):
    unclass, secret = world.domains
    mons, _oeiras = world.sites
    made = [
        DirectoryRule(group="Blue-Requesters", right="membership", tenant=world.tenant,
                      role="requester"),
        DirectoryRule(group="blue-approvers", right="membership", tenant=world.tenant,
                      role="approver"),
        DirectoryRule(group="cleared-unclass", right="clearance", domain=unclass),
        DirectoryRule(group="secret-officers", right="officer", domain=secret),
        DirectoryRule(group="site-mons", right="site", site=mons),
        DirectoryRule(group="portal-operators", right="operator"),
        DirectoryRule(group="portal-auditors", right="auditor", source="oidc"),
    ]  # fmt: skip
    for rule in made:
        rule.full_clean()
        rule.save()
    return made


def _account(username="lena", source="ldap"):
    return directory_account_for(source=source, subject=f"uid={username},ou=people",
                                 username=username)  # fmt: skip


def test_groups_give_the_highest_role_and_an_officer_is_cleared(world, rules):
    _unclass, secret = world.domains
    wanted = rights_for_groups("ldap", ["blue-requesters", "BLUE-APPROVERS", "secret-officers",
                                        "portal-auditors", "unknown"])  # fmt: skip
    assert wanted == {
        f"membership:{world.tenant.pk}": "approver",
        f"officer:{secret.pk}": "",
        f"clearance:{secret.pk}": "",
    }  # the auditors' rule is for OpenID Connect sign-ins only
    assert "auditor" in rights_for_groups("oidc", ["portal-auditors"])


def test_a_rule_names_exactly_the_target_its_right_needs(world):
    with pytest.raises(ValidationError) as raised:
        DirectoryRule(group="g", right="membership", site=world.sites[0]).full_clean()
    assert set(raised.value.message_dict) == {"tenant", "site", "role"}
    with pytest.raises(ValidationError) as raised:
        DirectoryRule(group="g", right="operator", role="viewer").full_clean()
    assert set(raised.value.message_dict) == {"role"}


def test_applying_groups_grants_through_the_services_and_audits(world, rules):
    account = _account()
    user = account.user
    assert not user.has_usable_password()
    directory_rights_apply(account=account, groups=["blue-requesters", "cleared-unclass",
                                                    "site-mons", "portal-operators"])  # fmt: skip
    user.refresh_from_db()
    assert Membership.objects.get(tenant=world.tenant, user=user).role == "requester"
    assert user.has_perm("tenants.access_domain", world.domains[0])
    assert user.has_perm("tenants.access_site", world.sites[0])
    assert is_operator(user) and user.is_staff
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["directory.account", "directory.groups", "access.change",
                       "membership.set", "role.grant", "access.change"]  # fmt: skip


def test_leaving_a_group_takes_back_only_what_the_directory_gave(world, rules):
    account = _account()
    user = account.user
    services.site_access_grant(grantee=user, site=world.sites[0])  # by hand, before
    directory_rights_apply(account=account, groups=["blue-approvers", "site-mons",
                                                    "secret-officers"])  # fmt: skip
    assert {g.right for g in account.grants.all()} == {
        f"membership:{world.tenant.pk}", f"officer:{world.domains[1].pk}",
        f"clearance:{world.domains[1].pk}",
    }  # the site was held by hand: not the directory's  # fmt: skip
    directory_rights_apply(account=account, groups=["blue-requesters"])
    user = type(user).objects.get(pk=user.pk)
    assert Membership.objects.get(tenant=world.tenant, user=user).role == "requester"
    assert not user.has_perm("tenants.officer_domain", world.domains[1])
    assert not user.has_perm("tenants.access_domain", world.domains[1])
    assert user.has_perm("tenants.access_site", world.sites[0])  # still, by hand
    directory_rights_apply(account=account, groups=[])
    assert not Membership.objects.filter(user=user).exists()
    assert account.grants.count() == 0


def test_a_rule_removed_takes_its_right_at_the_next_apply(world, rules):
    account = _account()
    directory_rights_apply(account=account, groups=["portal-operators"])
    assert is_operator(type(account.user).objects.get(pk=account.user_id))
    DirectoryRule.objects.filter(right="operator").delete()
    directory_rights_apply(account=account, groups=["portal-operators"])
    user = type(account.user).objects.get(pk=account.user_id)
    assert not is_operator(user) and not user.is_staff


def test_removal_disables_revokes_tokens_and_a_return_restores(world, rules):
    account = _account(source="oidc")
    directory_rights_apply(account=account, groups=["blue-requesters", "portal-auditors"])
    token, _ = token_create(user=account.user, name="ci")
    directory_account_remove(account=account, why="no longer in the directory")
    user = type(account.user).objects.get(pk=account.user_id)
    token.refresh_from_db()
    assert not user.is_active and token.revoked_at is not None
    assert not Membership.objects.filter(user=user).exists() and not is_auditor(user)
    removal = AuditEvent.objects.get(action="directory.remove")
    assert removal.after["tokens_revoked"] == [token.prefix]
    directory_rights_apply(account=account, groups=["blue-requesters"])
    user.refresh_from_db()
    assert user.is_active
    assert Membership.objects.get(user=user).role == "requester"
    assert AuditEvent.objects.filter(action="directory.restore").count() == 1


def test_a_name_held_by_a_local_account_is_not_taken_over(world):
    UserFactory(username="alice")
    with pytest.raises(DirectoryConflict):
        directory_account_for(source="ldap", subject="uid=alice,ou=people", username="alice")
    ldap_account = _account("lena")
    with pytest.raises(DirectoryConflict):  # nor one of the other sign-in
        directory_account_for(source="oidc", subject="iss|lena", username="lena")
    moved = directory_account_for(source="ldap", subject="uid=lena,ou=staff", username="lena")
    assert moved.pk == ldap_account.pk and moved.subject == "uid=lena,ou=staff"


def test_rule_changes_in_the_admin_are_audited(client, world):
    from tests.factories import make_portal_role

    operator = make_portal_role("oscar", "operate_portal")
    operator.is_staff = True
    operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    answer = client.post("/admin/tenants/directoryrule/add/", {
        "group": "cn=blue,ou=groups", "source": "", "right": "membership",
        "tenant": world.tenant.pk, "role": "viewer", "description": "",
    })  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:2000]
    event = AuditEvent.objects.get(action="directoryrule.create")
    assert event.after["group"] == "cn=blue,ou=groups" and event.actor_id == operator.pk
    answer = client.post("/admin/tenants/directoryrule/add/", {
        "group": "x", "source": "", "right": "site", "tenant": world.tenant.pk, "role": "",
    })  # fmt: skip
    assert answer.status_code == 200
    assert "Choose the site this right is for." in answer.content.decode()
