"""What the access layer remembers between requests, and how every process learns to forget it.

Before any row is read, a request used to spend five queries on who its caller is: the
token and its owner, the owner's model permissions (two), their grants, and the
allocations those open. Together they took about 5 ms of a detail call's 8 ms in the database. All
of it changes rarely, so each process keeps it in memory (the ``access`` cache, local to the
process), keyed by one number: the access generation (``tenants.models.AccessGeneration``).

- Every change that can widen or narrow anyone's access (a grant, a group membership, a model
  permission, an allocation, a region, a token, a user) bumps the generation **after its
  transaction commits** (``changed``, connected in ``tenants.apps``). A request reads the
  generation once (a one-row read), so a change committed by any process is seen by the next
  request of every process; nothing waits for a timeout. What changes with access only
  rarely is kept at the same generation, its models watched the same way: allocations with
  their places (``provisioning.listing``) and the delegations a user holds
  (``tenants.delegations``).
- A transaction that has changed access and not yet committed reads and writes no memory:
  otherwise others could see its change before it commits, or a rollback could leave it
  remembered. It reads the database as before.
- Entries also expire (``TIMEOUT`` of the cache) so a bump lost to a crash between commit and
  bump heals by itself.

Two rules keep it true. A change of access made without model signals (``QuerySet.update()``,
raw SQL, a bulk load) must call ``changed()`` itself. Access that changes with time alone
(nothing is written) must not be remembered here.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import caches
from django.db import connection, transaction
from django.utils.functional import LazyObject

CACHE_ALIAS = "access"
T = TypeVar("T")

#: Changes of access made by this process, committed or not: what was remembered *on a user
#: object* for one request is read again after any of them (``generation_for``).
_changes_here = [0]


def changed(sender: Any = None, **kwargs: Any) -> None:
    """Signal receiver: something that decides access changed (see ``tenants.apps``)."""
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # sign-in bookkeeping: decides nothing
    _changes_here[0] += 1
    if not _uncommitted_change():  # one bump per transaction is enough
        transaction.on_commit(_bump, robust=True)


def changes_here() -> int:
    return _changes_here[0]


def _bump() -> None:
    from tenants.models import AccessGeneration

    with connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_accessgeneration SET value = value + 1 WHERE id = 1")
        missing = cursor.rowcount == 0
    if missing:  # emptied by a test run's flush or by hand: start again, never at an old value
        AccessGeneration.objects.get_or_create(id=1, defaults={"value": time.time_ns()})


def _uncommitted_change() -> bool:
    """Whether this connection's open transaction has changed access (its bump is pending)."""
    return connection.in_atomic_block and any(
        func is _bump for _sids, func, _robust in connection.run_on_commit
    )


def generation() -> int | None:
    """The committed access generation, or None where memory must not be used."""
    if _uncommitted_change():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM tenants_accessgeneration WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def generation_for(user: Any) -> int | None:
    """The generation as read for ``user``'s request: read once, kept on the user object (which
    lives for one request), read again after a change of access in this process."""
    if _uncommitted_change():
        return None
    kept = kept_on(user).get("_portal_access_generation")
    if kept is not None and kept[1] == _changes_here[0]:
        return kept[0]
    value = generation()
    remember_generation(user, value)
    return value


def remember_generation(user: Any, value: int | None) -> None:
    """Record the generation already read for ``user``'s request (token authentication reads it
    before it knows the user)."""
    kept_on(user)["_portal_access_generation"] = (value, _changes_here[0])


def kept_on(user: Any) -> dict[str, Any]:
    """Where a request's readings are kept on its user: the user object's own attributes, also
    when it is reached through the lazy ``request.user`` of a session. The wrapper has
    attributes of its own, and kept there the sign-in's reading was not found: every page read
    the generation twice. (The second factor's middleware wraps the wrapper again.)"""
    while isinstance(user, LazyObject):
        user.pk  # noqa: B018 - sets the wrapped user up
        user = user._wrapped
    return user.__dict__


def _name(gen: int, key: tuple) -> str:
    return hashlib.blake2b(repr((gen, key)).encode(), digest_size=20).hexdigest()


def recall_many(
    kind: str, ids: list[int], gen: int | None, compute: Callable[[list[int]], dict[int, T]]
) -> dict[int, T]:
    """``compute(ids)`` (a dict by id), each value remembered under ``(kind, id)`` at
    generation ``gen``: only the ids not remembered are computed."""
    if gen is None or not ids:
        return compute(ids)
    cache = caches[CACHE_ALIAS]
    names = {_name(gen, (kind, i)): i for i in ids}
    found = {names[name]: value for name, value in cache.get_many(list(names)).items()}
    missing = [i for i in ids if i not in found]
    if missing:
        computed = compute(missing)
        found.update(computed)
        if not _uncommitted_change():
            cache.set_many({_name(gen, (kind, i)): v for i, v in computed.items()})
    return found


def recall(key: tuple, gen: int | None, compute: Callable[[], T]) -> T:
    """``compute()``, remembered under ``key`` at generation ``gen`` (None: not remembered).

    ``compute`` must return something that pickles and is never None.
    """
    if gen is None:
        return compute()
    cache = caches[CACHE_ALIAS]
    name = _name(gen, key)
    found = cache.get(name)
    if found is not None:
        return found
    value = compute()
    if value is not None and not _uncommitted_change():
        cache.set(name, value)
    return value
