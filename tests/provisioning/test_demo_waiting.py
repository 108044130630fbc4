"""The demo's request left waiting: seeded once, past its target, escalated by the first check."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from portal.models import OutboxMessage
from provisioning.models import RequestState, ResourceRequest
from provisioning.services.deadlines import deadlines_sweep

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_request_that_escalates():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_waiting", stdout=io.StringIO())
    call_command("seed_demo_waiting", stdout=io.StringIO())  # once
    (request,) = ResourceRequest.objects.filter(spec__name="exercise-archive-net")
    assert request.state == RequestState.PENDING_APPROVAL
    assert deadlines_sweep() == 2  # past 1.5 times the target: the managers and the operators
    kinds = OutboxMessage.objects.filter(args__0__startswith="deadline_").values_list(
        "args__0", flat=True
    )
    assert sorted(kinds) == ["deadline_managers", "deadline_operators"]
