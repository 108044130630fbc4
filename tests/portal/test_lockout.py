"""Lockout: failed sign-ins lock the user name (5) and the real client address (20) for 15
minutes, on the sign-in page, the admin's and the token endpoint; X-Forwarded-For counts only
from a trusted proxy."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from portal.lockout import client_address
from portal.models import AuditEvent, SignInFailures
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-private-passphrase"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()  # the credentials throttle's counts
    yield
    cache.clear()


@pytest.fixture
def ines():
    user = UserFactory(username="ines", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(client, password: str, username: str = "ines", path: str = "/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, ines):
    for _ in range(5):
        response = _sign_in(client, "wrong")
        assert (
            response.status_code == 200 and "enter a correct username" in response.content.decode()
        )
    locked = _sign_in(client, PASSWORD)
    assert locked.status_code == 200
    page = locked.content.decode()
    assert "Too many failed sign-ins for this account or from this address" in page
    assert "Try again in 15 minutes" in page
    assert "_auth_user_id" not in client.session
    # Tries while locked neither count nor lengthen the lock.
    row = SignInFailures.objects.get(key="user:ines")
    assert row.failures == 5
    assert AuditEvent.objects.filter(action="auth.lockout", object_id="user:ines").count() == 1
    # The admin's sign-in is locked too.
    admin = _sign_in(client, PASSWORD, path="/admin/login/?next=/admin/")
    assert "Too many failed sign-ins" in admin.content.decode()
    # Once the lock has passed, the right password works and clears the count.
    SignInFailures.objects.filter(key="user:ines").update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert _sign_in(client, PASSWORD).status_code == 302
    assert not SignInFailures.objects.filter(key="user:ines").exists()


def test_failures_outside_the_window_start_a_new_count(client, ines):
    for _ in range(4):
        _sign_in(client, "wrong")
    SignInFailures.objects.filter(key="user:ines").update(
        window_started_at=timezone.now() - timedelta(minutes=16)
    )
    _sign_in(client, "wrong")
    assert SignInFailures.objects.get(key="user:ines").failures == 1
    assert _sign_in(client, PASSWORD).status_code == 302


def test_twenty_failures_from_one_address_lock_it_for_every_name(client, ines):
    for i in range(20):
        _sign_in(client, "wrong", username=f"guess{i}")
    assert _sign_in(client, PASSWORD).status_code == 200  # ines, from the locked address
    elsewhere = client.__class__()
    assert _sign_in(elsewhere, PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302


def test_a_faked_forwarded_for_does_not_change_the_address(client, ines, settings):
    for i in range(20):
        _sign_in(client, "wrong", username=f"g{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert SignInFailures.objects.get(key="addr:127.0.0.1").locked_until is not None
    assert not SignInFailures.objects.filter(key__startswith="addr:198.").exists()


def test_the_forwarded_address_counts_when_a_trusted_proxy_says_it(settings):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/24"]

    class Request:
        def __init__(self, peer: str, forwarded: str = "") -> None:
            self.META = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded}

    assert client_address(Request("10.0.0.5", "203.0.113.7")) == "203.0.113.7"
    # A client's own X-Forwarded-For entry before the proxy's is not believed.
    assert client_address(Request("10.0.0.5", "1.2.3.4, 203.0.113.7")) == "203.0.113.7"
    assert client_address(Request("10.0.0.5", "203.0.113.7, 10.0.0.9")) == "203.0.113.7"
    assert client_address(Request("192.0.2.1", "203.0.113.7")) == "192.0.2.1"


def _basic(password: str, username: str = "ines") -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def test_the_token_endpoint_counts_failures_and_is_locked_too(ines, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "credentials": "100/min",
        },
    }  # fmt: skip
    api = APIClient()
    for _ in range(5):
        assert api.post("/api/v1/tokens/", {"name": "x"}, **_basic("wrong")).status_code == 401
    locked = api.post("/api/v1/tokens/", {"name": "x"}, **_basic(PASSWORD))
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["message"]
    assert int(locked["Retry-After"]) > 800


def test_the_credentials_throttle_keys_on_the_real_address(ines, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "credentials": "3/min",
        },
    }  # fmt: skip
    api = APIClient()
    codes = [
        api.post("/api/v1/tokens/", {"name": "x"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
                 **_basic("wrong", username=f"u{i}")).status_code
        for i in range(4)
    ]  # fmt: skip
    assert codes == [401, 401, 401, 429]
