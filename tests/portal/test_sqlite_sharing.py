"""The demo's SQLite file is shared by the web process, the worker and beat: concurrent
transactions wait for the write lock instead of failing with "database is locked"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Read, then write, in one transaction, many times: SQLite's default (deferred) transactions
#: fail at once with "database is locked" when two processes do this together.
WRITER = """
import django, sys, time
django.setup()
from django.db import connection, transaction
for i in range(40):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM tally")
            time.sleep(0.005)
            cursor.execute("INSERT INTO tally (who) VALUES (%s)", [sys.argv[1]])
"""


def test_processes_sharing_the_sqlite_file_wait_for_each_other(tmp_path):
    database = tmp_path / "shared.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_PROFILE": "demo",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    setup = "import django; django.setup(); from django.db import connection; "
    setup += "connection.cursor().execute('CREATE TABLE tally (who TEXT)')"
    subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True)

    def start(name: str) -> subprocess.Popen:
        command = [sys.executable, "-c", WRITER, name]
        return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)

    writers = [start(name) for name in ("web", "worker", "beat")]
    errors = [w.communicate(timeout=120)[1] for w in writers]

    assert [w.returncode for w in writers] == [0, 0, 0], errors
    count = "import django; django.setup(); from django.db import connection; "
    count += "c = connection.cursor(); c.execute('SELECT COUNT(*) FROM tally'); "
    count += "print(c.fetchone()[0])"
    out = subprocess.run([sys.executable, "-c", count], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    assert out.strip() == "120"
