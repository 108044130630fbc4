"""Operator pages for requests, resources and orphans.

Each list passes through the access layer (``restrict``), so a staff user who is not an operator
sees in the admin exactly what they see in the portal. Requests change state only through the
services, so their state is read-only here; actions call the services.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal.admin import AuditedAdmin
from provisioning import services
from provisioning.models import (
    Approval,
    ApprovalPolicy,
    CatalogPolicy,
    Flavor,
    FloatingIp,
    Image,
    Incident,
    MonthlyReport,
    Network,
    Offering,
    Orphan,
    RateCard,
    RequestState,
    RequestTransition,
    ResourceRequest,
    SecurityGroup,
    Server,
    Volume,
    VolumeType,
    VolumeTypeQuota,
)
from provisioning.services.allocations import volume_type_quota_remove, volume_type_quota_set
from provisioning.services.operations import request_redrive
from tenants.access import Action, is_operator


class RestrictedAdmin(admin.ModelAdmin):
    """The admin's querysets pass through the same access layer as the portal."""

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user, Action.VIEW)


class TransitionInline(admin.TabularInline):
    model = RequestTransition
    extra = 0
    can_delete = False
    readonly_fields = ["at", "from_state", "to_state", "actor", "note"]

    def has_add_permission(self, request, obj=None):
        return False


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    readonly_fields = ["stage", "decision", "decided_by", "decided_at", "comment"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ResourceRequest)
class ResourceRequestAdmin(RestrictedAdmin):
    list_display = ["id", "kind", "title", "allocation", "requester", "state", "pending_stage",
                    "state_changed_at", "attempts"]  # fmt: skip
    list_filter = ["state", "kind", "allocation__region__site", "allocation__region__domain"]
    list_select_related = ["allocation__tenant", "allocation__region__site",
                           "allocation__region__domain", "requester"]  # fmt: skip
    search_fields = ["id", "spec__name", "requester__username", "allocation__tenant__name"]
    readonly_fields = [f.name for f in ResourceRequest._meta.fields]
    inlines = [ApprovalInline, TransitionInline]
    actions = ["retry_failed", "redrive"]

    def has_add_permission(self, request):
        return False  # requests are made in the portal or through the API

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=gettext_lazy("Retry the selected failed requests"))
    def retry_failed(self, request, queryset):
        done = 0
        for item in queryset.filter(state=RequestState.FAILED):
            try:
                services.request_retry(user=request.user, request=item)
                done += 1
            except (ValidationError, PermissionDenied) as err:
                self.message_user(
                    request,
                    _("#%(request)s: %(error)s") % {"request": item.pk, "error": err},
                    messages.WARNING,
                )
        self.message_user(
            request,
            ngettext(
                "%(count)s request(s) sent back to provisioning.",
                "%(count)s request(s) sent back to provisioning.",
                done,
            )
            % {"count": done},
        )

    @admin.action(description=gettext_lazy("Re-drive stuck requests (approved or provisioning)"))
    def redrive(self, request, queryset):
        if not is_operator(request.user):
            raise PermissionDenied
        done = 0
        for item in queryset.filter(state__in=[RequestState.APPROVED, RequestState.PROVISIONING]):
            request_redrive(user=request.user, request=item)
            done += 1
        self.message_user(
            request,
            ngettext("%(count)s request(s) re-driven.", "%(count)s request(s) re-driven.", done)
            % {"count": done},
        )


@admin.register(Server)
class ServerAdmin(RestrictedAdmin):
    list_display = ["name", "allocation", "status", "flavor_name", "lease_end", "deleted_at"]
    list_filter = ["status", "allocation__region__site", "allocation__region__domain"]
    list_select_related = ["allocation__tenant", "allocation__region__site",
                           "allocation__region__domain"]  # fmt: skip
    search_fields = ["name", "backend_id", "tag"]
    readonly_fields = ["backend_id", "tag", "origin_request", "addresses", "status", "fault",
                       "created_at", "last_seen_at", "deleted_at"]  # fmt: skip


@admin.register(Network)
class NetworkAdmin(RestrictedAdmin):
    list_display = ["name", "cidr", "allocation", "status", "deleted_at"]
    list_filter = ["allocation__region__site", "allocation__region__domain"]
    list_select_related = ["allocation__tenant", "allocation__region__site",
                           "allocation__region__domain"]  # fmt: skip
    search_fields = ["name", "backend_id", "cidr"]
    readonly_fields = ["backend_id", "subnet_id", "router_id", "tag", "origin_request",
                       "created_at", "last_seen_at", "deleted_at"]  # fmt: skip


@admin.register(FloatingIp)
class FloatingIpAdmin(RestrictedAdmin):
    list_display = ["address", "server", "allocation", "status", "deleted_at"]
    list_filter = ["allocation__region__site", "allocation__region__domain"]
    list_select_related = ["server", "allocation__tenant", "allocation__region__site",
                           "allocation__region__domain"]  # fmt: skip
    search_fields = ["address", "backend_id"]
    readonly_fields = ["name", "address", "backend_id", "port_id", "tag", "origin_request",
                       "server", "status", "created_at", "last_seen_at", "deleted_at"]  # fmt: skip


