"""A second factor: operators, auditors and security officers set one up at their first sign-in
and give a code at each; recovery codes work once; the admin and the API are behind it too."""

from __future__ import annotations

import base64
import io
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from portal.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-private-passphrase"


def _person(username: str, *, operator: bool = False):
    user = UserFactory(username=username, is_staff=operator)
    user.set_password(PASSWORD)
    user.save()
    if operator:
        group, _ = Group.objects.get_or_create(name="operate_portal")
        group.permissions.add(Permission.objects.get(codename="operate_portal"))
        user.groups.add(group)
    return user


@pytest.fixture(autouse=True)
def _no_waiting_between_codes(settings):
    """django-otp makes a wrong code delay the next try (1 s, 2 s, 4 s...): not in these tests."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def _sign_in(client, user) -> str:
    form = {"username": user.username, "password": PASSWORD, "next": "/servers/"}
    response = client.post("/login/?next=/servers/", form)
    assert response.status_code == 302
    return response["Location"]


def _code(user, *, step: int = 0) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, t0=device.t0, step=device.step, drift=step):06d}"


def test_an_operator_sets_it_up_at_the_first_sign_in_then_gives_a_code_each_time(client):
    olga = _person("olga", operator=True)
    _sign_in(client, olga)
    held = client.get("/servers/")
    assert held.status_code == 302
    assert held["Location"] == "/account/two-factor/?next=/servers/"
    for path in ("/", "/admin/", "/requests/"):
        assert client.get(path)["Location"].startswith("/account/two-factor/")
    api = client.get("/api/v1/servers/")
    assert api.status_code == 403 and api.json()["code"] == "second_factor"

    page = client.get("/account/two-factor/?next=/servers/").content.decode()
    assert "Your role needs a second factor" in page
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)[1].replace(" ", "")
    device = TOTPDevice.objects.get(user=olga, confirmed=False)
    assert base64.b32decode(secret) == device.bin_key
    wrong = client.post("/account/two-factor/", {"code": "000000", "next": "/servers/"})
    assert wrong.status_code == 400 and "not the code your app shows" in wrong.content.decode()
    done = client.post("/account/two-factor/", {"code": _code(olga), "next": "/servers/"})
    codes = re.findall(r"<li><code>(\d{10})</code></li>", done.content.decode())
    assert len(codes) == 10 and "not shown again" in done.content.decode()
    assert client.get("/servers/").status_code == 200  # this session gave the code
    assert AuditEvent.objects.filter(action="auth.second_factor_enrolled").count() == 1

    # The next sign-in asks for a code; a recovery code works once.
    client.logout()
    assert _sign_in(client, olga) == "/servers/"
    assert client.get("/servers/")["Location"] == "/login/verify/?next=/servers/"
    bad = client.post("/login/verify/", {"code": "123456", "next": "/servers/"})
    assert bad.status_code == 400 and "not right" in bad.content.decode()
    good = client.post("/login/verify/", {"code": codes[0], "next": "/servers/"})
    assert good.status_code == 302 and good["Location"] == "/servers/"
    assert client.get("/admin/").status_code == 200
    client.logout()
    _sign_in(client, olga)
    again = client.post("/login/verify/", {"code": codes[0], "next": "/servers/"})
    assert again.status_code == 400  # used up
    assert client.post("/login/verify/", {"code": _code(olga, step=1)}).status_code == 302


def test_people_without_such_a_role_are_not_asked(client):
    member = _person("mia")
    assert _sign_in(client, member) == "/servers/"
    assert client.get("/servers/").status_code == 200


def test_a_password_alone_mints_no_token_for_an_account_with_a_second_factor():
    olga = _person("olga", operator=True)
    raw = base64.b64encode(f"olga:{PASSWORD}".encode()).decode()
    response = APIClient().post("/api/v1/tokens/", {"name": "x"}, HTTP_AUTHORIZATION=f"Basic {raw}")
    assert response.status_code == 401
    assert "create tokens in the browser" in response.json()["message"]
    assert olga.api_tokens.count() == 0


def test_an_operator_resets_a_lost_second_factor(client):
    olga, admin = _person("olga", operator=True), _person("root", operator=True)
    TOTPDevice.objects.create(user=olga, name="phone", confirmed=True)
    call_command("second_factor_reset", "olga", "--by", "root", stdout=io.StringIO())
    assert not TOTPDevice.objects.filter(user=olga).exists()
    assert AuditEvent.objects.filter(action="auth.second_factor_reset", actor=admin).exists()
    _sign_in(client, olga)
    assert client.get("/")["Location"].startswith("/account/two-factor/")  # enrols again
