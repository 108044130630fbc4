"""Sign-in with a real OpenLDAP directory (slapd on loopback): people and groups come from the
directory, rights from the rules, and the periodic sync follows the directory's changes."""

from __future__ import annotations

import ldap
import pytest
from rest_framework.test import APIClient

from idp.directory import GROUPS, SERVICE_DN, user_dn
from portal.models import AuditEvent
from portal.sso.ldap import ldap_sync
from portal.tasks import periodic_directory_sync
from portal.tokens import token_create
from tenants.access import is_operator
from tenants.models import DirectoryAccount, DirectoryRule, Membership
from tests.factories import UserFactory
from tests.identity import PASSWORD, directory_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(world):
    unclass, _secret = world.domains
    for rule in [
        DirectoryRule(group="blue-requesters", right="membership", tenant=world.tenant,
                      role="requester"),
        DirectoryRule(group=f"cn=blue-approvers,{GROUPS}", right="membership",
                      tenant=world.tenant, role="approver"),
        DirectoryRule(group="cleared-unclass", right="clearance", domain=unclass),
        DirectoryRule(group="site-mons", right="site", site=world.sites[0]),
        DirectoryRule(group="site-oeiras", right="site", site=world.sites[1]),
        DirectoryRule(group="portal-operators", right="operator", source="ldap"),
    ]:  # fmt: skip
        rule.save()


def _sign_in(client, username, password=PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


def test_a_directory_user_signs_in_with_the_rights_of_their_groups(client, ldap_on, world, rules):
    answer = _sign_in(client, "lena")
    assert answer.status_code == 302 and answer["Location"] == "/"
    account = DirectoryAccount.objects.select_related("user").get(user__username="lena")
    user = account.user
    assert (account.source, account.subject) == ("ldap", user_dn("lena"))
    assert (user.first_name, user.last_name, user.email) == ("Lena", "Lind", "lena@agency.example")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, tenant=world.tenant).role == "requester"
    assert user.has_perm("tenants.access_domain", world.domains[0])
    assert user.has_perm("tenants.access_site", world.sites[0])
    assert not user.has_perm("tenants.access_site", world.sites[1])
    # The tenant's page is theirs now; the other tenant's is not.
    assert client.get(f"/tenants/{world.tenant.pk}/").status_code == 200
    assert client.get(f"/tenants/{world.other_tenant.pk}/").status_code == 404
    # A rule may name a group by its DN: leon is an approver through one.
    client.logout()
    assert _sign_in(client, "leon").status_code == 302
    assert Membership.objects.get(user__username="leon").role == "approver"


def test_a_wrong_directory_password_counts_towards_the_lockout(client, ldap_on, settings, rules):
    settings.PORTAL_LOCKOUT_USER_FAILURES = 3
    for _ in range(3):
        answer = _sign_in(client, "lena", "wrong")
        assert answer.status_code == 200
    answer = _sign_in(client, "lena")  # the right password, while locked
    assert answer.status_code == 200
    assert "Too many failed sign-ins" in answer.content.decode()
    assert not DirectoryAccount.objects.exists()


def test_a_directory_operator_is_asked_for_a_second_factor(client, ldap_on, rules):
    admin = directory_admin(ldap_on)
    admin.modify_s(f"cn=portal-operators,{GROUPS}",
                   [(ldap.MOD_ADD, "member", [user_dn("lena").encode()])])  # fmt: skip
    assert _sign_in(client, "lena").status_code == 302
    answer = client.get("/")
    assert answer.status_code == 302 and answer["Location"].startswith("/account/two-factor/")


