"""Admin for the audit log: read-only, because events are appended by services and never changed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from portal.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["id", "occurred_at", "actor_name", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "action", "object_id", "object_repr"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # a count over a long log is slow and says little

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        # The same access rule as every other page: staff see only the events they may view.
        return super().get_queryset(request).restrict(request.user, "view")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
