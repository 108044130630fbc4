"""The Content-Security-Policy holds on every page people use: a real browser reports no
violation (no inline script or style is needed anywhere), the admin and the API docs included."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from provisioning.models import Server, Volume
from tenants.models import Role
from tests.browser.conftest import section_pages
from tests.factories import (
    AllocationFactory,
    CloudRegionFactory,
    NetworkFactory,
    SecurityDomainFactory,
    SiteFactory,
    TenantFactory,
    make_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Collects the violations the browser reports, from before any script of the page runs.
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(
    `${e.violatedDirective} ${e.blockedURI || 'inline'} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def operator():
    site = SiteFactory(name="Mons", slug="mons")
    domain = SecurityDomainFactory(name="Restricted", slug="restricted", level=20,
                                   marking="RESTRICTED", banner_colour="#c77700")  # fmt: skip
    tenant = TenantFactory(name="Blue Unit", slug="blue")
    region = CloudRegionFactory(site=site, domain=domain)
    allocation = AllocationFactory(tenant=tenant, region=region)
    network = NetworkFactory(allocation=allocation, name="app-net")
    server = Server.objects.create(allocation=allocation, name="app-1", backend_id="s", tag="t",
                                   flavor_name="m1.small", status="ACTIVE")  # fmt: skip
    server.networks.add(network)
    Volume.objects.create(
        allocation=allocation, name="data", backend_id="v", tag="t", size_gb=10,
        status="in-use", server=server, device="/dev/vdb",
    )  # fmt: skip
    user = make_user("root", memberships={tenant: Role.MANAGER}, domains=(domain,), sites=(site,))
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    user.refresh_from_db()
    return user


def _violations(page) -> list[str]:
    return page.evaluate("window.__violations || []")


def test_no_page_needs_inline_script_or_style(open_as, operator):
    page = open_as(operator, "/login/")
    page.context.add_init_script(LISTEN)
    response = page.goto("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    nav = page.get_by_role("navigation", name="Main")
    start = [urlsplit(a.get_attribute("href")).path for a in nav.get_by_role("link").all()]
    start += section_pages()  # the second-row menus of Resources and Organisation
    pages = ["/", *start, "/requests/new/server/", "/requests/new/volume/", "/admin/",
             "/admin/provisioning/server/", "/admin/tenants/securitydomain/",
             "/api/docs/"]  # fmt: skip
    seen, problems = set(), {}
    for path in pages:
        if path in seen or path.startswith("/logout"):
            continue
        seen.add(path)
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if found := _violations(page):
            problems[path] = found
        # Detail pages and their action panels, one level deeper from the lists.
        if path in start:
            for link in page.locator("main a[href^='/']").all()[:8]:
                target = urlsplit(link.get_attribute("href")).path
                if target not in seen and target not in pages and not target.startswith("/api/"):
                    pages.append(target)
    assert len(seen) > 20
    assert problems == {}
    # The banner and badges still carry the domain's colours, now from classes.
    page.goto("/servers/")
    badge = page.locator(".domain-badge").first
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(199, 119, 0)"
    bar = page.locator(".classification-top")
    assert bar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(199, 119, 0)"
