"""Personal tokens: how they authenticate, what stops them, and how they are made and revoked."""

from __future__ import annotations

import base64
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import ApiToken
from portal.tokens import hash_secret, token_create
from provisioning.models import ResourceRequest

pytestmark = pytest.mark.django_db


def _bearer(secret: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def _basic(username: str, password: str) -> APIClient:
    client = APIClient()
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {raw}")
    return client


def test_only_the_hash_is_stored(shop):
    token, secret = token_create(user=shop.requester, name="ci")
    assert secret.startswith("ptk_") and len(secret) > 40
    assert token.key_hash == hash_secret(secret) and secret not in token.key_hash
    assert secret.startswith(token.prefix)


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_a_token_authenticates_with_either_keyword(shop, keyword):
    _token, secret = token_create(user=shop.requester, name="ci")
    assert _bearer(secret, keyword).get("/api/v1/allocations/").status_code == 200


def test_unknown_expired_and_revoked_tokens_are_refused_clearly(shop):
    assert _bearer("ptk_nonsense").get("/api/v1/sites/").json() == {
        "message": "Invalid token.",
        "code": "authentication_failed",
        "fields": {},
    }
    expired, secret = token_create(user=shop.requester, name="old")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    response = _bearer(secret).get("/api/v1/sites/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "expired on" in response.json()["message"]

    revoked, secret = token_create(user=shop.requester, name="gone")
    client = _bearer(secret)
    assert client.delete(f"/api/v1/tokens/{revoked.pk}/").status_code == 200
    response = client.get("/api/v1/sites/")
    assert response.status_code == 401
    assert "was revoked on" in response.json()["message"]


def test_a_disabled_owner_disables_the_token(shop):
    _token, secret = token_create(user=shop.requester, name="ci")
    shop.requester.is_active = False
    shop.requester.save()
    assert _bearer(secret).get("/api/v1/sites/").status_code == 401


def test_read_only_tokens_read_but_never_write(shop):
    _token, secret = token_create(user=shop.requester, name="ro", read_only=True)
    client = _bearer(secret)
    assert client.get("/api/v1/requests/").status_code == 200
    response = client.post(
        "/api/v1/requests/",
        {"kind": "network", "allocation": shop.low.pk, "justification": "x" * 20, "spec": {}},
        format="json",
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["message"]
    assert not ResourceRequest.objects.exists()


def test_last_used_is_recorded_at_most_once_a_minute(shop, django_assert_num_queries):
    token, secret = token_create(user=shop.requester, name="ci")
    client = _bearer(secret)
    client.get("/api/v1/sites/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/sites/")
    token.refresh_from_db()
    assert token.last_used_at == first  # within the minute: not written again
    later = first + timedelta(minutes=2)
    with mock.patch("django.utils.timezone.now", return_value=later):
        client.get("/api/v1/sites/")
    token.refresh_from_db()
    assert token.last_used_at == later  # a minute on: written again


def test_tokens_are_created_with_a_password_and_shown_once(shop):
    response = _basic("rita", "pw").post(
        "/api/v1/tokens/", {"name": "laptop", "read_only": True}, format="json"
    )
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert _bearer(secret).get("/api/v1/sites/").status_code == 200
    listing = _bearer(secret).get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listing] == ["laptop"]
    assert "secret" not in listing[0]
    assert secret not in str(listing)

    assert _basic("rita", "wrong").post("/api/v1/tokens/", {"name": "x"}).status_code == 401


def test_a_token_cannot_mint_tokens(shop):
    _token, secret = token_create(user=shop.requester, name="ci")
    response = _bearer(secret).post("/api/v1/tokens/", {"name": "child"}, format="json")
    assert response.status_code == 403
    assert "password" in response.json()["message"]


def test_password_guessing_is_throttled(shop, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "1000/min", "anon": "1000/min", "credentials": "2/min"},
    }
    for _ in range(2):
        assert _basic("rita", "wrong").post("/api/v1/tokens/", {"name": "x"}).status_code == 401
    response = _basic("rita", "pw").post("/api/v1/tokens/", {"name": "x"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_nobody_sees_or_revokes_another_users_token(shop, client_for):
    token, _ = token_create(user=shop.approver, name="arno's")
    client = client_for(shop.requester)
    assert client.get(f"/api/v1/tokens/{token.pk}/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_browser_page_creates_shows_once_and_revokes(client, shop):
    client.force_login(shop.requester)
    url = reverse("account-tokens")
    assert client.get(url).status_code == 200

    created = client.post(url, {"name": "desk", "expires_in_days": 30, "create": "1"})
    assert created.status_code == 200
    token = ApiToken.objects.get(owner=shop.requester, name="desk")
    secret = created.context["secret"]
    assert token.key_hash == hash_secret(secret)
    assert secret in created.content.decode()
    assert secret not in client.get(url).content.decode()  # shown once
    assert created["Cache-Control"].startswith("max-age=0")

    response = client.post(url, {"revoke": token.pk})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None

    other, _ = token_create(user=shop.approver, name="not mine")
    assert client.post(url, {"revoke": other.pk}).status_code == 404


def test_the_browser_page_needs_a_login_and_csrf(shop):
    from django.test import Client

    url = reverse("account-tokens")
    assert Client().get(url).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(shop.requester)
    assert strict.post(url, {"name": "x", "create": "1"}).status_code == 403


def test_a_browser_session_creates_tokens_through_the_api_with_csrf(shop):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(shop.requester)
    refused = browser.post("/api/v1/tokens/", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    browser.get(reverse("account-tokens"))  # sets the CSRF cookie
    created = browser.post(
        "/api/v1/tokens/",
        {"name": "x"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert created.status_code == 201
