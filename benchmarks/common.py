"""What every benchmark shares: its own database, and how figures are printed."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WHY = "Benchmark of the provisioning path."
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")


def setup_django(*, database_url: str | None = None, flush: bool = True) -> None:
    """Create the benchmark's database if missing, set Django up on it and migrate it.

    ``flush`` empties it too (what most benchmarks want: a world of their own each run); the
    scale benchmark passes False to keep a world that took minutes to build. ``database_url``
    replaces ``BENCH_DATABASE_URL`` for a benchmark with a database of its own; it must be given
    before Django is set up, as settings read it once.
    """
    import django
    import psycopg

    if database_url is not None:
        os.environ["DATABASE_URL"] = database_url
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if flush:
        flush_database()


def flush_database() -> None:
    """Empty every table of the (set up) database."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(round(p / 100 * (len(values) - 1)), len(values) - 1)]


def timed(title: str, call, repeat: int) -> list[float]:
    """Run ``call`` once to warm, once counting its queries, then ``repeat`` times timed; print
    the figures (``report``) and return the seconds of each run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()
    with CaptureQueriesContext(connection) as queries:
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    report(f"{title} ({len(queries)} queries)", samples)
    return samples


def report(title: str, samples: list[float], unit: str = "ms", scale: float = 1000) -> None:
    scaled = [s * scale for s in samples]
    print(f"  {title:<44} p50 {statistics.median(scaled):8.1f} {unit}   "
          f"p95 {percentile(scaled, 95):8.1f} {unit}   max {max(scaled):8.1f} {unit}")  # fmt: skip


@contextlib.contextmanager
def cloud_and_broker(*, build_time: float) -> Iterator[tuple[Path, Any, Any]]:
    """A cloudsim and a Redis of the benchmark's own, with this process's Celery and clouds.yaml
    pointed at them; yields (workdir, cloudsim, redis) and stops both at the end."""
    from django.conf import settings

    from cloudsim.pytest_plugin import start_cloudsim
    from tests.live import RedisServer, point_celery_at

    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    sim = start_cloudsim(workdir / "cloudsim", build_time=build_time)
    redis = RedisServer(workdir)
    redis.start()
    point_celery_at(redis.url)
    settings.CLOUDS_YAML = str(sim.clouds_yaml)
    try:
        yield workdir, sim, redis
    finally:
        redis.stop()
        sim.stop()
