"""Admin for the audit log (read-only: events are appended by services and never changed), and
the mixin that puts the admin's configuration changes into it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from portal.models import ApiToken, AuditEvent, SignInFailures
from portal.services import audited_delete, audited_save


class AuditedAdmin(admin.ModelAdmin):
    """Saves and deletes configuration objects through ``audited_save`` / ``audited_delete``.

    For models no domain service owns (domains, sites, regions, policies, offerings): who changed
    them, and what, is kept like any other decision.
    """

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        audited_save(obj=obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audited_delete(obj=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            audited_delete(obj=obj, actor=request.user)


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


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    """Operators revoke tokens and give automation tokens a rate of their own; nothing else of a
    token changes after it is made (the secret is never kept)."""

    list_display = ["name", "prefix", "owner", "read_only", "rate_limit", "created_at",
                    "last_used_at", "revoked_at"]  # fmt: skip
    list_filter = ["read_only", "revoked_at"]
    search_fields = ["name", "prefix", "owner__username"]
    fields = ["owner", "name", "prefix", "read_only", "rate_limit", "created_at", "expires_at",
              "last_used_at", "revoked_at"]  # fmt: skip
    readonly_fields = ["owner", "name", "prefix", "read_only", "created_at", "expires_at",
                       "last_used_at", "revoked_at"]  # fmt: skip
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are made by their owner, who sees the secret once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the audit log names them


@admin.register(SignInFailures)
class SignInFailuresAdmin(admin.ModelAdmin):
    """Counts of failed sign-ins; deleting a row lifts its lock early."""

    list_display = ["key", "failures", "window_started_at", "locked_until"]
    search_fields = ["key"]
    readonly_fields = ["key", "failures", "window_started_at", "locked_until"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
