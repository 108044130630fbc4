"""French and English: from the browser until the person chooses, then their choice, everywhere
they read the portal (pages, e-mails); the API speaks what its client asks for.

Expected texts are looked up in the catalogue (``gettext`` under ``override("fr")``), so these
tests follow the translation rather than pin its wording, and fail if the French is missing.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from portal.models import Preferences
from portal.tokens import token_create
from provisioning import notifications, services
from provisioning.models import Kind
from tests.factories import server_spec

pytestmark = pytest.mark.django_db


def french(text: str) -> str:
    with translation.override("fr"):
        found = gettext(text)
    assert found != text, f"no French for {text!r}"
    return found


def test_the_browser_s_language_is_spoken_until_the_person_chooses(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9,en;q=0.5")
    assert page["Content-Language"] == "fr"
    html = page.content.decode()
    assert '<html lang="fr">' in html
    assert french("Skip to content") in html
    # The switch offers the other language, named in itself.
    assert 'lang="en-gb">English</button>' in html

    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="en-gb">' in english and "Skip to content" in english


def test_switching_signed_out_keeps_the_choice_in_a_cookie(client):
    answer = client.post("/language/", {"language": "fr", "next": "/login/"})
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="fr">' in page.content.decode()


def test_switching_signed_in_is_kept_with_the_person_and_beats_the_browser(client, shop):
    client.force_login(shop.requester)
    answer = client.post("/language/", {"language": "fr", "next": "/servers/"})
    assert answer["Location"] == "/servers/"
    assert Preferences.objects.get(user=shop.requester).language == "fr"
    page = client.get("/servers/", HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<html lang="fr">' in page and french("Servers") in page

    # Kept across sign-ins, on another browser (no cookie) that asks for English.
    other = type(client)()
    other.force_login(shop.requester)
    page = other.get("/", HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<html lang="fr">' in page and french("Dashboard") in page

    client.post("/language/", {"language": "en-gb", "next": "/"})
    assert Preferences.objects.get(user=shop.requester).language == "en-gb"
    assert '<html lang="en-gb">' in client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()


def test_preferences_page_offers_following_the_browser(client, shop):
    client.force_login(shop.requester)
    client.post("/account/preferences/", {"time_zone": "Europe/Lisbon", "language": "fr"})
    assert Preferences.objects.get(user=shop.requester).language == "fr"
    answer = client.post("/account/preferences/", {"time_zone": "Europe/Lisbon", "language": ""})
    assert answer.status_code == 302
    assert Preferences.objects.get(user=shop.requester).language == ""
    page = client.get("/account/preferences/", HTTP_ACCEPT_LANGUAGE="fr-BE").content.decode()
    assert '<html lang="fr">' in page


@pytest.mark.parametrize(
    ("data", "status"),
    [({"language": "de"}, 400), ({"language": "fr", "next": "https://elsewhere.example/"}, 302)],
)
def test_the_switch_refuses_unknown_languages_and_foreign_targets(client, data, status):
    answer = client.post("/language/", data)
    assert answer.status_code == status
    if status == 302:
        assert answer["Location"] == "/"


def test_api_errors_follow_accept_language_not_the_page_preference(shop):
    Preferences.objects.create(user=shop.requester, language="fr")
    _token, secret = token_create(user=shop.requester, name="ci")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    english = api.post("/api/v1/requests/", {"kind": "server"}, format="json")
    assert english.status_code == 400
    assert english["Content-Language"] == "en-gb"

    answer = api.post(
        "/api/v1/requests/", {"kind": "server"}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert answer.status_code == 400 and answer["Content-Language"] == "fr"
    # DRF's own field messages and the portal's.
    assert french("This field is required.") in str(answer.json())
    assert english.json().keys() == answer.json().keys()  # field names never change


def test_e_mails_are_written_in_the_recipient_s_language(shop):
    Preferences.objects.create(user=shop.approver, language="fr")
    request = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.high,
        spec=server_spec(shop.high_net), justification="Needed for the exercise next week.",
    )  # fmt: skip
    notifications.send("approvers_new_request", request.pk)
    by_recipient = {m.to[0]: m for m in mail.outbox}
    french_mail = by_recipient[shop.approver.email]
    english_mail = by_recipient[shop.approver2.email]
    assert "waits for your decision" in english_mail.subject
    assert "waits for your decision" not in french_mail.subject
    assert french_mail.subject.startswith(f"[{shop.secret.marking}]")


def test_the_timeline_shows_the_portal_s_notes_in_the_reader_s_language(client, shop):
    from provisioning.services.transitions import note_shown

    request = services.request_submit(
        user=shop.requester, kind=Kind.SERVER, allocation=shop.low,
        spec=server_spec(shop.low_net), justification="Needed for the exercise next week.",
    )  # fmt: skip
    services.request_reject(user=shop.approver, request=request, comment="Not this quarter.")
    client.force_login(shop.requester)
    page = client.get(request.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f"— {french('Submitted')}" in page and "— Submitted" not in page
    assert "Not this quarter." in page  # what a person wrote stays as written
    with translation.override("fr"):
        assert note_shown("Attempt 3") == gettext("Attempt %(n)s") % {"n": 3} != "Attempt 3"
        assert note_shown("Attempt to reach the cloud") == "Attempt to reach the cloud"