@admin.register(SecurityGroup)
class SecurityGroupAdmin(RestrictedAdmin):
    list_display = ["name", "allocation", "drift_checked_at", "deleted_at"]
    list_filter = ["allocation__region__site", "allocation__region__domain"]
    list_select_related = ["allocation__tenant", "allocation__region__site",
                           "allocation__region__domain"]  # fmt: skip
    search_fields = ["name", "backend_id"]
    readonly_fields = ["backend_id", "tag", "origin_request", "drift", "drift_checked_at",
                       "created_at", "last_seen_at", "deleted_at"]  # fmt: skip


@admin.register(Volume)
class VolumeAdmin(RestrictedAdmin):
    list_display = ["name", "size_gb", "volume_type", "server", "allocation", "status",
                    "deleted_at"]  # fmt: skip
    list_filter = ["status", "allocation__region__site", "allocation__region__domain"]
    list_select_related = ["server", "allocation__tenant", "allocation__region__site",
                           "allocation__region__domain"]  # fmt: skip
    search_fields = ["name", "backend_id"]
    readonly_fields = ["name", "size_gb", "volume_type", "status", "server", "device",
                       "backend_id", "tag", "origin_request", "created_at", "last_seen_at",
                       "deleted_at"]  # fmt: skip


@admin.register(Orphan)
class OrphanAdmin(RestrictedAdmin):
    list_display = ["kind", "name", "backend_id", "region", "tag", "first_seen_at",
                    "last_seen_at", "resolved_at"]  # fmt: skip
    list_filter = ["kind", "region__site", "region__domain", "resolved_at"]
    list_select_related = ["region__site", "region__domain"]
    readonly_fields = [f.name for f in Orphan._meta.fields]


@admin.register(Flavor, Image)
class CatalogAdmin(RestrictedAdmin):
    list_display = ["name", "region", "active", "synced_at"]
    list_filter = ["region", "active"]


@admin.register(VolumeType)
class VolumeTypeAdmin(AuditedAdmin, RestrictedAdmin):
    """Synced from the cloud; operators set the largest volume a unit may ask of each type."""

    list_display = ["name", "region", "max_size_gb", "active", "synced_at"]
    list_filter = ["region", "active"]
    fields = ["region", "name", "description", "backend_id", "max_size_gb", "active"]
    readonly_fields = ["region", "name", "description", "backend_id", "active"]


@admin.register(VolumeTypeQuota)
class VolumeTypeQuotaAdmin(RestrictedAdmin):
    """Per-type limits of an allocation's volumes; each change is audited and pushed."""

    list_display = ["allocation", "volume_type", "volumes", "gigabytes"]
    list_select_related = ["allocation__tenant", "allocation__region"]
    list_filter = ["volume_type", "allocation__region"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # A limit is of one type: another type is another limit.
        return ["allocation", "volume_type"] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        volume_type_quota_set(
            allocation=obj.allocation, volume_type=obj.volume_type, volumes=obj.volumes,
            gigabytes=obj.gigabytes, actor=request.user,
        )  # fmt: skip

    def delete_model(self, request, obj) -> None:
        volume_type_quota_remove(quota=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for quota in queryset:
            volume_type_quota_remove(quota=quota, actor=request.user)


@admin.register(Offering)
class OfferingAdmin(AuditedAdmin):
    list_display = ["name", "flavor_name", "image_name", "active"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["regions"]


@admin.register(CatalogPolicy)
class CatalogPolicyAdmin(AuditedAdmin, RestrictedAdmin):
    list_display = ["__str__", "domain", "allocation", "offerings_only", "flavors", "images",
                    "volume_types"]  # fmt: skip
    list_select_related = ["domain", "allocation__tenant", "allocation__region"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(AuditedAdmin, RestrictedAdmin):
    list_display = ["__str__", "domain", "allocation", "auto_approve", "security_officer_required"]


@admin.register(Incident)
class IncidentAdmin(RestrictedAdmin):
    """What the availability probes recorded: read only (the probes open and close them)."""

    list_display = ["region", "service", "started_at", "ended_at", "failed_probes"]
    list_filter = ["service", "region"]
    list_select_related = ["region__site", "region__domain"]
    readonly_fields = [f.name for f in Incident._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MonthlyReport)
class MonthlyReportAdmin(admin.ModelAdmin):
    """The monthly SLA reports as sent: read only, each PDF downloadable."""

    list_display = ["month", "created_at", "sent_at", "recipients"]
    readonly_fields = ["month", "created_at", "sent_at", "recipients", "pdf_link"]
    exclude = ["pdf"]

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("monthly-report-pdf", args=[obj.month])
        return format_html('<a href="{}">{}</a>', url, f"sla-report-{obj.month}.pdf")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RateCard)
class RateCardAdmin(AuditedAdmin):
    """The operators' prices of an hour of each thing, from a day (the showback's)."""

    list_display = ["name", "valid_from", "valid_until", "currency", "vcpu_hour", "ram_gib_hour",
                    "volume_gib_hour", "floating_ip_hour", "stopped_share"]  # fmt: skip
