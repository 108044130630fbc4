"""The VM request form works with the keyboard alone: Tab to move, Space to tick, Enter to press
buttons, and typing into fields (a closed select picks the option whose label is typed)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import WHY

pytestmark = [pytest.mark.browser, pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def tab_to(page: Page, selector: str, *, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus; fail if the keyboard never gets there."""
    for _ in range(limit):
        if page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with Tab")


def test_vm_form_by_keyboard_only(open_as, storefront):
    world = storefront
    page = open_as(world.requester, reverse("request-create-server"))

    tab_to(page, "#id_allocation")
    page.keyboard.type(world.allocation.tenant.name)
    # The fields that depend on the allocation are reloaded; the focus stays on the select.
    networks = page.get_by_role("group", name="Networks").get_by_role("checkbox")
    expect(networks.first).to_be_attached()
    expect(page.locator("#id_allocation")).to_be_focused()

    tab_to(page, "#id_name")
    page.keyboard.type("kbd")
    tab_to(page, "#id_offering")
    page.keyboard.type(world.offering.name)
    tab_to(page, "input[name=networks]")
    page.keyboard.press("Space")
    expect(networks.first).to_be_checked()
    tab_to(page, "#id_justification")
    page.keyboard.type(WHY)
    tab_to(page, "button[value=plan]")
    page.keyboard.press("Enter")

    expect(page.get_by_role("button", name="Submit request")).to_be_visible()
    tab_to(page, "button[value=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#request-state")).to_have_text("Pending approval")
    expect(page.get_by_role("heading", level=1)).to_contain_text("kbd")
