"""Counters every process adds to and any web process reports: kept in Redis.

Writes are one pipelined round trip, after the work they count, and never fail the work: a
Redis that does not answer within ``SOCKET_TIMEOUT`` costs a lost count, not a failed task.
Histograms are kept as non-cumulative bucket counts (``le`` of the first bound the value fits
under) and cumulated when read.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings

log = logging.getLogger(__name__)

PREFIX = "portal:metrics:"
SOCKET_TIMEOUT = 0.25
#: Seconds: a task runs from milliseconds (a notification) to minutes (a report).
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_client = None
_client_lock = threading.Lock()


def redis_client():
    """This process's client; None when metrics are not kept (``PORTAL_METRICS_REDIS_URL``)."""
    global _client
    url = settings.PORTAL_METRICS_REDIS_URL
    if not url:
        return None
    with _client_lock:
        if _client is None or _client.url != url:
            import redis

            client = redis.Redis.from_url(
                url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
            )
            client.url = url
            _client = client
        return _client


def _bucket(value: float, bounds: Iterable[float]) -> str:
    for bound in bounds:
        if value <= bound:
            return repr(float(bound))
    return "+Inf"


def _write(ops: list[tuple[str, str, str, float]]) -> None:
    """(command, key, field, amount) with command ``int`` or ``float``; best effort."""
    client = redis_client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for command, key, field, amount in ops:
            if command == "int":
                pipe.hincrby(PREFIX + key, field, int(amount))
            else:
                pipe.hincrbyfloat(PREFIX + key, field, amount)
        pipe.execute()
    except Exception as err:  # a lost count, never a failed task
        log.debug("metrics: not counted: %s", err)


def task_finished(task: str, outcome: str, seconds: float | None) -> None:
    """A task ran to ``outcome`` (success, failure, retry) in ``seconds``."""
    ops = [("int", "task_runs", f"{task}|{outcome}", 1)]
    if seconds is not None:
        ops += [
            ("float", "task_seconds_sum", task, seconds),
            ("int", "task_seconds_bucket", f"{task}|{_bucket(seconds, TASK_BUCKETS)}", 1),
        ]
    _write(ops)


def task_waited(queue: str, seconds: float) -> None:
    """A task started ``seconds`` after it was published to ``queue``."""
    _write([
        ("float", "queue_wait_sum", queue, seconds),
        ("int", "queue_wait_bucket", f"{queue}|{_bucket(seconds, TASK_BUCKETS)}", 1),
    ])  # fmt: skip


def request_moved(kind: str, state: str) -> None:
    """A request of ``kind`` entered ``state`` (counted once its transaction committed)."""
    _write([("int", "request_transitions", f"{kind}|{state}", 1)])


def read(key: str) -> dict[str, float]:
    client = redis_client()
    if client is None:
        return {}
    raw = client.hgetall(PREFIX + key)
    return {k.decode(): float(v) for k, v in raw.items()}


def histogram(
    buckets_key: str, sum_key: str, bounds: Iterable[float]
) -> dict[str, tuple[list[tuple[str, float]], float]]:
    """``{label: ([(le, cumulative count), ..., ("+Inf", total)], sum)}``."""
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    for field, value in read(buckets_key).items():
        label, le = field.rsplit("|", 1)
        counts[label][le] = value
    sums = read(sum_key)
    out = {}
    for label, per in counts.items():
        running, rows = 0.0, []
        for bound in [repr(float(b)) for b in bounds] + ["+Inf"]:
            running += per.get(bound, 0.0)
            rows.append((bound, running))
        out[label] = (rows, sums.get(label, 0.0))
    return out
