"""Errors the provisioning services raise, each written for the person who will read it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError


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
        message = (
            f"Quota exceeded in {allocation.region}: {dimension.label} {used}{unit} of "
            f"{limit}{unit} used, this request needs {needed}{unit}."
        )
        super().__init__(message, code="quota_exceeded", params={"dimension": dimension.key})
