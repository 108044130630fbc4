"""Every state change of provisioning: requests, approvals, quotas, resources.

Views, API views, forms and tasks call these functions and never change state themselves.
"""

from provisioning.services.approvals import (
    request_approve,
    request_reject,
    requests_bulk_approve,
)
from provisioning.services.errors import QuotaExceeded, RequestNotAllowed
from provisioning.services.requests import (
    request_cancel,
    request_refusal,
    request_retry,
    request_submit,
    requests_allowed_check,
)

__all__ = [
    "QuotaExceeded",
    "RequestNotAllowed",
    "request_approve",
    "request_cancel",
    "request_refusal",
    "request_reject",
    "request_retry",
    "request_submit",
    "requests_allowed_check",
    "requests_bulk_approve",
]
