"""Sign-in through a real OpenID Connect provider (django-oauth-toolkit on loopback): the code
flow with PKCE, groups from the claims, and the periodic sync with the kept refresh token."""

from __future__ import annotations

import pytest
import requests
from rest_framework.test import APIClient

from portal.models import AuditEvent
from portal.sso.oidc import oidc_sync, unseal
from portal.tokens import token_create
from tenants.access import is_operator
from tenants.models import DirectoryAccount, DirectoryRule, Membership
from tests.factories import UserFactory
from tests.identity import provider_sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(world):
    for rule in [
        DirectoryRule(group="blue-requesters", right="membership", tenant=world.tenant,
                      role="requester"),
        DirectoryRule(group="blue-approvers", right="membership", tenant=world.tenant,
                      role="approver"),
        DirectoryRule(group="cleared-unclass", right="clearance", domain=world.domains[0]),
        DirectoryRule(group="portal-operators", right="operator"),
    ]:  # fmt: skip
        rule.save()


def test_a_person_signs_in_through_the_provider(client, oidc_on, world, rules):
    page = client.get("/login/").content.decode()
    assert "Sign in with" in page and "/oidc/authenticate/" in page
    answer = provider_sign_in(client, oidc_on, "olga")
    assert answer.status_code == 302 and answer["Location"] == "/"
    account = DirectoryAccount.objects.select_related("user").get()
    user = account.user
    assert user.username == "olga" and account.source == "oidc"
    assert account.subject.startswith(oidc_on.issuer + "|")
    assert (user.first_name, user.email) == ("Olga", "olga@agency.example")
    assert unseal(account.refresh_token)  # kept for the sync, not in clear
    assert "refresh" not in account.refresh_token
    assert Membership.objects.get(user=user).role == "requester"
    assert user.has_perm("tenants.access_domain", world.domains[0])
    assert client.get("/").status_code == 200
    assert client.get(f"/tenants/{world.tenant.pk}/").status_code == 200
    assert client.get(f"/tenants/{world.other_tenant.pk}/").status_code == 404


def test_an_operator_from_the_provider_is_not_asked_again_for_a_factor(
    client, oidc_on, settings, rules
):
    assert provider_sign_in(client, oidc_on, "omar").status_code == 302
    assert is_operator(DirectoryAccount.objects.get().user)
    assert client.get("/").status_code == 200  # the provider's own factors count
    settings.PORTAL_2FA_TRUST_OIDC = False
    answer = client.get("/")
    assert answer.status_code == 302 and answer["Location"].startswith("/account/two-factor/")


def test_the_sync_follows_the_provider(client, oidc_on, world, rules):
    assert provider_sign_in(client, oidc_on, "olga").status_code == 302
    olga = DirectoryAccount.objects.get().user
    first_refresh = DirectoryAccount.objects.get().refresh_token
    oidc_on.put_user(username="olga", groups=["blue-approvers"])
    result = oidc_sync()
    assert (result.checked, result.updated, result.removed) == (1, 1, [])
    assert Membership.objects.get(user=olga).role == "approver"
    assert (
        not type(olga).objects.get(pk=olga.pk).has_perm("tenants.access_domain", world.domains[0])
    )
    assert DirectoryAccount.objects.get().refresh_token != first_refresh  # rotated

    _token, secret = token_create(user=olga, name="automation")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/tenants/").status_code == 200
    oidc_on.remove("olga")
    assert oidc_sync().removed == ["olga"]
    olga.refresh_from_db()
    assert not olga.is_active
    assert not Membership.objects.filter(user=olga).exists()
    assert api.get("/api/v1/tenants/").status_code == 401
    assert client.get("/")["Location"].startswith("/login/")
    assert AuditEvent.objects.filter(action="directory.remove", object_repr="olga").exists()


def test_a_disabled_account_at_the_provider_is_removed_too(client, oidc_on, rules):
    assert provider_sign_in(client, oidc_on, "olga").status_code == 302
    oidc_on.put_user(username="olga", active=False)
    assert oidc_sync().removed == ["olga"]


def test_a_provider_that_does_not_answer_removes_nobody(client, oidc_on, settings, rules):
    assert provider_sign_in(client, oidc_on, "olga").status_code == 302
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/o/token/"  # nothing listens
    result = oidc_sync()
    assert result.failed == ["olga"] and result.removed == []
    assert DirectoryAccount.objects.get().user.is_active


def test_a_forged_or_replayed_callback_is_a_failed_sign_in(client, oidc_on, rules):
    client.get("/oidc/authenticate/")
    answer = client.get("/oidc/callback/?code=made-up&state=made-up")  # a state never issued
    assert answer.status_code == 302 and answer["Location"] == "/login/?sso=failed"
    state = client.session["oidc_states"]
    code_state = next(iter(state))
    answer = client.get(f"/oidc/callback/?code=made-up&state={code_state}")
    assert answer.status_code == 302 and answer["Location"] == "/login/?sso=failed"
    assert "did not work" in client.get(answer["Location"]).content.decode()
    assert not DirectoryAccount.objects.exists()


def test_a_local_name_is_not_taken_over_by_the_provider(client, oidc_on, rules):
    UserFactory(username="olga")
    answer = provider_sign_in(client, oidc_on, "olga")
    assert answer["Location"] == "/login/?sso=failed"
    assert AuditEvent.objects.filter(action="directory.conflict", object_repr="olga").exists()


def test_without_a_provider_there_is_no_provider_sign_in(client, provider):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).ok
