"""A real browser (Debian's chromium through Playwright) against ``live_server``.

The live server runs in this process, so the tasks its pages enqueue go to the private Redis of
``tests/live.py`` and are run by the real Celery worker against cloudsim. Browser tests skip when
Playwright or chromium is missing, so the rest of the suite runs anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: Expect timeouts, ms: pages are local, but a build goes through the worker and cloudsim.
PAGE_TIMEOUT = 10_000
BUILD_TIMEOUT = 90_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    # Playwright's sync API runs an event loop; Django refuses ORM calls from a thread that has
    # one unless told this is deliberate (the ORM calls here are plain test setup).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        sync_api.expect.set_options(timeout=PAGE_TIMEOUT)
        yield browser
        browser.close()


@pytest.fixture
def open_as(browser, live_server) -> Iterator[Callable[..., Page]]:
    """``open_as(user, path)``: a page in a fresh browser context signed in as ``user``, its
    browser set to British English unless ``locale`` says otherwise."""
    contexts = []

    def open_page(
        user, path: str = "/", viewport: dict | None = None, locale: str = "en-GB"
    ) -> Page:
        # The browser's locale is what it asks for in Accept-Language.
        context = browser.new_context(
            viewport=viewport or VIEWPORT, base_url=live_server.url, locale=locale
        )
        context.set_default_timeout(PAGE_TIMEOUT)
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                              "value": session_for(user), "url": live_server.url}])  # fmt: skip
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()


def session_for(user) -> str:
    """A signed-in session for ``user`` (what the login form would create), by its key."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = django_settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    from portal.two_factor import has_second_factor, second_factor_required
    from tests.conftest import two_factor_device

    if has_second_factor(user) or second_factor_required(user):  # signed in with both factors
        session["otp_device_id"] = two_factor_device(user).persistent_id
    session.create()
    return session.session_key


def screenshot(page: Page, name: str) -> None:
    """Save the viewport (1280x800) under docs/screenshots/ for the README.

    Only when ``PORTAL_SCREENSHOTS`` is set (``scripts/screenshots.py`` sets it), so an ordinary
    test run leaves the committed pictures alone.
    """
    if not os.environ.get("PORTAL_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.activeElement?.blur(); window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def label_re(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


# --- worlds ----------------------------------------------------------------------------------
WHY = "Needed for the integration exercise next week."


@pytest.fixture
def storefront(live_world):
    """``live_world`` plus what the VM form needs: an offering and a built network."""
    from provisioning import services
    from provisioning.models import Kind, Network, Offering, RequestState
    from tests.live import wait_for

    _real_names(live_world)
    offering = Offering.objects.create(name="Small Debian", slug="small-debian",
                                       flavor_name="m1.tiny", image_name="debian-12")  # fmt: skip
    offering.regions.add(live_world.region)
    request = services.request_submit(
        user=live_world.requester, kind=Kind.NETWORK, allocation=live_world.allocation,
        spec={"name": "app", "cidr": "10.30.0.0/24", "router": False}, justification=WHY,
    )  # fmt: skip
    services.request_approve(user=live_world.approver, request=request)

    def built():
        request.refresh_from_db()
        return request.state == RequestState.COMPLETED

    wait_for(built, timeout=60, what="the network to be built")
    live_world.network = Network.objects.get(origin_request=request)
    live_world.offering = offering
    return live_world


def _real_names(world) -> None:
    """Names a reader of the screenshots recognises, instead of the factories' "Site 0"."""
    region = world.region
    region.site.name, region.site.location = "Mons", "Belgium"
    region.site.save()
    domain = region.domain
    domain.name, domain.marking, domain.banner_colour = "Restricted", "NATO RESTRICTED", "#8a5a00"
    domain.save()
    tenant = world.allocation.tenant
    tenant.name = "Blue Unit"
    tenant.save()
    for user, first, last in ((world.requester, "Rita", "Requester"),
                              (world.approver, "Arno", "Approver")):  # fmt: skip
        user.first_name, user.last_name = first, last
        user.save()


def section_pages() -> list[str]:
    """The pages the header's section menus lead to (a walk of the main menu reaches only each
    section's first page)."""
    from django.urls import reverse

    from portal.navigation import SECTIONS

    return [reverse(name) for section in SECTIONS for name, _label in section.pages]
