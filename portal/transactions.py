"""The rule that no transaction is open while the portal calls out (cloud, broker, mail).

A transaction held across a remote call holds its row locks for as long as the remote side
takes: every writer that needs those rows waits for the slowest cloud. The cloud layer and the
outbox relay call ``assert_no_transaction`` first, so a caller that breaks the rule fails at
once, in tests as in production, instead of slowing the whole portal down.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections


class TransactionAcrossRemoteCall(RuntimeError):
    """A remote call was attempted inside a database transaction."""


def in_transaction(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the portal holds a transaction open on ``using``.

    The outer transactions a test case wraps each test in do not count: they stand for the
    autocommit of a real process.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def assert_no_transaction(doing: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Refuse to go on with ``doing`` (a remote call) inside a transaction."""
    if in_transaction(using):
        raise TransactionAcrossRemoteCall(
            f"Refusing {doing} inside a database transaction: commit first, call out, then "
            "lock again and check what was recorded (docs/provisioning.md)."
        )
