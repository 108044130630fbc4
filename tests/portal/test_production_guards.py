"""In production, the demo's published password keeps nobody signed in and is never set again."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, ValidationError

from portal.production import check_production_guards, refuse_to_start_if_unsafe
from tenants import demo
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_demo_account_with_the_demo_password_stops_production(settings):
    alice = UserFactory(username="alice")
    alice.set_password(demo.DEMO_PASSWORD)
    alice.save()
    settings.IS_PRODUCTION = False
    assert check_production_guards(databases=["default"]) == []
    refuse_to_start_if_unsafe()  # development and demo start as before
    settings.IS_PRODUCTION = True
    settings.SECRET_KEY = "k" * 20 + "-a-production-secret-0123456789"
    (error,) = check_production_guards(databases=["default"])
    assert (error.id, error.msg) == ("portal.E002", "Accounts with the demo password: alice.")
    with pytest.raises(ImproperlyConfigured, match="Accounts with the demo password: alice"):
        refuse_to_start_if_unsafe()
    alice.set_password("a-long-and-private-passphrase-2027")
    alice.save()
    assert check_production_guards(databases=["default"]) == []
    settings.SECRET_KEY = "insecure-development-key"
    assert [e.id for e in check_production_guards()] == ["portal.E001"]


def test_nobody_may_choose_the_demo_password_in_production(settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(ValidationError, match="demo's published password"):
        validate_password(demo.DEMO_PASSWORD)
    settings.IS_PRODUCTION = False
    validate_password(demo.DEMO_PASSWORD)  # the demo itself uses it
