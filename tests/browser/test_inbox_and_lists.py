"""Bulk approval in the inbox without a reload; lists sorted by their headers and filtered."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from portal.models import OutboxMessage
from provisioning.models import RequestState, ResourceRequest
from tests.browser.test_keyboard import tab_to
from tests.pages.conftest import make_server, shop, submit_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def nothing_built(settings):
    """Approvals here send nothing to a broker (their work stays in the outbox): these regions
    exist in no cloud, and a worker left busy with them would hold rows while later tests flush
    the database."""
    settings.PORTAL_OUTBOX_RELAY_ON_COMMIT = False


def test_bulk_approval_answers_per_request_without_a_reload(open_as, shop, nothing_built):  # noqa: F811
    first, second = submit_server(shop, name="one"), submit_server(shop, name="two")
    mine = submit_server(shop, user=shop.approver, name="mine")
    page = open_as(shop.approver, reverse("approval-inbox"))
    page.evaluate("window.notReloaded = true")
    expect(page.locator(f"#own-{mine.pk}")).to_contain_text("mine")
    expect(page.locator(f"#own-{mine.pk}").get_by_role("button")).to_have_count(0)

    page.get_by_label(f"Select request #{first.pk} for bulk approval").check()
    page.get_by_label(f"Select request #{second.pk} for bulk approval").check()
    page.get_by_label("Comment for the selected requests").fill("Both fine.")
    page.get_by_role("button", name="Approve selected").click()

    results = page.get_by_role("status").filter(has_text="Bulk approval")
    expect(results).to_contain_text(f"#{first.pk} one")
    expect(results).to_contain_text(f"#{second.pk} two")
    expect(results).to_be_focused()
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator(f"#request-{first.pk}")).to_have_count(0)
    states = set(
        ResourceRequest.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)
    )
    assert states == {RequestState.APPROVED}
    work = OutboxMessage.objects.filter(task="provisioning.tasks.advance_request")
    assert sorted(m.args[0] for m in work) == sorted([first.pk, second.pk])


def test_server_list_sorts_by_header_and_filters_keep_in_page_links(open_as, shop):  # noqa: F811
    for i in range(30):
        make_server(shop.low, f"s{i:02d}")
    make_server(shop.high, "zz-secret")
    page = open_as(shop.requester, reverse("server-list"))
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_contain_text("s00")

    page.get_by_role("link", name=re.compile("^Name")).click()
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(rows.first).to_contain_text("zz-secret")
    expect(page.get_by_role("columnheader", name=re.compile("^Name"))).to_have_attribute(
        "aria-sort", "descending"
    )

    page.get_by_label("Security domain").select_option("unclass")
    page.get_by_role("button", name="Search").click()
    expect(rows.first).to_contain_text("s29")
    expect(page.locator("main")).not_to_contain_text("zz-secret")
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"domain=unclass.*cursor=|cursor=.*domain=unclass"))
    expect(rows.first).to_contain_text("s04")
    expect(page.get_by_label("Security domain")).to_have_value("unclass")


def test_inbox_by_keyboard_only(open_as, shop, nothing_built):  # noqa: F811
    """Tab to the request's comment, type it, Tab to Approve, Enter: the decided row takes the
    focus and says what happened, so a keyboard or screen-reader user is not left on the body."""
    request = submit_server(shop, name="kbd")
    page = open_as(shop.approver, reverse("approval-inbox"))
    tab_to(page, f"#comment-{request.pk}", limit=80)
    page.keyboard.type("Fine by me.")
    tab_to(page, f"#request-{request.pk} button[value=approve]")
    page.keyboard.press("Enter")
    row = page.locator(f"#request-{request.pk}")
    expect(row).to_be_focused()
    expect(row).to_contain_text("approved")
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert request.approvals.get().comment == "Fine by me."


def test_the_bell_counts_and_leads_to_the_request(open_as, shop, nothing_built):  # noqa: F811
    from provisioning import notifications

    request = submit_server(shop, name="belled")
    notifications.send("approvers_new_request", request.pk)
    page = open_as(shop.approver, "/")
    bell = page.get_by_role("link", name=re.compile("^Notifications"))
    expect(bell).to_have_accessible_name("Notifications: 1 unread")  # filled in by htmx
    bell.click()
    page.get_by_role("link", name=re.compile(f"#{request.pk}")).click()
    expect(page).to_have_url(re.compile(f"/requests/{request.pk}/$"))
    expect(bell).to_have_accessible_name("Notifications: none unread")
