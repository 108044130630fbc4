"""The tokens page hands over a new secret with a Copy button; the API docs sit in the portal."""

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
    # The clipboard is only written for the focused document (Chromium refuses it otherwise,
    # and the page falls back to selecting the text): make this page the focused one.
    page.bring_to_front()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(page.get_by_role("table", name="Your API tokens")).to_contain_text("ci-pipeline")


def test_the_api_docs_sit_inside_the_portal(open_as, live_server):
    page = open_as(UserFactory(username="tess"), "/api/docs/")
    expect(page.get_by_role("heading", name="REST API reference")).to_be_visible()
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    page.get_by_role("link", name="Your API tokens").click()
    expect(page).to_have_url(f"{live_server.url}/account/tokens/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(f"{live_server.url}/")
