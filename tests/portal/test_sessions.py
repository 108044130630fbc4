"""Sessions end after idle time and after their lifetime; signed-in answers are never stored."""

from __future__ import annotations

import time

import pytest

from portal.sessions import SEEN, STARTED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    user = UserFactory(username="ines")
    user.set_password("a-long-and-private-passphrase")
    user.save()
    assert client.post("/login/", {"username": "ines", "password": "a-long-and-private-passphrase"})
    return client


def _age(client, **seconds_ago: int) -> None:
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[{"started": STARTED, "seen": SEEN}[key]] = now - ago
    session.save()


def test_a_signed_in_answer_is_not_stored_and_the_session_lives(signed_in, settings):
    response = signed_in.get("/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    _age(signed_in, seen=settings.PORTAL_SESSION_IDLE_SECONDS - 30)
    assert signed_in.get("/").status_code == 200  # active within the idle time: kept


def test_an_idle_session_is_signed_out_with_the_reason(signed_in, settings):
    _age(signed_in, seen=settings.PORTAL_SESSION_IDLE_SECONDS + 1)
    response = signed_in.get("/servers/?status=ACTIVE")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fservers%2F%3Fstatus%3DACTIVE"
    page = signed_in.get(response["Location"]).content.decode()
    assert "signed out after 30 minutes without activity" in page
    assert signed_in.get("/").status_code == 302  # really signed out


def test_a_session_ends_after_its_lifetime_however_busy(signed_in, settings):
    _age(signed_in, started=settings.PORTAL_SESSION_MAX_SECONDS + 1, seen=5)
    response = signed_in.get("/api/v1/servers/")
    assert response.status_code == 401
    assert response.json() == {
        "message": "You were signed out: a session lasts at most 12 hours.",
        "code": "not_authenticated",
        "fields": {},
    }
    # Signing in again starts the clocks afresh.
    signed_in.post("/login/", {"username": "ines", "password": "a-long-and-private-passphrase"})
    assert signed_in.get("/").status_code == 200


def test_the_markings_stylesheet_gives_each_domain_its_colours(client):
    from tests.factories import SecurityDomainFactory

    domain = SecurityDomainFactory(banner_colour="#c8102e")
    response = client.get("/markings.css")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    css = response.content.decode()
    assert f".marking-{domain.pk} {{ background: #c8102e; color: #ffffff; }}" in css
    assert ".marking-unmarked {" in css
    assert response["Cache-Control"] == "max-age=60"  # its own, kept for signed-in people too