def test_the_sync_follows_group_changes_and_removals(client, ldap_on, world, rules):
    assert _sign_in(client, "lena").status_code == 302
    lena = DirectoryAccount.objects.get(user__username="lena").user
    token, secret = token_create(user=lena, name="automation")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/tenants/").status_code == 200

    admin = directory_admin(ldap_on)
    admin.modify_s(f"cn=site-mons,{GROUPS}",  # a group keeps one member: the service account
                   [(ldap.MOD_REPLACE, "member", [SERVICE_DN.encode()])])  # fmt: skip
    admin.modify_s(f"cn=site-oeiras,{GROUPS}",
                   [(ldap.MOD_ADD, "member", [user_dn("lena").encode()])])  # fmt: skip
    result = ldap_sync()
    assert (result.checked, result.updated, result.removed) == (1, 1, [])
    lena = type(lena).objects.get(pk=lena.pk)
    assert not lena.has_perm("tenants.access_site", world.sites[0])
    assert lena.has_perm("tenants.access_site", world.sites[1])
    groups_event = AuditEvent.objects.filter(action="directory.groups").latest("id")
    assert "site-oeiras" in groups_event.after["groups"]
    assert "site-mons" in groups_event.before["groups"]

    admin.delete_s(user_dn("lena"))
    assert ldap_sync().removed == ["lena"]
    lena.refresh_from_db()
    token.refresh_from_db()
    assert not lena.is_active and token.revoked_at is not None
    assert not Membership.objects.filter(user=lena).exists()
    assert api.get("/api/v1/tenants/").status_code == 401  # the token stopped working
    answer = client.get("/")  # and the browser session ended
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")
    assert _sign_in(client, "lena").status_code == 200  # nor can they sign in again


def test_a_directory_that_cannot_answer_removes_nobody(client, ldap_on, rules, settings):
    assert _sign_in(client, "lena").status_code == 302
    ldap_on.stop()
    with pytest.raises(ldap.LDAPError):
        ldap_sync()
    assert periodic_directory_sync()["ldap"].startswith("failed")
    assert DirectoryAccount.objects.get().removed_at is None
    assert DirectoryAccount.objects.get().user.is_active


def test_a_local_name_is_not_taken_over_by_the_directory(client, ldap_on, rules):
    local = UserFactory(username="lena")
    local.set_password("the-local-one-is-different")
    local.save()
    assert _sign_in(client, "lena").status_code == 200
    assert not DirectoryAccount.objects.exists()
    assert AuditEvent.objects.filter(action="directory.conflict", object_repr="lena").exists()


def test_local_accounts_can_be_switched_off(client, ldap_on, settings, rules):
    local = UserFactory(username="ines")
    local.set_password("a-long-and-private-passphrase")
    local.save()
    settings.PORTAL_LOCAL_SIGN_IN = False
    assert _sign_in(client, "ines", "a-long-and-private-passphrase").status_code == 200
    assert _sign_in(client, "lena").status_code == 302  # the directory still signs people in


def test_the_sign_in_page_offers_what_is_configured(client, settings, ldap_on):
    page = client.get("/login/").content.decode()
    assert 'name="password"' in page and "/oidc/authenticate/" not in page
    assert client.get("/oidc/authenticate/").status_code == 404
    settings.PORTAL_LOCAL_SIGN_IN = False
    settings.AUTH_LDAP_SERVER_URI = ""
    assert 'name="password"' not in client.get("/login/").content.decode()


def test_an_operator_from_the_directory_is_one_by_the_rules_only(client, ldap_on, rules):
    admin = directory_admin(ldap_on)
    admin.modify_s(f"cn=portal-operators,{GROUPS}",
                   [(ldap.MOD_ADD, "member", [user_dn("leon").encode()])])  # fmt: skip
    _sign_in(client, "leon")
    leon = DirectoryAccount.objects.get(user__username="leon").user
    assert is_operator(leon)
    admin.modify_s(f"cn=portal-operators,{GROUPS}",
                   [(ldap.MOD_DELETE, "member", [user_dn("leon").encode()])])  # fmt: skip
    ldap_sync()
    assert not is_operator(type(leon).objects.get(pk=leon.pk))
