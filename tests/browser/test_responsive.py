"""The pages fit a phone's width: wide tables scroll inside their box, the page never sideways."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_portal_role
from tests.pages.conftest import make_server, shop, submit_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
#: What sticks out past the phone's width, to name in a failure.
WIDEST = (
    "[...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > 392).slice(0, 5)"
    ".map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"
)


def test_pages_fit_a_phone(open_as, shop):  # noqa: F811
    submit_server(shop, count=2)
    submit_server(shop, secret=True)
    longest = submit_server(shop, name="a" * 60, count=1)  # no spaces: it must wrap
    server = make_server(shop.low, "alpha", addresses=[{"address": "10.1.0.5", "network": "n"}])
    make_server(shop.high, "bravo")
    operator = make_portal_role("olga", "operate_portal")
    pages = [
        (shop.requester, reverse("dashboard")),
        (shop.requester, reverse("request-list")),
        (shop.requester, longest.get_absolute_url()),
        (shop.approver, reverse("approval-inbox")),
        (shop.requester, reverse("server-list")),
        (shop.requester, reverse("network-list")),
        (shop.requester, reverse("server-detail", args=[server.pk])),
        (shop.requester, reverse("server-action", args=[server.pk, "stop"])),
        (shop.requester, reverse("network-detail", args=[shop.low_net.pk])),
        (operator, reverse("operator-overview")),
    ]
    for user, path in pages:
        page = open_as(user, path, viewport=PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(WIDEST)
        assert width <= PHONE["width"], f"{path} is {width}px wide on a phone: {wide}"


@pytest.mark.parametrize("locale", ["en-GB", "fr-BE"])
def test_the_header_fits_at_1366_in_both_languages(open_as, shop, locale):  # noqa: F811
    """The operator's menu is the longest (Approvals, Operations, Admin): the utility row (search,
    bell, name, language, Sign out) and the menu row each stay one line."""
    operator = make_portal_role("olga", "operate_portal")
    operator.is_staff = True
    operator.first_name, operator.last_name = "Olga", "Operator"
    operator.save()
    page = open_as(operator, reverse("server-list"), viewport={"width": 1366, "height": 768},
                   locale=locale)  # fmt: skip
    for row in (".topbar > *", ".main-nav li", ".section-nav li"):
        tops = page.evaluate(
            f"[...document.querySelectorAll('{row}')]"
            ".map(e => Math.round(e.getBoundingClientRect().top))"
        )
        assert tops and max(tops) - min(tops) < 12, f"{row} wraps at 1366 px ({locale}): {tops}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
