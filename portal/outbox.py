"""The one way the portal enqueues work: a transactional outbox relayed to Celery after commit.

A service that wants a task run writes an ``OutboxMessage`` row in the same transaction as the
state change that calls for it (``enqueue``). The work therefore exists exactly when the change
does: a rollback takes both away, a commit keeps both, and a broker that is down loses nothing.
After the commit, the same process publishes the rows it wrote and deletes them;
when that fails (the broker is down, the process died between commit and publish) the rows
stay, and the periodic relay (``relay_due``, every few seconds from beat, and at worker start)
publishes them once the broker answers again.

Delivery is at least once: a process can die after publishing and before deleting the row, or
two relays can race for one row. Every task the portal enqueues is idempotent (requests carry a
fencing token, notifications a per-event key), which is what makes that safe.

Why not a library: django-celery-outbox and similar packages either keep a transaction open
while publishing or relay through a separate daemon; here the relay is a plain function the
web, the worker and beat already run, with no process of its own to operate.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal import request_ids
from portal.singleflight import single_flight
from portal.transactions import assert_no_transaction

log = logging.getLogger(__name__)


def enqueue(
    task: str,
    *args: Any,
    countdown: float | None = None,
    **kwargs: Any,
) -> int:
    """Record ``task(*args, **kwargs)`` to run (after ``countdown`` seconds) once the caller's
    transaction commits; return the outbox row's id.

    ``task`` is the task's registered name (``"provisioning.tasks.advance_request"``): the
    outbox needs no import of the task module, so services never import tasks. Arguments must
    be JSON-serialisable, as Celery's own messages are.
    """
    from portal.models import OutboxMessage

    now = timezone.now()
    message = OutboxMessage.objects.create(
        request_id=request_ids.current(),
        task=task,
        args=list(args),
        kwargs=kwargs,
        created_at=now,
        not_before=now + timedelta(seconds=countdown) if countdown else now,
    )
    transaction.on_commit(lambda: _relay_after_commit(message))
    return message.pk


def _relay_after_commit(message) -> None:
    """Publish right after the commit; a failure leaves the row for the periodic relay.

    The row just written is published as it is, without reading it back.
    """
    if not settings.PORTAL_OUTBOX_RELAY_ON_COMMIT:
        return
    try:
        assert_no_transaction("publishing to the broker")
        _publish([message])
    except Exception as err:  # the work is saved: the periodic relay will publish it
        log.warning("outbox: message %s stays for the periodic relay: %s", message.pk, err)


#: Publishing gives up at once when the broker refuses: the row waits in the outbox, and a page
#: or an API call waiting on the relay must not wait on a broker that is down (kombu's default
#: would retry a refused connection for about six seconds per message).
FAIL_FAST = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


_connections: dict[tuple[int, int, str], Any] = {}
_connections_lock = threading.Lock()


def _broker_connection() -> tuple[tuple[int, int, str], Any]:
    """This process's (and thread's) publishing connection, made once and kept.

    Opening a broker connection per message would cost more than the message; one that failed
    is dropped, so the next relay connects afresh.
    """
    from portal.celery import app

    key = (os.getpid(), threading.get_ident(), app.conf.broker_url)
    with _connections_lock:
        connection = _connections.get(key)
        if connection is None:
            connection = _connections[key] = app.connection_for_write(transport_options=FAIL_FAST)
    return key, connection


def _drop_connection(key: tuple[int, int, str]) -> None:
    with _connections_lock:
        connection = _connections.pop(key, None)
    if connection is not None:
        with contextlib.suppress(Exception):  # it is broken already
            connection.release()


def _publish(rows: list) -> int:
    """Publish these rows and delete them; raises the broker's error at the first it refuses
    (that row and the rest stay for later)."""
    from portal.celery import app
    from portal.models import OutboxMessage

    if not rows:
        return 0
    sent = 0
    now = timezone.now()
    key, connection = _broker_connection()
    try:
        for row in rows:
            wait = (row.not_before - now).total_seconds() if row.not_before else 0
            app.send_task(
                row.task,
                args=row.args,
                kwargs=row.kwargs,
                countdown=wait if wait > 0 else None,
                headers={request_ids.TASK_HEADER: row.request_id} if row.request_id else None,
                connection=connection,
                retry=False,
            )
            OutboxMessage.objects.filter(pk=row.pk).delete()
            sent += 1
    except Exception:
        _drop_connection(key)
        raise
    return sent


def relay_due(*, older_than: float | None = None, limit: int = 1000) -> int:
    """Publish rows the immediate relay did not (the broker was down, the process died).

    Only rows older than ``older_than`` seconds are taken, so this does not race the on-commit
    relay of a transaction that just committed. Single-flight: a second relay running at the
    same time returns 0 at once.
    """
    from portal.models import OutboxMessage

    grace = settings.PORTAL_OUTBOX_RELAY_GRACE if older_than is None else older_than
    with single_flight("outbox-relay") as acquired:
        if not acquired:
            return 0
        cutoff = timezone.now() - timedelta(seconds=grace)
        rows = list(OutboxMessage.objects.filter(created_at__lte=cutoff).order_by("id")[:limit])
        sent = _publish(rows)
        if sent:
            log.info("outbox: relayed %s message(s) left behind", sent)
        return sent


def outbox_lag() -> tuple[int, float]:
    """(messages waiting, age in seconds of the oldest): what operators watch."""
    from portal.models import OutboxMessage

    oldest = OutboxMessage.objects.order_by("created_at").values_list("created_at", flat=True)
    first = oldest.first()
    count = OutboxMessage.objects.count()
    return count, (timezone.now() - first).total_seconds() if first else 0.0
