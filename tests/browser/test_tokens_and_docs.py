"""The tokens page hands over a new secret with a Copy button, and the API docs lead back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_token_is_copied_with_one_click(open_as, live_server):
    page = open_as(UserFactory(username="tess"), "/account/tokens/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.get_by_label("Token name").fill("ci-pipeline")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-secret").inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(page.get_by_role("table", name="Your API tokens")).to_contain_text("ci-pipeline")


def test_the_api_docs_lead_back_to_the_portal(open_as, live_server):
    page = open_as(UserFactory(username="tess"), "/api/docs/")
    page.get_by_role("link", name="Back to the portal").click()
    expect(page).to_have_url(f"{live_server.url}/")
