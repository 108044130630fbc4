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
