"""Out of office over the API: hand one's approvals on for a period, list, end."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.viewsets import IdempotentMixin
from tenants.delegations import delegate_candidates, delegation_create, delegation_end
from tenants.models import Delegation


class DelegationSerializer(serializers.ModelSerializer):
    delegator = serializers.CharField(source="delegator.username", read_only=True)
    delegate = serializers.CharField(
        source="delegate.username",
        help_text=gettext_lazy("The user name of a member of a tenant where you approve."),
    )
    tenants = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    in_effect = serializers.SerializerMethodField()

    class Meta:
        model = Delegation
        fields = ["id", "delegator", "delegate", "starts_at", "ends_at", "reason", "ended_at",
                  "tenants", "in_effect", "created_at"]  # fmt: skip
        read_only_fields = ["id", "ended_at", "created_at"]
        extra_kwargs = {"reason": {"required": False, "allow_blank": True}}

    def get_in_effect(self, delegation: Delegation) -> bool:
        return delegation.group_id is not None


class DelegationViewSet(
    IdempotentMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Hand-overs you gave or received; personal, like tokens: nobody else sees them here (the
    audit log records each one)."""

    queryset = Delegation.objects.none()  # the model, for the schema; rows come from below
    serializer_class = DelegationSerializer
    ordering_fields = ["id", "starts_at"]
    ordering = ["-starts_at", "-id"]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Delegation]:
        user = self.request.user
        return (
            Delegation.objects.filter(Q(delegator=user) | Q(delegate=user))
            .select_related("delegator", "delegate")
            .prefetch_related("tenants")
        )

    @extend_schema(
        examples=[
            OpenApiExample(
                "Away for a week",
                value={
                    "delegate": "anna",
                    "starts_at": "2026-12-21T00:00:00+01:00",
                    "ends_at": "2026-12-28T00:00:00+01:00",
                    "reason": "Leave",
                },
                request_only=True,
            )
        ]
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        delegate = (
            delegate_candidates(request.user).filter(username=data["delegate"]["username"]).first()
        )
        if delegate is None:
            raise ValidationError(
                {"delegate": [gettext_lazy(
                    "Choose a member of a tenant where you approve: nobody else may decide there."
                )]}
            )  # fmt: skip
        try:
            delegation = delegation_create(
                delegator=request.user, delegate=delegate, starts_at=data["starts_at"],
                ends_at=data["ends_at"], reason=data.get("reason", ""),
            )  # fmt: skip
        except DjangoValidationError as err:
            raise ValidationError(err.message_dict) from None
        return Response(self.get_serializer(delegation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=DelegationSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk=None, **kwargs) -> Response:
        """End a hand-over you gave, now."""
        delegation = self.get_object()
        if delegation.delegator_id != request.user.pk:
            raise PermissionDenied(
                gettext_lazy("Only the person who handed their approvals on ends it.")
            )
        ended = delegation_end(delegation=delegation, actor=request.user)
        return Response(self.get_serializer(ended).data)
