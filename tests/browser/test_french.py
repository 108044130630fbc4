"""The README's walkthrough in French: a browser set to Belgian French, a requester in Lisbon's
time zone, an approver; request, plan, submit, approve, built, with every label looked up in the
French catalogue and the dates in the requester's zone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from portal.models import Preferences
from provisioning.models import Server
from tests.browser.conftest import BUILD_TIMEOUT, WHY, label_re, screenshot
from tests.browser.test_journeys import request_id

pytestmark = [pytest.mark.browser, pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def fr(text: str, **values) -> str:
    with translation.override("fr"):
        found = gettext(text)
    assert found != text or text in ("Allocation", "Justification", "Plan"), f"no French: {text}"
    return found % values if values else found


def test_a_french_speaking_requester_and_approver_do_the_whole_loop_in_french(open_as, storefront):
    world = storefront
    requester = open_as(world.requester, "/", locale="fr-BE")
    expect(requester.locator("html")).to_have_attribute("lang", "fr")
    expect(requester.get_by_role("heading", name=fr("Dashboard"))).to_be_visible()

    # The requester works from Lisbon: their zone, chosen on the Preferences page.
    requester.goto(reverse("account-preferences"))
    requester.get_by_label(fr("Time zone")).select_option("Europe/Lisbon")
    requester.get_by_role("button", name=fr("Save")).click()
    expect(requester.get_by_role("status")).to_contain_text("Europe/Lisbon")
    assert Preferences.objects.get(user=world.requester).time_zone == "Europe/Lisbon"

    requester.get_by_role("navigation", name=fr("Main")).get_by_role(
        "link", name=fr("Requests")
    ).click()
    expect(requester.get_by_role("heading", name=fr("Requests"), exact=True)).to_be_visible()

    requester.goto(reverse("request-create-server"))
    requester.get_by_label(fr("Allocation")).select_option(str(world.allocation.pk))
    networks = requester.get_by_role("group", name=fr("Networks"))
    expect(networks.get_by_role("checkbox", name=re.compile(world.network.name))).to_be_visible()
    requester.get_by_label(label_re(fr("Name"))).fill("web")
    requester.get_by_label(fr("Offering")).select_option(label=world.offering.name)
    networks.get_by_role("checkbox", name=re.compile(world.network.name)).check()
    requester.get_by_label(fr("Count")).fill("1")
    requester.get_by_label(fr("Justification")).fill(WHY)
    requester.get_by_role("button", name=fr("Plan"), exact=True).click()
    requester.get_by_role("button", name=fr("Submit request")).click()
    expect(requester.locator("#request-state")).to_have_text(fr("Pending approval"))
    pk = request_id(requester)
    # Dates in the requester's zone, with its name: Lisbon is on WET in winter, not Brussels' CET.
    expect(requester.locator("main")).to_contain_text("WET")
    expect(requester.locator("main")).not_to_contain_text("CET")

    approver = open_as(world.approver, reverse("approval-inbox"), locale="fr-FR")
    row = approver.locator(f"#request-{pk}")
    expect(row).to_contain_text("m1.tiny")
    row.get_by_role("button", name=fr("Approve #%(pk)s", pk=pk)).click()
    expect(approver.locator(f"#request-{pk}")).to_be_focused()

    expect(requester.locator("#request-state")).to_have_text(fr("Completed"), timeout=BUILD_TIMEOUT)
    screenshot(requester, "request-fr")
    server = Server.objects.get(origin_request_id=pk)
    requester.get_by_role("navigation", name=fr("Main")).get_by_role(
        "link", name=fr("Resources")
    ).click()
    expect(requester.get_by_role("link", name=server.name)).to_be_visible()

    # Back to English with the header's switch; kept for the next page too.
    requester.get_by_role("button", name="English").click()
    expect(requester.locator("html")).to_have_attribute("lang", "en-gb")
    requester.goto(reverse("dashboard"))
    expect(requester.get_by_role("heading", name="Dashboard")).to_be_visible()
