"""OpenAPI generation: the error answers, the Idempotency-Key header and the token scheme.

Documented once here rather than on every operation, so a new endpoint is described completely
without anyone remembering to.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from portal.idempotency import HEADER as IDEMPOTENCY_HEADER


class QuotaRefusalSerializer(serializers.Serializer):
    dimension = serializers.CharField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField()
    needed = serializers.IntegerField()


class ErrorSerializer(serializers.Serializer):
    """The one error body of the API."""

    message = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(help_text="A stable code for programs, e.g. 'not_found'.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per request field (empty when the error is not about a field).",
    )
    errors = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Messages about no one field."
    )
    quota = QuotaRefusalSerializer(required=False, help_text="Only on quota refusals (409).")


def _error(description: str, message: str, code: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(code, value={"message": message, "code": code, "fields": {}}),
        ],
    )


COMMON_ERRORS = {
    "400": _error(
        "Invalid fields or query parameters.", "The request has invalid fields.", "invalid"
    ),
    "401": _error(
        "No valid token or session.",
        "Authentication credentials were not provided.",
        "not_authenticated",
    ),
    "403": _error(
        "You can see the object but may not do this to it (or your token is read-only).",
        "Four-eyes rule: nobody decides on their own request.",
        "not_allowed",
    ),
    "404": _error("No such object within your reach.", "Not found.", "not_found"),
    "429": _error(
        "Too many requests; wait for the seconds in Retry-After.",
        "Request was throttled. Expected available in 12 seconds.",
        "throttled",
    ),
}
POST_ERRORS = {
    "409": _error(
        "A quota refusal, or a duplicate of a request still in progress (same Idempotency-Key).",
        "Quota exceeded in mons-unclass: vCPUs 18 of 20 used, this request needs 4.",
        "quota_exceeded",
    ),
    "422": _error(
        "The Idempotency-Key was already used for a different request.",
        "This Idempotency-Key was already used for a different request.",
        "idempotency_key_reused",
    ),
}


class PortalAutoSchema(AutoSchema):
    """Adds the shared error answers and, on idempotent POSTs, the Idempotency-Key header."""

    def _is_idempotent_post(self) -> bool:
        from portal.api.viewsets import IdempotentMixin

        return self.method == "POST" and isinstance(self.view, IdempotentMixin)

    def get_override_parameters(self) -> list:
        params = list(super().get_override_parameters())
        if self._is_idempotent_post():
            params.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "A unique key (e.g. a UUID) per intended action. A retry with the same "
                        "key within 24 h returns the first answer and does nothing twice."
                    ),
                )
            )
        return params

    def _get_response_bodies(self, direction: str = "response") -> dict:
        # Hooked here rather than in get_response_serializers(), which @extend_schema replaces.
        bodies = super()._get_response_bodies(direction)
        errors = dict(COMMON_ERRORS)
        if self._is_idempotent_post():
            errors.update(POST_ERRORS)
        for code, response in errors.items():
            if code not in bodies:
                bodies[code] = self._get_response_for_code(response, code, direction=direction)
        return bodies


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token from /account/tokens/ or POST /api/v1/tokens/.",
        }


class PasswordScheme(OpenApiAuthenticationExtension):
    target_class = "portal.authentication.ThrottledBasicAuthentication"
    name = "passwordAuth"

    def get_security_definition(self, auto_schema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Username and password: only to create a token (rate-limited).",
        }
