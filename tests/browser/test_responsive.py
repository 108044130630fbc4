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
