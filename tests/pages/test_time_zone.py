"""Each person's time zone: pages show every time in it, with its name; the API stays in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from portal.models import Preferences
from provisioning.models import ResourceRequest
from tests.pages.conftest import submit_server

pytestmark = pytest.mark.django_db
NOON_UTC = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def request_at_noon(shop):
    filed = submit_server(shop, name="tz-check")
    ResourceRequest.objects.filter(pk=filed.pk).update(created_at=NOON_UTC)
    return filed


def test_pages_show_brussels_time_until_someone_chooses(client, shop, request_at_noon):
    client.force_login(shop.requester)
    page = client.get("/requests/").content.decode()
    assert "2026-01-15 13:00 CET" in page


def test_a_chosen_zone_is_kept_and_used_from_the_next_page_on(client, shop, request_at_noon):
    client.force_login(shop.requester)
    answer = client.post("/account/preferences/", {"time_zone": "Europe/Lisbon"})
    assert answer.status_code == 302
    assert Preferences.objects.get(user=shop.requester).time_zone == "Europe/Lisbon"
    assert "2026-01-15 12:00 WET" in client.get("/requests/").content.decode()
    # Kept across sign-ins: read once when signing in.
    client.logout()
    client.force_login(shop.requester)
    assert "2026-01-15 12:00 WET" in client.get("/requests/").content.decode()
    page = client.get("/account/preferences/").content.decode()
    assert '<option value="Europe/Lisbon" selected>' in page


def test_an_unknown_zone_is_a_field_error(client, shop):
    client.force_login(shop.requester)
    answer = client.post("/account/preferences/", {"time_zone": "Mars/Olympus_Mons"})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert 'aria-invalid="true"' in body and 'id="tz-error"' in body
    assert not Preferences.objects.exists()


def test_the_api_answers_in_utc_whatever_the_preference(client, shop, request_at_noon):
    Preferences.objects.create(user=shop.requester, time_zone="Asia/Tokyo")
    api = APIClient()
    api.force_login(shop.requester)
    body = api.get(f"/api/v1/requests/{request_at_noon.pk}/").json()
    assert body["created_at"] in ("2026-01-15T12:00:00Z", "2026-01-15T12:00:00+00:00")
