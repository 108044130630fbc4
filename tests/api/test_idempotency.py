"""Idempotency-Key: a retry replays the first answer, a reused key for another body is refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import IdempotencyKey
from provisioning.models import ResourceRequest

URL = "/api/v1/requests/"


def _network(shop, name: str = "idem-net", cidr: str = "10.50.0.0/24") -> dict:
    return {
        "kind": "network",
        "allocation": shop.low.pk,
        "justification": "Network for the idempotency checks.",
        "spec": {"name": name, "cidr": cidr},
    }


@pytest.mark.django_db
def test_same_key_twice_creates_one_request_and_replays_the_answer(shop, client_for):
    client = client_for(shop.requester)
    first = client.post(URL, _network(shop), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, _network(shop), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ResourceRequest.objects.filter(spec__name="idem-net").count() == 1


@pytest.mark.django_db
def test_errors_are_replayed_too(shop, client_for):
    client = client_for(shop.requester)
    bad = {**_network(shop), "justification": "short"}
    first = client.post(URL, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-err")
    again = client.post(URL, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-err")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


@pytest.mark.django_db
def test_same_key_with_another_body_is_refused_with_422(shop, client_for):
    client = client_for(shop.requester)
    client.post(URL, _network(shop), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(
        URL, _network(shop, "other-net", "10.51.0.0/24"), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert "different request" in other.json()["message"]
    assert not ResourceRequest.objects.filter(spec__name="other-net").exists()


@pytest.mark.django_db
def test_keys_are_per_user_and_expire_after_a_day(shop, client_for):
    body = _network(shop)
    client_for(shop.requester).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    # Another user with the same key is another key.
    response = client_for(shop.approver).post(
        URL, _network(shop, "arno-net", "10.52.0.0/24"), format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert response.status_code == 201
    # After 24 h the key is forgotten: the same key runs again (and the CIDR now overlaps).
    IdempotencyKey.objects.filter(user=shop.requester).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    replay = client_for(shop.requester).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert "Idempotent-Replayed" not in replay
    assert replay.status_code == 400
    assert "overlaps" in str(replay.json()["fields"])


@pytest.mark.django_db
def test_without_a_key_every_post_counts(shop, client_for):
    client = client_for(shop.requester)
    client.post(URL, _network(shop), format="json")
    second = client.post(URL, _network(shop), format="json")
    assert second.status_code == 400  # the CIDR is taken by the first: not a replay
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_an_overlong_key_is_refused(shop, client_for):
    response = client_for(shop.requester).post(
        URL, _network(shop), format="json", HTTP_IDEMPOTENCY_KEY="x" * 300
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_request(shop):
    from tests.api.conftest import make_token_client

    body = _network(shop, "race-net", "10.60.0.0/24")
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def post() -> None:
        client: APIClient = make_token_client(shop.requester)
        try:
            barrier.wait()
            response = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="race")
            answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ResourceRequest.objects.filter(spec__name="race-net").count() == 1
    assert IdempotencyKey.objects.filter(key="race").count() == 1
    # Duplicates waited for the first and replayed it (or, past the wait, got 409).
    assert sorted(answers)[0] == 201
    assert set(answers) <= {201, 409}


@pytest.mark.django_db
def test_a_replayed_token_creation_never_repeats_the_secret(shop, client):
    from portal.tokens import hash_secret

    client.force_login(shop.requester)
    first = client.post(
        "/api/v1/tokens/",
        {"name": "laptop"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="tok-1",
    )
    assert first.status_code == 201
    secret = first.json()["secret"]
    assert secret.startswith("ptk_")
    stored = IdempotencyKey.objects.get(key="tok-1")
    assert secret not in str(stored.body) and hash_secret(secret) not in str(stored.body)
    again = client.post(
        "/api/v1/tokens/",
        {"name": "laptop"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="tok-1",
    )
    assert again.status_code == 201
    assert again.json()["secret"] == ""
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.django_db
def test_form_encoded_posts_are_idempotent_too(shop, client_for):
    client = client_for(shop.requester)
    url = f"/api/v1/requests/{shop.low_net.pk}/cancel/"  # no such request: 404, replayed
    for fmt in ("multipart", None):
        first = client.post(url, {"reason": "r"}, format=fmt, HTTP_IDEMPOTENCY_KEY=f"f-{fmt}")
        again = client.post(url, {"reason": "r"}, format=fmt, HTTP_IDEMPOTENCY_KEY=f"f-{fmt}")
        assert first.status_code == again.status_code == 404
        assert again["Idempotent-Replayed"] == "true"
