"""SQLite-backed document store that keeps the simulated clouds across restarts."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    project_id TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_scope ON objects (kind, region, project_id);
CREATE INDEX IF NOT EXISTS objects_device ON objects (kind, json_extract(data, '$.device_id'));
CREATE INDEX IF NOT EXISTS objects_network ON objects (kind, json_extract(data, '$.network_id'));
CREATE INDEX IF NOT EXISTS objects_action ON objects (kind, json_extract(data, '$.instance_uuid'));
CREATE INDEX IF NOT EXISTS objects_server ON objects (kind, json_extract(data, '$.server_id'));
"""
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Store:
    """One SQLite connection guarded by a re-entrant lock.

    The simulator's handlers run under `transaction()`, so every API call is atomic with respect
    to the others; a single connection with a lock is simpler and faster for this load than a
    pool, and SQLite would serialise the writers anyway.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def put(
        self,
        kind: str,
        obj: dict[str, Any],
        region: str = "",
        project_id: str = "",
        key: str | None = None,
    ) -> None:
        """Insert or replace; `key` defaults to obj["id"] (flavors use region/id)."""
        data = json.dumps(obj, sort_keys=True)
        obj_key = key or obj["id"]
        with self.lock:
            cur = self._db.execute(
                "UPDATE objects SET data = ?, region = ?, project_id = ? WHERE kind = ? AND id = ?",
                (data, region, project_id, kind, obj_key),
            )
            if cur.rowcount == 0:
                self._db.execute(
                    "INSERT INTO objects (kind, id, region, project_id, data) VALUES (?,?,?,?,?)",
                    (kind, obj_key, region, project_id, data),
                )

    def get(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute(
                "SELECT data FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, kind: str, obj_id: str) -> bool:
        with self.lock:
            cur = self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id))
        return cur.rowcount > 0

    def list(
        self, kind: str, region: str | None = None, project_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Objects of one kind in creation order, optionally narrowed to a region/project."""
        sql = "SELECT data FROM objects WHERE kind = ?"
        args: list[Any] = [kind]
        if region is not None:
            sql += " AND region = ?"
            args.append(region)
        if project_id is not None:
            sql += " AND project_id = ?"
            args.append(project_id)
        sql += " ORDER BY seq"
        with self.lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def find(
        self, kind: str, region: str | None = None, project_id: str | None = None, **fields: Any
    ) -> list[dict[str, Any]]:
        """Objects whose top-level JSON fields equal the given values (indexed for device_id,
        network_id and server_id, so a server's ports and volume mappings are found without
        reading every port or mapping of the region: server views look them up per server)."""
        sql = "SELECT data FROM objects WHERE kind = ?"
        args: list[Any] = [kind]
        if region is not None:
            sql += " AND region = ?"
            args.append(region)
        if project_id is not None:
            sql += " AND project_id = ?"
            args.append(project_id)
        for name, value in fields.items():
            if not FIELD_RE.match(name):
                raise ValueError(f"not a field name: {name}")
            sql += f" AND json_extract(data, '$.{name}') = ?"
            args.append(value)
        sql += " ORDER BY seq"
        with self.lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def server_usage(self, region: str, project_id: str) -> tuple[int, int, int]:
        """(instances, vcpus, ram) of a project's servers, summed inside SQLite."""
        sql = (
            "SELECT COUNT(*), COALESCE(SUM(json_extract(data, '$._flavor.vcpus')), 0), "
            "COALESCE(SUM(json_extract(data, '$._flavor.ram')), 0) FROM objects "
            "WHERE kind = 'server' AND region = ? AND project_id = ?"
        )
        with self.lock:
            row = self._db.execute(sql, (region, project_id)).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def count(self, kind: str, region: str | None = None, project_id: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM objects WHERE kind = ?"
        args: list[Any] = [kind]
        if region is not None:
            sql += " AND region = ?"
            args.append(region)
        if project_id is not None:
            sql += " AND project_id = ?"
            args.append(project_id)
        with self.lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def clear(self) -> None:
        with self.lock:
            self._db.execute("DELETE FROM objects")

    def is_empty(self) -> bool:
        with self.lock:
            return self._db.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is None

    def close(self) -> None:
        with self.lock:
            self._db.close()
