"""Single-flight jobs: at most one run of a periodic job (per key) at a time, across processes.

The reconciler of a region, the outbox relay and the lease sweeper are started by beat on a
schedule; a run that outlasts its period must not be joined by a second one racing it (two
reconcilers recording the same orphan, two sweepers re-driving the same request). A second run
does not wait: it finds the job taken and returns at once.

On PostgreSQL this is a session-level advisory lock (``pg_try_advisory_lock``): it is released
when the run ends or its connection dies, so a worker killed with SIGKILL never leaves it held.
On SQLite (the demo, one machine) an exclusive ``flock`` on a file does the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


def _key(name: str) -> int:
    """A stable signed 32-bit number for a job's name (the advisory lock's first half)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


@contextlib.contextmanager
def single_flight(name: str, key: int = 0, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Run the body as the only holder of ``(name, key)``; yields whether it was obtained.

    ``with single_flight("reconcile", region.pk) as mine: if not mine: return``
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_key(name), key])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_key(name), key])
        return
    folder = Path(settings.VAR_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}-{key}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
