"""What every benchmark shares: its own database, and how figures are printed."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHY = "Benchmark of the provisioning path."
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")


def setup_django() -> None:
    import django
    import psycopg

    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(round(p / 100 * (len(values) - 1)), len(values) - 1)]


def report(title: str, samples: list[float], unit: str = "ms", scale: float = 1000) -> None:
    scaled = [s * scale for s in samples]
    print(f"  {title:<44} p50 {statistics.median(scaled):8.1f} {unit}   "
          f"p95 {percentile(scaled, 95):8.1f} {unit}   max {max(scaled):8.1f} {unit}")  # fmt: skip
