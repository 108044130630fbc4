"""A request the demo's approvers left waiting: submitted 13 hours before the demo starts, so
the first deadline check escalates it past the decision target (the managers', then the
operators' bell and mail). Once: a second run finds it."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from provisioning import sla_facts
from provisioning.models import Kind, RequestTransition, ResourceRequest
from provisioning.services import request_submit
from tenants.models import Allocation

NAME = "exercise-archive-net"
WAITING = timedelta(hours=13)


class Command(BaseCommand):
    help = "Add the demo's request left waiting for a decision (once)."

    def handle(self, *args, **options) -> None:
        if ResourceRequest.objects.filter(spec__name=NAME).exists():
            return
        alice = get_user_model().objects.get(username="alice")
        allocation = Allocation.objects.get(tenant__slug="csc", region__slug="brussels-unclass")
        request = request_submit(
            user=alice, kind=Kind.NETWORK, allocation=allocation,
            spec={"name": NAME, "cidr": "10.77.0.0/24"},
            justification="A network for the exercise archive; nobody has looked at it yet.",
        )  # fmt: skip
        then = timezone.now() - WAITING
        ResourceRequest.objects.filter(pk=request.pk).update(created_at=then, state_changed_at=then)
        RequestTransition.objects.filter(request=request).update(at=then)
        sla_facts.refresh([request.pk])  # its timeline was moved around the transition service
        self.stdout.write(f"Request #{request.pk} waits since {then:%Y-%m-%d %H:%M} UTC.")
