"""Errors the provisioning services raise, each written for the person who will read it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _


class RequestNotAllowed(PermissionDenied):
    """The user may see the request but not do this to it (four-eyes, wrong stage, role)."""


class RequestConflict(ValidationError):
    """The request collides with the current state of its target (another one in flight)."""

    def __init__(self, message: str) -> None:
        super().__init__({"target": [message]}, code="conflict")


class QuotaExceeded(ValidationError):
    """A request does not fit in what is left of its allocation's quota."""

    def __init__(self, *, allocation, dimension, used: int, limit: int, needed: int) -> None:
        self.dimension, self.used, self.limit, self.needed = dimension, used, limit, needed
        unit = f" {dimension.unit}" if dimension.unit else ""
        message = _(
            "Quota exceeded in %(region)s: %(resource)s %(used)s%(unit)s of %(limit)s%(unit)s "
            "used, this request needs %(needed)s%(unit)s."
        ) % {
            "region": allocation.region,
            "resource": dimension.label,
            "used": used,
            "limit": limit,
            "needed": needed,
            "unit": unit,
        }
        super().__init__(message, code="quota_exceeded", params={"dimension": dimension.key})
