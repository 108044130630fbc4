"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories

# cloudsim, started once per session on a free port (see cloudsim/pytest_plugin.py); the
# directory and the OpenID Connect provider, started when a test first asks (tests/identity.py).
pytest_plugins = ["cloudsim.pytest_plugin", "tests.live", "tests.identity"]


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def world(db) -> factories.World:
    """Two sites x two domains, a tenant with an allocation in every region, and a stranger."""
    return factories.build_world()


@pytest.fixture(autouse=True)
def _english_between_tests():
    """A page asked for in French leaves French active in the thread (Django's LocaleMiddleware
    activates each request's language and leaves it): each test starts in the default."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _force_login_gives_both_factors(monkeypatch):
    """``client.force_login`` stands for a whole sign-in: for someone with (or needing) a second
    factor, that includes the code. Tests of the second factor sign in through the forms."""
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        from portal.two_factor import has_second_factor, second_factor_required

        if has_second_factor(user) or second_factor_required(user):
            session = self.session
            session["otp_device_id"] = two_factor_device(user).persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


def two_factor_device(user):
    """The user's confirmed authenticator (made if missing), for tests that sign in with it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


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
