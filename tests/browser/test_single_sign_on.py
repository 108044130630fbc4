"""Signing in as staff do, in a real browser: with the directory's password on the portal's
form, and through the OpenID Connect provider's own page, then signing out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tenants.models import DirectoryRule
from tests.browser.conftest import PAGE_TIMEOUT, VIEWPORT
from tests.factories import build_world
from tests.identity import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_out(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT)
    yield context.new_page()
    context.close()


@pytest.fixture
def rules():
    world = build_world()
    DirectoryRule.objects.create(group="blue-requesters", right="membership",
                                 tenant=world.tenant, role="requester")  # fmt: skip
    return world


def test_sign_in_with_the_directory_password(signed_out, ldap_on, live_server, rules):
    page = signed_out
    page.goto("/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_text("Lena Lind")).to_be_visible()
    expect(page.get_by_role("link", name="Blue Unit").first).to_be_visible()


def test_sign_in_through_the_provider(signed_out, oidc_on, live_server, rules):
    oidc_on.register(f"{live_server.url}/oidc/callback/")
    page = signed_out
    page.goto("/login/")
    page.get_by_role("link", name="Sign in with").click()
    expect(page.get_by_role("heading", name="Agency sign-in")).to_be_visible()
    page.get_by_label("User name").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_text("Olga Orban")).to_be_visible()
    expect(page.get_by_role("link", name="Blue Unit").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
