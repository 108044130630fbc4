"""WCAG 2.1 AA, checked by axe-core in the real browser on every page and the states people meet:
forms sent back with errors, empty lists, refusals, the API docs, both languages.

Only serious and critical findings fail: those block or mislead someone using a screen reader or
a keyboard. axe runs through the DevTools protocol, so the pages' Content-Security-Policy stays
as strict as in production.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.api.conftest import make_server
from tests.factories import make_portal_role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.queue, pytest.mark.django_db(transaction=True)]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def axe_source() -> str:
    axe = pytest.importorskip("axe_playwright_python", reason="axe-core is not installed")
    return (Path(axe.__file__).parent / "axe.min.js").read_text()


def axe_findings(page: Page) -> list[str]:
    """Serious and critical violations on the page as it stands, one line each."""
    page.wait_for_load_state("networkidle")
    page.evaluate(axe_source())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {v['help']} at "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _pages(world, server, network_request) -> list[tuple[str, str]]:
    """(who, path) for every page the portal serves."""
    allocation, tenant, region = world.allocation, world.allocation.tenant, world.region
    network = world.network
    return [
        ("requester", reverse("dashboard")),
        ("requester", reverse("request-list")),
        ("requester", reverse("request-list") + "?created_from=not-a-date"),
        ("requester", reverse("request-detail", args=[network_request.pk])),
        ("requester", reverse("request-create-server")),
        ("requester", reverse("server-list")),
        ("requester", reverse("server-list") + "?q=nothing-matches-this"),
        ("requester", reverse("server-detail", args=[server.pk])),
        ("requester", reverse("server-action", args=[server.pk, "resize"])),
        ("requester", reverse("server-action", args=[server.pk, "extend-lease"])),
        ("requester", reverse("network-list")),
        ("requester", reverse("network-detail", args=[network.pk])),
        ("requester", reverse("security-group-list")),
        ("requester", reverse("volume-list")),
        ("requester", reverse("tenant-list")),
        ("requester", reverse("tenant-detail", args=[tenant.pk])),
        ("requester", reverse("allocation-list")),
        ("requester", reverse("allocation-detail", args=[allocation.pk])),
        ("requester", reverse("allocation-quota-change", args=[allocation.pk])),
        ("requester", reverse("region-list")),
        ("requester", reverse("region-detail", args=[region.pk])),
        ("requester", reverse("sla-report")),
        ("requester", reverse("sla-report") + "?days=-3"),
        ("requester", reverse("cloud-status")),
        ("requester", reverse("showback-report")),
        ("operator", reverse("showback-report") + "?group_by=allocation"),
        ("operator", reverse("cloud-status")),
        ("newcomer", reverse("cloud-status")),
        ("requester", reverse("account-ssh-keys")),
        ("requester", reverse("account-tokens")),
        ("requester", reverse("account-two-factor")),
        ("requester", reverse("account-preferences")),
        ("approver", reverse("account-delegation")),
        ("requester", "/servers/999999999/"),
        ("requester", reverse("search") + "?q=axe"),
        ("requester", reverse("search") + "?q=nothing-at-all"),
        ("requester", reverse("notification-list")),
        ("approver", reverse("notification-list")),
        ("approver", reverse("approval-inbox")),
        ("auditor", reverse("dashboard")),
        ("auditor", reverse("server-action", args=[server.pk, "stop"])),
        ("operator", reverse("operator-overview")),
        ("operator", reverse("dashboard")),
        ("newcomer", reverse("dashboard")),
        ("newcomer", reverse("server-list")),
        ("newcomer", reverse("request-list")),
    ]


@pytest.fixture
def everyone(storefront):
    world = storefront
    return {
        "requester": world.requester,
        "approver": world.approver,
        "auditor": make_portal_role("audrey", "audit_portal"),
        "operator": make_portal_role("oscar", "operate_portal"),
        "newcomer": make_user("nina"),
    }


@pytest.mark.parametrize("locale", ["en-GB", "fr-BE"])
def test_every_page_has_no_serious_accessibility_violation(open_as, storefront, everyone, locale):
    world = storefront
    server = make_server(world.allocation, "axe-web-1")
    pending = world.network.origin_request
    # Something waiting in the approver's inbox.
    from provisioning import notifications, services
    from provisioning.models import Kind

    waiting = services.request_submit(
        user=world.requester, kind=Kind.VOLUME, allocation=world.allocation,
        spec={"name": "scratch", "size_gb": 5}, justification="Scratch space for the tests.",
    )  # fmt: skip
    notifications.send("approvers_new_request", waiting.pk)  # something under the bell
    # A region that answered, then went down (an incident, an error for operators to read).
    from datetime import timedelta

    from django.utils import timezone

    from provisioning.cloud.probe import ServiceCheck
    from provisioning.services.availability import probe_record

    now = timezone.now()
    probe_record(world.region, now - timedelta(minutes=5), [ServiceCheck("compute", True, 12.0)])
    for minutes in (3, 2, 1):
        down = [ServiceCheck("compute", False, 500.0, "HTTP 503: Service Unavailable")]
        probe_record(world.region, now - timedelta(minutes=minutes), down)
    findings: list[str] = []
    pages: dict[str, Page] = {}
    for who, path in _pages(world, server, pending):
        if who not in pages:
            pages[who] = open_as(everyone[who], path, locale=locale)
        else:
            pages[who].goto(path)
        findings += axe_findings(pages[who])
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("locale", ["en-GB", "fr-BE"])
def test_forms_sent_back_with_errors_are_accessible(open_as, storefront, locale):
    """Each form's error state: a summary that takes focus, fields described by their errors."""
    world = storefront
    page = open_as(world.requester, reverse("request-create-server"), locale=locale)
    page.locator("main form [type=submit]").last.click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    for described in page.locator("[aria-describedby]").all():
        for ref in (described.get_attribute("aria-describedby") or "").split():
            assert page.locator(f"#{ref}").count() == 1, f"aria-describedby={ref} points nowhere"
    findings = axe_findings(page)

    page.goto(reverse("account-tokens"))
    page.locator("main form [type=submit]").first.click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    findings += axe_findings(page)

    page.goto(reverse("account-ssh-keys"))
    page.locator("main form [type=submit]").first.click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    findings += axe_findings(page)

    page = open_as(world.approver, reverse("account-delegation"), locale=locale)
    page.locator("main form [type=submit]").first.click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    for described in page.locator("[aria-describedby]").all():
        for ref in (described.get_attribute("aria-describedby") or "").split():
            assert page.locator(f"#{ref}").count() == 1, f"aria-describedby={ref} points nowhere"
    findings += axe_findings(page)
    assert not findings, "\n".join(findings)


def test_sign_in_page_and_its_errors_are_accessible(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="fr-BE")
    page = context.new_page()
    page.goto(reverse("login"))
    findings = axe_findings(page)
    page.locator("input[name=username]").fill("nobody")
    page.locator("input[name=password]").fill("wrong")
    page.locator("main form [type=submit]").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    findings += axe_findings(page)
    context.close()
    assert not findings, "\n".join(findings)


def test_api_docs_are_accessible(open_as, storefront):
    page = open_as(storefront.requester, reverse("api-docs"))
    page.locator(".swagger-ui .opblock").first.wait_for()
    findings = axe_findings(page)
    assert not findings, "\n".join(findings)
