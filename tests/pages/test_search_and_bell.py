"""The global search finds what a person may see and nothing else, at a fixed number of queries;
the bell tells each person what the portal told them, and only them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from provisioning import notifications
from provisioning.models import FloatingIp, Notification, Volume
from tests.factories import NetworkFactory, make_user
from tests.pages.conftest import make_server, submit_server

pytestmark = pytest.mark.django_db


def _search(client, user, q: str) -> str:
    client.force_login(user)
    answer = client.get(reverse("search"), {"q": q})
    assert answer.status_code == 200
    return answer.content.decode()


def test_search_finds_by_name_number_cloud_id_and_address(client, shop):
    web = make_server(
        shop.low, "web-frontend", addresses=[{"address": "10.0.0.5", "type": "fixed"}]
    )
    make_server(shop.low, "other", addresses=[{"address": "10.0.0.50", "type": "fixed"}])
    FloatingIp.objects.create(
        allocation=shop.low, name="fip", backend_id="fip-1", tag="t", address="192.0.2.7",
        server=web,
    )  # fmt: skip
    Volume.objects.create(allocation=shop.low, name="web-data", backend_id="vol-9", tag="t",
                          size_gb=5)  # fmt: skip
    NetworkFactory(allocation=shop.low, name="web-net")
    request = submit_server(shop, name="web-next")

    page = _search(client, shop.requester, "web")
    for name in ("web-frontend", "web-data", "web-net", f"#{request.pk}"):
        assert name in page
    assert "other" not in page

    assert "web-frontend" in _search(client, shop.requester, "10.0.0.5")
    assert "other" not in _search(client, shop.requester, "10.0.0.5")  # not 10.0.0.50
    assert "web-frontend" in _search(client, shop.requester, "192.0.2.7")
    assert "web-frontend" in _search(client, shop.requester, web.backend_id)
    assert f"#{request.pk}" in _search(client, shop.requester, f"#{request.pk}")
    assert "Nothing you may see matches" in _search(client, shop.requester, "zzz-nothing")


def test_search_shows_nothing_out_of_reach(client, shop, low_only, stranger):
    make_server(shop.high, "hidden-secret", addresses=[{"address": "10.9.9.9", "type": "fixed"}])
    make_server(shop.low, "visible-low")
    secret_request = submit_server(shop, secret=True, name="hidden-plan")

    page = _search(client, low_only, "hidden")
    assert "hidden-secret" not in page and "hidden-plan" not in page
    assert "hidden-secret" not in _search(client, low_only, "10.9.9.9")
    assert f"#{secret_request.pk} " not in _search(client, low_only, str(secret_request.pk))
    assert "visible-low" in _search(client, low_only, "visible")
    # Cleared everywhere at the site, but a member of no tenant: nothing.
    assert "visible-low" not in _search(client, stranger, "visible")
    assert "hidden-secret" not in _search(client, stranger, "hidden")


def test_search_costs_the_same_whatever_it_finds(client, shop):
    def queries() -> int:
        client.force_login(shop.requester)
        client.get(reverse("search"), {"q": "s"})  # warm the session
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("search"), {"q": "srv"})
        return len(captured)

    make_server(shop.low, "srv-0")
    few = queries()
    for i in range(1, 40):
        make_server(shop.low, f"srv-{i}")
        NetworkFactory(allocation=shop.low, name=f"srv-net-{i}")
    assert queries() == few


def test_a_too_short_search_asks_for_more(client, shop):
    assert "Type at least 2 characters." in _search(client, shop.requester, "w")


def test_the_bell_counts_a_person_s_unread_and_opening_marks_it_read(client, shop):
    request = submit_server(shop)
    notifications.send("approvers_new_request", request.pk)
    mine = Notification.objects.get(user=shop.approver)
    assert mine.url == request.get_absolute_url()

    client.force_login(shop.approver)
    assert "1 unread" in client.get(reverse("notification-bell")).content.decode()
    page = client.get(reverse("notification-list")).content.decode()
    assert mine.subject.replace('"', "&quot;") in page or mine.subject in page

    opened = client.get(reverse("notification-open", args=[mine.pk]))
    assert opened.status_code == 302 and opened["Location"] == request.get_absolute_url()
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert "none unread" in client.get(reverse("notification-bell")).content.decode()

    # Someone else's notification is not there at all.
    theirs = Notification.objects.get(user=shop.approver2)
    assert client.get(reverse("notification-open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_touches_only_one_s_own(client, shop):
    for name in ("one", "two"):
        notifications.send("approvers_new_request", submit_server(shop, name=name).pk)
    client.force_login(shop.approver)
    client.post(reverse("notification-list"))
    assert not Notification.objects.filter(user=shop.approver, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=shop.approver2, read_at__isnull=True).count() == 2


def test_someone_without_an_address_is_told_in_the_portal(client, shop):
    from tenants import services as tenancy

    quiet = make_user("quinn", domains=(shop.unclass,), sites=(shop.site,))
    quiet.email = ""
    quiet.save()
    tenancy.membership_set(tenant=shop.tenant, user=quiet, role="approver")
    request = submit_server(shop)
    mailed = notifications.send("approvers_new_request", request.pk)
    assert mailed == 2  # the two approvers with an address
    assert Notification.objects.filter(user=quiet, event__contains=f":{request.pk}:").exists()
    # Sent once: a redelivery tells no one again.
    assert notifications.send("approvers_new_request", request.pk) == 0
    assert Notification.objects.filter(user=quiet).count() == 1
