"""Operators' interventions on provisioning: re-driving requests no worker is moving on."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from provisioning.models import RequestState, ResourceRequest
from provisioning.services.errors import RequestNotAllowed
from provisioning.services.transitions import request_lock
from provisioning.services.work import work_take_over
from tenants.access import is_operator

REDRIVABLE = (RequestState.APPROVED, RequestState.PROVISIONING)


def request_redrive(*, user, request: ResourceRequest) -> ResourceRequest:
    """Start a new chain of work for an approved or provisioning request.

    Safe at any time: the new chain fences out the old one (its results are discarded) and finds
    by their tag whatever it built, so re-driving a request a worker is still moving on costs a
    cloud read. What the lease sweeper does for lapsed leases, on an operator's demand.
    """
    if not is_operator(user):
        raise RequestNotAllowed(_("Only operators re-drive requests."))
    with transaction.atomic():
        request = request_lock(request.pk)
        if request.state not in REDRIVABLE:
            raise ValidationError(
                _(
                    "Request #%(request)s is %(state)s; only approved or provisioning requests "
                    "can be re-driven."
                )
                % {"request": request.pk, "state": request.get_state_display().lower()}
            )
        work_take_over(request, actor=user, reason=f"Re-driven by {user.get_username()}.")
    return request
