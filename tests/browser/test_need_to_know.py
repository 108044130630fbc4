"""A user cleared for UNCLASSIFIED only never sees a RESTRICTED row, whichever page they open."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from portal.audit import audit_record
from provisioning import services
from provisioning.models import Kind, Server
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
WHY = "Needed for the exercise next week."
#: Pages not worth walking: leaving the session, the API's own documentation.
SKIP = ("/logout/", "/api/", "/admin/")


@pytest.fixture
def split_world():
    """One tenant with the same things in an UNCLASSIFIED and a RESTRICTED region."""
    site = SiteFactory(name="Mons", slug="mons")
    open_, closed = (
        SecurityDomainFactory(name="Unclassified", slug="unclass", level=10,
                              marking="UNCLASSIFIED", banner_colour="#007a33"),
        SecurityDomainFactory(name="Restricted", slug="restricted", level=20,
                              marking="RESTRICTED", banner_colour="#c77700"),
    )  # fmt: skip
    tenant = TenantFactory(name="Blue Unit", slug="blue")
    boss = make_user("boss", memberships={tenant: Role.MANAGER}, domains=(open_, closed),
                     sites=(site,))  # fmt: skip
    hidden = []
    for domain, prefix in ((open_, "open"), (closed, "hidden")):
        region = CloudRegionFactory(site=site, domain=domain)
        allocation = AllocationFactory(tenant=tenant, region=region, instances=10, vcpus=20,
                                       ram_mb=40960, networks=5)  # fmt: skip
        network = NetworkFactory(allocation=allocation, name=f"{prefix}-net")
        server = Server.objects.create(allocation=allocation, name=f"{prefix}-vm",
                                       backend_id=prefix, tag="t", flavor_name="m1.small",
                                       status="ACTIVE")  # fmt: skip
        audit_record(actor=None, action="server.create", obj=server, tenant=tenant,
                     region=allocation.region)  # fmt: skip
        request = services.request_submit(
            user=boss, kind=Kind.NETWORK, allocation=allocation, justification=WHY,
            spec={"name": f"{prefix}-pending", "cidr": f"10.{domain.level}.9.0/24"},
        )  # fmt: skip
        hidden += [network, server, request] if prefix == "hidden" else []
    una = make_user("una", memberships={tenant: Role.APPROVER}, domains=(open_,), sites=(site,))
    return una, hidden


def test_unclassified_user_walks_every_page_and_sees_nothing_restricted(open_as, split_world):
    una, hidden = split_world
    page = open_as(una, "/")
    nav = page.get_by_role("navigation", name="Main")
    start = [urlsplit(a.get_attribute("href")).path for a in nav.get_by_role("link").all()]
    start += section_pages()  # the second-row menus of Resources and Organisation
    assert reverse("approval-inbox") in start and reverse("server-list") in start

    seen, queue = set(), list(dict.fromkeys(start))
    while queue and len(seen) < 60:
        path = queue.pop(0)
        if path in seen or path.startswith(SKIP):
            continue
        seen.add(path)
        response = page.goto(path)
        assert response.status == 200, path
        text = page.content()
        assert "restricted" not in text.lower(), path
        assert "hidden-" not in text, path
        # One level deeper: every detail page linked from a list.
        if path in start:
            for link in page.locator("main a[href^='/']").all():
                target = urlsplit(link.get_attribute("href")).path
                if target not in seen:
                    queue.append(target)
    assert any(p.startswith("/servers/") and p != "/servers/" for p in seen)
    assert any(p.startswith("/requests/") and p != "/requests/" for p in seen)

    # Typing the address of a restricted object answers "not found", naming nothing.
    for obj in hidden:
        response = page.goto(obj.get_absolute_url())
        assert response.status == 404, obj
        assert "hidden-" not in page.content()
