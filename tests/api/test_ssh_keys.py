"""SSH keys over the API, and a server request that names one (API, plan page, spec)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import SshKey
from portal.ssh_keys import keypair_name, parse_public_key, ssh_key_add
from provisioning.models import ResourceRequest
from tests.api.conftest import make_token_client
from tests.keys import ed25519_key, rsa_key

pytestmark = pytest.mark.django_db
WHY = "A server for the planning tool, please."


def _server(shop, **spec):
    return {
        "kind": "server",
        "allocation": shop.low.pk,
        "justification": WHY,
        "spec": {"name": "web", "flavor": "m1.small", "image": "debian-12",
                 "networks": [shop.low_net.pk], **spec},
    }  # fmt: skip


def test_keys_are_listed_added_read_and_removed_by_their_owner_only(shop, client_for):
    mine, theirs = client_for(shop.requester), client_for(shop.approver)
    text = ed25519_key("req@laptop")
    created = mine.post("/api/v1/ssh-keys/", {"public_key": text}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "req@laptop" and body["key_type"] == "ssh-ed25519"
    assert body["fingerprint"] == parse_public_key(text).fingerprint and body["bits"] == 256
    url = f"/api/v1/ssh-keys/{body['id']}/"
    assert mine.get(url).json()["public_key"] == text
    assert [k["id"] for k in mine.get("/api/v1/ssh-keys/").json()["results"]] == [body["id"]]
    assert theirs.get("/api/v1/ssh-keys/").json()["results"] == []
    assert theirs.get(url).status_code == 404
    assert theirs.delete(url).status_code == 404
    assert mine.delete(url).status_code == 204
    assert not SshKey.objects.exists()


def test_bad_keys_get_field_messages(shop, client_for):
    client = client_for(shop.requester)
    weak = client.post("/api/v1/ssh-keys/", {"public_key": rsa_key(2048)}, format="json")
    assert weak.status_code == 400
    assert weak.json()["code"] == "invalid"
    assert "at least 3072" in weak.json()["fields"]["public_key"][0]
    missing = client.post("/api/v1/ssh-keys/", {"name": "x"}, format="json")
    assert missing.status_code == 400 and "public_key" in missing.json()["fields"]
    text = ed25519_key()
    assert client.post("/api/v1/ssh-keys/", {"public_key": text}, format="json").status_code == 201
    again = client.post("/api/v1/ssh-keys/", {"public_key": text}, format="json")
    assert again.json()["fields"] == {"public_key": ["You already have this key."]}


def test_read_only_tokens_cannot_add_keys(shop):
    client = make_token_client(shop.requester, read_only=True)
    refused = client.post("/api/v1/ssh-keys/", {"public_key": ed25519_key()}, format="json")
    assert refused.status_code == 403
    assert not SshKey.objects.exists()


def test_a_server_request_carries_a_copy_of_the_requesters_key(shop, client_for):
    key = ssh_key_add(user=shop.requester, public_key=ed25519_key("req@laptop"), name="laptop")
    created = client_for(shop.requester).post(
        "/api/v1/requests/", _server(shop, ssh_key=key.pk), format="json"
    )
    assert created.status_code == 201, created.content
    spec = ResourceRequest.objects.get(pk=created.json()["id"]).spec
    assert spec["ssh_key"] == {
        "id": key.pk,
        "name": "laptop",
        "fingerprint": key.fingerprint,
        "key_type": "ssh-ed25519",
        "public_key": parse_public_key(key.public_key).openssh,
        "keypair": keypair_name(shop.low.pk, key.fingerprint),
    }
    # Removing the key later changes nothing the approvers saw or the worker will build.
    key.delete()
    assert ResourceRequest.objects.get(pk=created.json()["id"]).spec == spec


def test_a_server_request_cannot_pick_someone_elses_key(shop, client_for):
    theirs = ssh_key_add(user=shop.approver, public_key=ed25519_key(), name="approvers-own")
    response = client_for(shop.requester).post(
        "/api/v1/requests/", _server(shop, ssh_key=theirs.pk), format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["ssh_key"] == [
        f"No key {theirs.pk} among your SSH keys; add it at /account/keys/ first."
    ]
    assert b"approvers-own" not in response.content
    assert not ResourceRequest.objects.exists()


def test_key_name_is_refused_with_what_to_do_instead(shop, client_for):
    response = client_for(shop.requester).post(
        "/api/v1/requests/", _server(shop, key_name="mine"), format="json"
    )
    assert response.status_code == 400
    assert "give its id as ssh_key" in response.json()["fields"]["key_name"][0]


def test_the_plan_page_shows_the_key_and_the_form_offers_only_ones_own(shop, client):
    key = ssh_key_add(user=shop.requester, public_key=ed25519_key(), name="laptop")
    ssh_key_add(user=shop.approver, public_key=ed25519_key(), name="approvers-own")
    client.force_login(shop.requester)
    url = reverse("request-create-server")
    form = client.get(url, {"allocation": shop.low.pk})
    assert b"laptop" in form.content and b"approvers-own" not in form.content
    plan = client.post(url, {
        "allocation": shop.low.pk, "name": "web", "flavor": "m1.small", "image": "debian-12",
        "networks": [shop.low_net.pk], "count": 1, "ssh_key": key.pk, "justification": WHY,
        "action": "plan",
    })  # fmt: skip
    assert plan.status_code == 200
    assert key.fingerprint.encode() in plan.content
    assert b"Plan: check before you submit" in plan.content
