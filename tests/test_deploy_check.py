"""The production profile passes Django's deployment checklist with no warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(DJANGO_SETTINGS_MODULE="portal.settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_profile_passes_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        PORTAL_PROFILE="production",
        DJANGO_SECRET_KEY="k" * 20 + "-production-secret-0123456789-abcdefghijklmnop",
        DJANGO_ALLOWED_HOSTS="portal.example.org",
        PORTAL_AUDIT_CHECKPOINT_KEY="c" * 20 + "-checkpoint-key-held-outside-the-database",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", PORTAL_PROFILE="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_an_audit_checkpoint_key():
    """The checkpoints' key must be one the database (and the repository) does not hold."""
    result = _manage(
        "check",
        PORTAL_PROFILE="production",
        DJANGO_SECRET_KEY="k" * 20 + "-production-secret-0123456789-abcdefghijklmnop",
        DJANGO_ALLOWED_HOSTS="portal.example.org",
    )
    assert result.returncode != 0
    assert "PORTAL_AUDIT_CHECKPOINT_KEY" in result.stderr


PRODUCTION = {
    "PORTAL_PROFILE": "production",
    "DJANGO_ALLOWED_HOSTS": "portal.example.org",
    "PORTAL_AUDIT_CHECKPOINT_KEY": "c" * 20 + "-checkpoint-key-held-outside-the-database",
}


def test_production_refuses_the_repositorys_own_secret_key():
    result = _manage(
        "check", DJANGO_SECRET_KEY="insecure-development-key-never-use-in-production-" + "x" * 20,
        **PRODUCTION,
    )  # fmt: skip
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is a key from the repository" in result.stderr


def test_seed_demo_refuses_to_run_in_production():
    result = _manage(
        "seed_demo", DJANGO_SECRET_KEY="k" * 20 + "-production-secret-0123456789-abcdefghij",
        **PRODUCTION,
    )  # fmt: skip
    assert result.returncode != 0
    assert "seed_demo does not run in the production profile" in result.stderr
