"""Public SSH keys in a user's profile: reading a pasted key strictly, adding and removing keys.

A key is accepted only in OpenSSH's one-line form (what a ``.pub`` file holds) and only of a
type and size the agency accepts: ed25519, ECDSA (P-256, P-384, P-521) or RSA of at least
3072 bits. Everything else is refused with a message that says what to do instead, since the
person pasting it is usually one ``ssh-keygen`` away from a good key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.audit import audit_record
from portal.models import SshKey

MIN_RSA_BITS = 3072
MAX_KEY_CHARS = 8192
MAX_KEYS_PER_USER = 50
NAME_MAX = 100
KEYGEN_ADVICE = gettext_lazy("Make one with: ssh-keygen -t ed25519")
_SECURITY_KEY_TYPES = ("sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
_KEY_TYPE = re.compile(r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521))$")


@dataclass(frozen=True)
class ParsedKey:
    """A public key read from its text: what is stored, shown and sent to the cloud."""

    key_type: str
    bits: int
    fingerprint: str
    comment: str
    blob: bytes

    @property
    def openssh(self) -> str:
        """The key as the cloud gets it: type and key, without the comment."""
        return f"{self.key_type} {base64.b64encode(self.blob).decode()}"

    @property
    def md5_fingerprint(self) -> str:
        """The form Nova shows for a key pair (colon-separated MD5 of the key)."""
        digest = hashlib.md5(self.blob, usedforsecurity=False).hexdigest()
        return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def sha256_fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse_public_key(text: str) -> ParsedKey:
    """Read one OpenSSH public key; raises ValidationError with advice when it is not one."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Paste a public key, e.g. the contents of ~/.ssh/id_ed25519.pub."))
    if "PRIVATE KEY" in text:
        raise ValidationError(
            _(
                "This is a private key. Never share it: paste the public key (the .pub file) "
                "instead."
            )
        )
    if len(text) > MAX_KEY_CHARS:
        raise ValidationError(
            _("A public key is at most %(count)d characters.") % {"count": MAX_KEY_CHARS}
        )
    if "BEGIN SSH2 PUBLIC KEY" in text or "BEGIN PUBLIC KEY" in text:
        raise ValidationError(
            _("Paste the key in OpenSSH's one-line form. Convert it with: ssh-keygen -i -f key.pub")
        )
    if "\n" in text or "\r" in text:
        raise ValidationError(_("Paste one key, on one line."))
    parts = text.split(None, 2)
    key_type = parts[0]
    if key_type in _SECURITY_KEY_TYPES:
        raise ValidationError(
            _(
                "Keys held on a security token (sk-…) cannot be put on a server by the cloud. "
                "%(advice)s"
            )
            % {"advice": KEYGEN_ADVICE}
        )
    if key_type == "ssh-dss":
        raise ValidationError(
            _("DSA keys are no longer accepted. %(advice)s") % {"advice": KEYGEN_ADVICE}
        )
    if not _KEY_TYPE.match(key_type):
        raise ValidationError(
            _(
                "This is not an OpenSSH public key: it should start with ssh-ed25519, "
                "ecdsa-sha2-nistp256 or ssh-rsa (authorized_keys options are not accepted)."
            )
        )
    if len(parts) < 2:
        raise ValidationError(_("The key itself is missing after its type."))
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(_("The key is damaged: its base64 part does not decode.")) from None
    try:
        key = load_ssh_public_key(f"{key_type} {parts[1]}".encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ValidationError(
            _("The key is damaged or does not match its type; copy the whole line again.")
        ) from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        bits = 256
    elif isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
    elif isinstance(key, rsa.RSAPublicKey):
        bits = key.key_size
        if bits < MIN_RSA_BITS:
            raise ValidationError(
                _("This RSA key has %(bits)d bits; at least %(minimum)d are required. %(advice)s")
                % {"bits": bits, "minimum": MIN_RSA_BITS, "advice": KEYGEN_ADVICE}
            )
    else:  # pragma: no cover - the type pattern admits nothing else
        raise ValidationError(
            _("This kind of key is not accepted. %(advice)s") % {"advice": KEYGEN_ADVICE}
        )
    comment = parts[2].strip() if len(parts) > 2 else ""
    return ParsedKey(
        key_type=key_type,
        bits=bits,
        fingerprint=sha256_fingerprint(blob),
        comment=comment[:200],
        blob=blob,
    )


def ssh_keys_of(user) -> QuerySet[SshKey]:
    """The user's own keys. Keys are personal: nobody else sees or picks them, operators too."""
    return SshKey.objects.filter(owner=user).order_by("name", "id")


def ssh_key_add(*, user, public_key: str, name: str = "") -> SshKey:
    """Keep a public key in ``user``'s profile; named after its comment unless named."""
    errors: dict[str, list[str]] = {}
    parsed = None
    try:
        parsed = parse_public_key(public_key)
    except ValidationError as err:
        errors["public_key"] = err.messages
    name = (name or "").strip() or (parsed.comment[:NAME_MAX] if parsed else "")
    if parsed and not name:
        name = f"{parsed.key_type.removeprefix('ssh-')}-{parsed.fingerprint[7:15]}"
    if len(name) > NAME_MAX:
        errors["name"] = [_("At most %(count)d characters.") % {"count": NAME_MAX}]
    if errors:
        raise ValidationError(errors)
    assert parsed is not None
    mine = ssh_keys_of(user)
    if mine.filter(fingerprint=parsed.fingerprint).exists():
        raise ValidationError({"public_key": [_("You already have this key.")]})
    if mine.filter(name=name).exists():
        raise ValidationError({"name": [_("You already have a key with this name.")]})
    if mine.count() >= MAX_KEYS_PER_USER:
        raise ValidationError(
            {
                "public_key": [
                    _("At most %(count)d keys; remove one you no longer use.")
                    % {"count": MAX_KEYS_PER_USER}
                ]
            }
        )
    try:
        with transaction.atomic():
            key = SshKey.objects.create(
                owner=user,
                name=name,
                key_type=parsed.key_type,
                bits=parsed.bits,
                fingerprint=parsed.fingerprint,
                public_key=f"{parsed.openssh} {parsed.comment}".strip(),
            )
            audit_record(
                actor=user,
                action="ssh_key.add",
                obj=key,
                after={"name": name, "fingerprint": parsed.fingerprint, "type": parsed.key_type},
            )
    except IntegrityError:
        # A second tab or client added the same key or name at the same moment.
        raise ValidationError({"public_key": [_("You already have this key or name.")]}) from None
    return key


def ssh_key_remove(*, user, key: SshKey) -> None:
    """Remove one of ``user``'s keys. Servers built with it keep it; new requests cannot pick it."""
    if key.owner_id != user.pk:
        raise ValidationError(_("Only the owner of a key can remove it."))
    with transaction.atomic():
        audit_record(
            actor=user,
            action="ssh_key.remove",
            obj=key,
            before={"name": key.name, "fingerprint": key.fingerprint},
        )
        key.delete()


def keypair_name(allocation_id: int, fingerprint: str) -> str:
    """The cloud key pair that carries a key into an allocation's servers.

    One per allocation and key: Nova's key pairs belong to the account the portal uses, which
    serves every allocation of the region, so the allocation is part of the name; the
    fingerprint makes the name change when the key does.
    """
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    return f"portal-a{allocation_id}-{digest}"
