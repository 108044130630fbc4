"""The SLA report in a real browser: chosen by keyboard, late requests lead to their timeline."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import age_timeline
from tests.pages.conftest import low_only, shop, submit_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sla_report_by_keyboard_leads_to_the_late_request(open_as, shop, low_only, settings):  # noqa: F811
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    on_time = age_timeline(submit_server(shop, name="ci-runner"), pending_approval=90,
                           approved=80, provisioning=79, completed=70)  # fmt: skip
    late = age_timeline(submit_server(shop, name="exercise-db"), pending_approval=200)
    secret = age_timeline(submit_server(shop, name="hushed", secret=True), pending_approval=300)
    page = open_as(low_only, reverse("sla-report"))  # cleared for UNCLASSIFIED only

    page.get_by_label("Rows per").focus()
    page.keyboard.press("End")  # the last grouping: Tenant
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Show")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"group_by=tenant"))
    table = page.get_by_role("table").first
    expect(table).to_contain_text("Blue Unit")
    late_rows = page.get_by_role("table").nth(1).locator("tbody tr")
    expect(late_rows.first).to_contain_text(f"#{late.pk} exercise-db")
    expect(late_rows.first).to_contain_text("still waiting")
    expect(page.get_by_role("table").nth(1)).not_to_contain_text(f"#{on_time.pk}")
    expect(page.locator("main")).not_to_contain_text("hushed")  # late, but not theirs to see
    expect(page.locator("main")).not_to_contain_text(f"#{secret.pk} ")
    screenshot(page, "sla-report")

    late_rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"#{late.pk}")
