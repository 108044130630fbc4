"""The floor under every answer: the baseline's own SQL served over HTTP by a bare WSGI app.

The SQL baseline of ``benchmarks.scale_cases`` is timed in-process, on a connection that is
already open, with nothing to parse, route or encode. The portal's figures are taken over HTTP
from gunicorn. For an answer whose SQL takes a millisecond or two, the difference is mostly what
any web service pays and not the portal's own machinery: a TCP connection (gunicorn's sync
workers close it after each answer), the HTTP request parsed, a WSGI call, the rows turned into
JSON and written back.

The floor measures that: the statements a baseline runs are recorded once, and a WSGI app of a
few lines, in gunicorn with the portal's process model, runs them again for each request on its
own (prepared, as the portal's are) connection and answers the rows as JSON. No routing, no
authentication, no access rule, no template: the least any HTTP service could do for the same
rows. ``portal p95 / floor p95`` is then what the portal's machinery costs; ``floor p95 / SQL
p95`` says how far the SQL-only ratio is out of any service's reach.

    BENCH_FLOOR_CASES         the pickled statements, one list per case (written by write_cases)
    BENCH_FLOOR_DATABASE_URL  the database they run on
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: One case's statements, in the order the baseline ran them.
Statements = list[tuple[str, list]]


class _RecordingCursor:
    """Runs each statement on the real cursor and keeps it, so the floor can run it again."""

    def __init__(self, cursor: Any) -> None:
        self.cursor, self.statements = cursor, []

    def execute(self, sql: str, params: Iterable = ()) -> Any:
        self.statements.append((sql, list(params)))
        return self.cursor.execute(sql, params)


def record(baseline: Callable[[Any], object], cursor: Any) -> Statements:
    """The statements ``baseline`` runs, recorded while it runs on ``cursor``."""
    recorder = _RecordingCursor(cursor)
    baseline(recorder)
    return recorder.statements


def write_cases(path: Path, cases: list[Statements]) -> None:
    path.write_bytes(pickle.dumps(cases))


_cases: list[Statements] | None = None
_connection: Any = None


def _state() -> tuple[list[Statements], Any]:
    """The cases and this process's connection, opened on first use (after gunicorn forks)."""
    global _cases, _connection
    import psycopg

    if _cases is None:
        _cases = pickle.loads(Path(os.environ["BENCH_FLOOR_CASES"]).read_bytes())
    if _connection is None or _connection.closed:
        url = os.environ["BENCH_FLOOR_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
        # Prepared on the 5th run of a statement, as the portal's DATABASE_PREPARE_THRESHOLD.
        _connection = psycopg.connect(url, autocommit=True, prepare_threshold=5)
    return _cases, _connection


def application(environ: dict, start_response: Callable) -> list[bytes]:
    """``GET /<n>``: case n's statements, their rows as JSON; ``GET /`` answers ``[]``."""
    cases, connection = _state()
    index = environ.get("PATH_INFO", "/").strip("/")
    rows: list = []
    if index:
        cursor = connection.cursor()
        for sql, params in cases[int(index)]:
            rows.append(cursor.execute(sql, params).fetchall())
    body = json.dumps(rows, default=str).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])  # fmt: skip
    return [body]
