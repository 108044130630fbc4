"""What every portal connection tells PostgreSQL when it opens (portal.settings)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_a_connection_counts_parallel_workers_dear(settings):
    """A plan kept for any parameters may guess a thousand rows where there are a hundred; at
    PostgreSQL's default price it then starts a worker process for a 1 ms count."""
    assert "-c parallel_setup_cost=10000" in settings.DATABASES["default"]["OPTIONS"]["options"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW parallel_setup_cost")
        assert float(cursor.fetchone()[0]) == 10000


def test_statements_are_prepared_after_a_few_runs(settings):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["server_side_binding"] is True and options["prepare_threshold"] == 5
