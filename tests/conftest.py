"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def world(db) -> factories.World:
    """Two sites x two domains, a tenant with an allocation in every region, and a stranger."""
    return factories.build_world()
