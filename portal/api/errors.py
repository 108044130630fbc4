"""One error body for the whole API: ``{"message", "code", "fields"}``.

Automation authors parse one shape instead of DRF's several (a list, a dict of lists, a
``detail`` string).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {}
    return {key: _flatten(value) for key, value in detail.items()}


class QuotaConflict(exceptions.APIException):
    """A request that does not fit the allocation's quota: a conflict with the current state."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "quota_exceeded"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


class StateConflict(exceptions.APIException):
    """The request collides with the current state of what it acts on (another one in flight)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer every API error with ``{"message", "code", "fields"}`` (plus a few extras).

    ``errors`` lists non-field messages; ``quota`` details a quota refusal (dimension, used,
    limit, needed) so automation can act on it without parsing the message.
    """
    from provisioning.services.errors import QuotaExceeded, RequestConflict, RequestNotAllowed

    quota = None
    conflict_fields: dict[str, list[str]] = {}
    if isinstance(exc, RequestConflict):
        conflict_fields = exc.message_dict
        exc = StateConflict(exc.messages[0])
    elif isinstance(exc, QuotaExceeded):
        quota = {
            "dimension": exc.dimension.key,
            "used": exc.used,
            "limit": exc.limit,
            "needed": exc.needed,
        }
        exc = QuotaConflict(exc.messages[0])
    elif isinstance(exc, RequestNotAllowed):
        exc = exceptions.PermissionDenied(str(exc) or None, code="not_allowed")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, RequestDataTooBig):  # read by the idempotency check before a parser
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(detail)
        non_field = fields.pop("non_field_errors", [])
        message = non_field[0] if non_field else _("The request has invalid fields.")
        if not isinstance(detail, dict):
            non_field = _flatten(detail)
            message = non_field[0] if non_field else message
        body = {"message": message, "code": "invalid", "fields": fields}
        if non_field:
            body["errors"] = non_field
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body = {
            "message": " ".join(_flatten(detail)),
            "code": codes if isinstance(codes, str) else "error",
            "fields": {},
        }
    if quota is not None:
        body["quota"] = quota
    if conflict_fields:
        body["fields"] = conflict_fields
    response.data = body
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" not in response:
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = str(int(wait))
    return response
