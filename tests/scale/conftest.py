"""A PostgreSQL database of the scale run's own (``portal_scale_<random>``): created and migrated
before the run, dropped after it, shared by the test process, the web instances and the workers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture(scope="module")
def scale_database(django_db_blocker) -> Iterator[str]:
    from django.core.management import call_command
    from django.db import connections

    name = f"portal_scale_{secrets.token_hex(4)}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    default = connections["default"]
    before = default.settings_dict["NAME"]
    default.close()
    default.settings_dict["NAME"] = name
    try:
        with django_db_blocker.unblock():
            call_command("migrate", verbosity=0)
            yield name
    finally:
        default.close()
        default.settings_dict["NAME"] = before
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
