"""Personal API tokens over the API: list, create (the secret is in that answer only), revoke."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from portal.api.viewsets import IdempotentMixin
from portal.authentication import ApiTokenAuthentication, ThrottledBasicAuthentication
from portal.models import ApiToken
from portal.tokens import token_create, token_revoke, tokens_of


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "read_only",
            "rate_limit",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    read_only = serializers.BooleanField(default=False)


class TokenCreatedSerializer(TokenSerializer):
    secret = serializers.CharField(
        help_text=gettext_lazy("The token itself. Shown in this answer only.")
    )

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class TokenViewSet(
    IdempotentMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own tokens. Creating one needs a password (HTTP Basic) or a browser session.

    A token cannot mint tokens: a leaked token must not be able to outlive its own revocation.
    """

    queryset = ApiToken.objects.none()  # the model, for the schema; rows come from below
    serializer_class = TokenSerializer
    authentication_classes = [
        ApiTokenAuthentication,
        ThrottledBasicAuthentication,
        SessionAuthentication,
    ]
    ordering_fields = ["id", "created_at", "name"]
    ordering = ["-created_at", "-id"]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[ApiToken]:
        return tokens_of(self.request.user)

    def idempotent_stored_body(self, data: Any) -> Any:
        # The secret is never stored: a replayed creation answers without it (revoke that token
        # and create another if the first answer was lost).
        if isinstance(data, dict) and "secret" in data:
            return {**data, "secret": ""}
        return data

    @extend_schema(
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer},
        examples=[
            OpenApiExample(
                "A read-write token for a pipeline",
                value={"name": "ci-pipeline", "expires_at": "2027-01-31T00:00:00Z"},
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={
                    "id": 7,
                    "name": "ci-pipeline",
                    "prefix": "ptk_Xw3k9aQ2",
                    "read_only": False,
                    "created_at": "2026-11-27T09:00:00Z",
                    "expires_at": "2027-01-31T00:00:00Z",
                    "last_used_at": None,
                    "revoked_at": None,
                    "secret": "ptk_Xw3k9aQ2...",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def create(self, request, *args, **kwargs) -> Response:
        if isinstance(request.auth, ApiToken):
            raise PermissionDenied(
                _(
                    "Tokens are created with your password (HTTP Basic) or in the browser at "
                    "/account/tokens/, not with another token."
                )
            )
        payload = TokenCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token, secret = token_create(user=request.user, **payload.validated_data)
        token.secret = secret
        return Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: TokenSerializer})
    def destroy(self, request, *args, **kwargs) -> Response:
        """Revoke the token (it is kept, marked revoked, and refused from now on)."""
        token = token_revoke(user=request.user, token=self.get_object())
        return Response(TokenSerializer(token).data)
