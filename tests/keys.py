"""Real SSH public keys for tests, made with cryptography (the same library that reads them)."""

from __future__ import annotations

import warnings
from functools import cache

from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _openssh(private, comment: str) -> str:
    text = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return f"{text} {comment}".strip()


def ed25519_key(comment: str = "alice@laptop") -> str:
    return _openssh(ed25519.Ed25519PrivateKey.generate(), comment)


def ecdsa_key(curve: ec.EllipticCurve | None = None, comment: str = "") -> str:
    return _openssh(ec.generate_private_key(curve or ec.SECP256R1()), comment)


@cache
def _rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def rsa_key(bits: int = 3072, comment: str = "") -> str:
    """Made once per size: a 3072-bit key takes a noticeable fraction of a second to make."""
    return _openssh(_rsa(bits), comment)


def dsa_key() -> str:
    with warnings.catch_warnings():  # DSA is deprecated: that is why it must be refused
        warnings.simplefilter("ignore")
        return _openssh(dsa.generate_private_key(key_size=1024), "")
