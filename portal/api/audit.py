"""The audit log over the API, read-only: operators and auditors see all, members their tenant's."""

from __future__ import annotations

import django_filters
from rest_framework import serializers

from portal.api.viewsets import RestrictedReadOnlyViewSet
from portal.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    action = django_filters.CharFilter(help_text="Exact action, e.g. 'approval.approved'.")
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", help_text="e.g. 'request.'"
    )
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text="Tenant (slug).")
    actor = django_filters.CharFilter(field_name="actor_name", help_text="Actor's username.")
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "tenant", "actor"]


class AuditEventSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    region = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "tenant",
            "region",
            "seq",
            "hash",
            "sealed_at",
        ]
        # Null until the event is sealed (normally within seconds of its commit).
        extra_kwargs = {
            "seq": {"help_text": "Place in the audit chain; null until sealed."},
            "hash": {"help_text": "Chain hash; null until sealed."},
            "sealed_at": {"help_text": "When the event was sealed into the chain."},
        }


class AuditEventViewSet(RestrictedReadOnlyViewSet):
    """Audit events within the caller's reach, newest first."""

    queryset = AuditEvent.objects.select_related("tenant", "region")
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    ordering_fields = ["id", "occurred_at"]
    ordering = ["-id"]
