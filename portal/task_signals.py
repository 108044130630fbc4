"""What every task carries and keeps: the request id of the work that asked for it; and what
each run counts for the metrics (``portal.metrics.shared``): its outcome, how long it ran and
how long it waited in its queue.

Connected when the Celery app loads (``portal.celery``), so it holds in the web (publishing),
the worker (running) and beat alike. A task published while a request id is bound (a web
request, another task) carries it in its message headers; the outbox publishes the id it
recorded with the row (``portal.outbox``). The worker binds it for the task's run, so the task's
log lines and its OpenStack calls carry it; a task that came without one (beat's schedule) runs
under a new id.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import Any

from celery import signals

from portal import request_ids
from portal.metrics import shared as metrics

#: The message header with the time it was published (seconds since the epoch): how long a task
#: waited in its queue is measured from it.
SENT_AT_HEADER = "portal_sent_at"
#: Celery's states as the metrics name them.
OUTCOMES = {"SUCCESS": "success", "FAILURE": "failure", "RETRY": "retry", "REJECTED": "rejected"}
_tokens: dict[str, Any] = {}
_started: dict[str, float] = {}


@signals.before_task_publish.connect(dispatch_uid="portal-request-id-publish")
def _stamp(headers: dict | None = None, **_: Any) -> None:
    if headers is None:
        return
    if not headers.get(request_ids.TASK_HEADER) and (current := request_ids.current()):
        headers[request_ids.TASK_HEADER] = current
    headers.setdefault(SENT_AT_HEADER, time.time())


@signals.task_prerun.connect(dispatch_uid="portal-request-id-prerun")
def _bind(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if not task_id or task is None:
        return
    _tokens[task_id] = request_ids.bind(getattr(task.request, request_ids.TASK_HEADER, None))
    _started[task_id] = time.monotonic()
    sent_at = getattr(task.request, SENT_AT_HEADER, None)
    if sent_at and not task.request.is_eager:
        queue = (task.request.delivery_info or {}).get("routing_key") or "default"
        metrics.task_waited(queue, max(0.0, time.time() - _due(float(sent_at), task.request.eta)))


def _due(sent_at: float, eta: str | datetime | None) -> float:
    """When the task could first run: its publication, or later when it was given a countdown
    (a poll that re-schedules itself did not wait in the queue for its countdown)."""
    if not eta:
        return sent_at
    try:
        when = eta if isinstance(eta, datetime) else datetime.fromisoformat(eta)
        return max(sent_at, when.timestamp())
    except (TypeError, ValueError):
        return sent_at


@signals.task_postrun.connect(dispatch_uid="portal-request-id-postrun")
def _unbind(task_id: str | None = None, task: Any = None, state: str | None = None,
            **_: Any) -> None:  # fmt: skip
    started = _started.pop(task_id, None) if task_id else None
    if task is not None and state:
        seconds = time.monotonic() - started if started is not None else None
        metrics.task_finished(task.name, OUTCOMES.get(state, state.lower()), seconds)
    token = _tokens.pop(task_id, None) if task_id else None
    if token is not None:
        # ValueError: bound in another context (an eager task in a test); nothing is held.
        with contextlib.suppress(ValueError):
            request_ids.unbind(token)
