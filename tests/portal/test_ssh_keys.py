"""SSH keys in the profile: what is accepted, what is refused and why, and the page."""

from __future__ import annotations

import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.models import AuditEvent, SshKey
from portal.ssh_keys import parse_public_key, ssh_key_add, ssh_key_remove, ssh_keys_of
from tests.factories import UserFactory
from tests.keys import dsa_key, ecdsa_key, ed25519_key, rsa_key


def _ssh_keygen_fingerprint(tmp_path, text: str) -> str:
    path = tmp_path / "key.pub"
    path.write_text(text + "\n")
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.split()[1]


@pytest.mark.parametrize(
    ("make", "key_type", "bits"),
    [
        (lambda: ed25519_key("alice@laptop"), "ssh-ed25519", 256),
        (lambda: ecdsa_key(ec.SECP256R1()), "ecdsa-sha2-nistp256", 256),
        (lambda: ecdsa_key(ec.SECP384R1()), "ecdsa-sha2-nistp384", 384),
        (lambda: ecdsa_key(ec.SECP521R1()), "ecdsa-sha2-nistp521", 521),
        (lambda: rsa_key(3072), "ssh-rsa", 3072),
        (lambda: rsa_key(4096), "ssh-rsa", 4096),
    ],
)
def test_accepted_keys_and_their_fingerprints_match_ssh_keygen(tmp_path, make, key_type, bits):
    text = make()
    parsed = parse_public_key("  " + text + "\n")
    assert (parsed.key_type, parsed.bits) == (key_type, bits)
    assert parsed.fingerprint == _ssh_keygen_fingerprint(tmp_path, text)
    assert parsed.openssh == " ".join(text.split()[:2])


def test_the_comment_is_kept_apart_from_the_key():
    parsed = parse_public_key(ed25519_key("alice@laptop with spaces"))
    assert parsed.comment == "alice@laptop with spaces"
    assert "alice" not in parsed.openssh


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Paste a public key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n"
         "-----END OPENSSH PRIVATE KEY-----", "This is a private key"),
        ("---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----", "ssh-keygen -i"),
        ("ssh-ed25519", "The key itself is missing"),
        ("ssh-ed25519 !!!notbase64", "does not decode"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDamaged", "damaged"),
        ('from="10.0.0.1" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5', "not an OpenSSH public key"),
        ("sk-ssh-ed25519@openssh.com AAAA", "security token"),
        ("hello world", "not an OpenSSH public key"),
        ("x" * 9000, "at most 8192"),
    ],
)  # fmt: skip
def test_what_is_not_a_public_key_is_refused_with_advice(text, message):
    with pytest.raises(ValidationError) as err:
        parse_public_key(text)
    assert message in " ".join(err.value.messages)


def test_weak_and_mismatched_keys_are_refused():
    with pytest.raises(ValidationError, match="2048 bits; at least 3072"):
        parse_public_key(rsa_key(2048))
    with pytest.raises(ValidationError, match="DSA keys are no longer accepted"):
        parse_public_key(dsa_key())
    body = ed25519_key().split()[1]
    with pytest.raises(ValidationError, match="does not match its type"):
        parse_public_key(f"ssh-rsa {body}")
    with pytest.raises(ValidationError, match="one line"):
        parse_public_key(ed25519_key() + "\n" + ed25519_key())


@pytest.mark.django_db
def test_keys_are_added_once_named_and_audited():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    text = ed25519_key("alice@laptop")
    key = ssh_key_add(user=alice, public_key=text)
    assert (key.name, key.key_type, key.bits) == ("alice@laptop", "ssh-ed25519", 256)
    assert key.public_key == text
    with pytest.raises(ValidationError) as err:
        ssh_key_add(user=alice, public_key=text, name="again")
    assert err.value.message_dict == {"public_key": ["You already have this key."]}
    with pytest.raises(ValidationError) as err:
        ssh_key_add(user=alice, public_key=ed25519_key(), name="alice@laptop")
    assert err.value.message_dict == {"name": ["You already have a key with this name."]}
    unnamed = ssh_key_add(user=alice, public_key=ed25519_key(comment=""))
    assert unnamed.name.startswith("ed25519-")
    # The same key is someone else's own too: keys are per person.
    assert ssh_key_add(user=bob, public_key=text).fingerprint == key.fingerprint
    assert list(ssh_keys_of(alice)) == sorted([key, unnamed], key=lambda k: k.name)
    with pytest.raises(ValidationError, match="Only the owner"):
        ssh_key_remove(user=bob, key=key)
    ssh_key_remove(user=alice, key=key)
    assert not SshKey.objects.filter(pk=key.pk).exists()
    actions = list(
        AuditEvent.objects.filter(object_type="portal.sshkey")
        .order_by("id")
        .values_list("action", "actor__username")
    )
    assert actions == [
        ("ssh_key.add", "alice"),
        ("ssh_key.add", "alice"),
        ("ssh_key.add", "bob"),
        ("ssh_key.remove", "alice"),
    ]


@pytest.mark.django_db
def test_the_keys_page_adds_shows_and_removes_only_ones_own(client):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    bobs = ssh_key_add(user=bob, public_key=ed25519_key(), name="bobs-secret-laptop")
    client.force_login(alice)
    url = reverse("account-ssh-keys")
    page = client.get(url)
    assert page.status_code == 200 and b"You have no keys yet" in page.content
    assert b"bobs-secret-laptop" not in page.content

    refused = client.post(url, {"public_key": rsa_key(2048), "name": "old"})
    assert refused.status_code == 400
    assert b"at least 3072" in refused.content
    assert not ssh_keys_of(alice).exists()

    added = client.post(url, {"public_key": ed25519_key(), "name": "work"}, follow=True)
    assert added.status_code == 200
    key = ssh_keys_of(alice).get()
    assert key.fingerprint.encode() in added.content

    # Another user's key, or garbage, is "not found"; nothing is removed.
    assert client.post(url, {"remove": bobs.pk}).status_code == 404
    assert client.post(url, {"remove": "x"}).status_code == 404
    assert SshKey.objects.filter(pk=bobs.pk).exists()
    removed = client.post(url, {"remove": key.pk}, follow=True)
    assert b"is removed" in removed.content
    assert not ssh_keys_of(alice).exists()
