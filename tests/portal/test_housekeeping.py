"""Periodic housekeeping: expired idempotency keys are removed, fresh ones kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import IdempotencyKey
from portal.tasks import periodic_purge_idempotency_keys
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_expired_idempotency_keys_are_purged():
    user = UserFactory()
    now = timezone.now()
    IdempotencyKey.objects.create(user=user, key="old", fingerprint="x",
                                  created_at=now - timedelta(hours=25))  # fmt: skip
    IdempotencyKey.objects.create(user=user, key="new", fingerprint="x",
                                  created_at=now - timedelta(hours=1))  # fmt: skip

    assert periodic_purge_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
