"""Operators' interventions on provisioning: re-driving requests no worker is moving on."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from portal.audit import audit_record
from provisioning.models import RequestState, ResourceRequest
from provisioning.services.errors import RequestNotAllowed
from provisioning.services.transitions import request_lock
from tenants.access import is_operator

REDRIVABLE = (RequestState.APPROVED, RequestState.PROVISIONING)


def request_redrive(*, user, request: ResourceRequest) -> ResourceRequest:
    """Enqueue ``advance_request`` again for an approved or provisioning request.

    Safe at any time: every provisioning step is idempotent, so re-driving a request a worker
    is still moving on costs one cloud read. What the reconciler does for stuck requests, on an
    operator's demand.
    """
    if not is_operator(user):
        raise RequestNotAllowed("Only operators re-drive requests.")
    with transaction.atomic():
        request = request_lock(request.pk)
        if request.state not in REDRIVABLE:
            raise ValidationError(
                f"Request #{request.pk} is {request.get_state_display().lower()}; only approved "
                "or provisioning requests can be re-driven."
            )
        audit_record(
            actor=user,
            action="request.redrive",
            obj=request,
            after={"state": request.state, "attempts": request.attempts},
            tenant=request.allocation.tenant,
            region=request.allocation.region,
        )
        from provisioning import tasks

        transaction.on_commit(lambda: tasks.advance_request.delay(request.pk))
    return request
