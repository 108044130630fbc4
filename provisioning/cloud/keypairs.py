"""Key pairs: the public keys the cloud puts on a server when it is built.

Nova keeps key pairs per user, not per project, and the portal signs in to a region with one
account for every allocation, so the portal names each key pair after the allocation and the
key (``portal.ssh_keys.keypair_name``) and makes it on first use. Making one is idempotent: a
key pair that already holds the same key is used as it is, whoever made it first.
"""

from __future__ import annotations

import openstack.exceptions as sdk_exc

from provisioning.cloud.base import CloudNotFound, CloudPermanentError, CloudTarget, KeypairInfo
from provisioning.cloud.connection import connect, removed, translate_errors


def _same_key(a: str, b: str) -> bool:
    """Type and key equal; the comment does not matter."""
    return a.split()[:2] == b.split()[:2]


def keypair_get(target: CloudTarget, name: str) -> KeypairInfo | None:
    conn = connect(target)
    try:
        with translate_errors(f"reading key pair {name}"):
            found = conn.compute.get_keypair(name)
    except CloudNotFound:
        return None
    return KeypairInfo(
        name=found.name, fingerprint=found.fingerprint or "", public_key=found.public_key or ""
    )


def keypair_ensure(target: CloudTarget, *, name: str, public_key: str) -> KeypairInfo:
    """The key pair ``name`` holding ``public_key``, made if missing.

    A key pair of that name with another key is an error, not something to overwrite: the
    servers built with it would silently change hands.
    """
    existing = keypair_get(target, name)
    if existing is None:
        conn = connect(target)
        try:
            with translate_errors(f"creating key pair {name}"):
                made = conn.compute.create_keypair(name=name, public_key=public_key, type="ssh")
            return KeypairInfo(made.name, made.fingerprint or "", made.public_key or public_key)
        except CloudPermanentError as err:
            if not isinstance(err.__cause__, sdk_exc.ConflictException):
                raise
            existing = keypair_get(target, name)  # made meanwhile by another request
            if existing is None:
                raise
    if not _same_key(existing.public_key, public_key):
        raise CloudPermanentError(
            f"The cloud already holds a key pair named {name} with another key; an operator "
            "must remove it before this key can be used."
        )
    return existing


def keypair_delete(target: CloudTarget, name: str) -> bool:
    """Remove a key pair; False if it was already gone. Servers built with it keep the key."""
    conn = connect(target)
    return removed(
        f"deleting key pair {name}", lambda: conn.compute.delete_keypair(name, ignore_missing=False)
    )
