"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories

# cloudsim, started once per session on a free port (see cloudsim/pytest_plugin.py).
pytest_plugins = ["cloudsim.pytest_plugin", "tests.live"]


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def world(db) -> factories.World:
    """Two sites x two domains, a tenant with an allocation in every region, and a stranger."""
    return factories.build_world()


@pytest.fixture(autouse=True)
def _caches_start_empty():
    """Each test starts with nothing remembered: counts kept for long lists and what the access
    layer remembers live in process memory, and another test's rows are gone."""
    from django.core.cache import caches

    for alias in ("default", "access"):
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _tasks_stay_in_process():
    """Every test leaves the Celery app on the in-process broker it found.

    Only tests that ask for the live worker may send tasks to it; a task leaking to that worker
    from a unit test would run against the database the test is about to flush.
    """
    from django.conf import settings

    from portal.celery import app

    yield
    assert app.conf.broker_url == settings.CELERY_BROKER_URL, (
        f"a test left Celery publishing to {app.conf.broker_url}"
    )
