"""Admin pages for tenancy.

Memberships, clearances, entitlements and allocations change only through ``tenants.services``,
so the guardian grants stay in step and every change is audited with the admin user who made it.
"""

from __future__ import annotations

from django.contrib import admin
from guardian.admin import GuardedModelAdmin
from guardian.forms import GroupObjectPermissionsForm, UserObjectPermissionsForm

from portal.admin import AuditedAdmin
from provisioning.services.calendars import sla_clocks_changed
from tenants import services
from tenants.access import DOMAIN_PERMISSION, OFFICER_PERMISSION, SITE_PERMISSION
from tenants.models import (
    Allocation,
    CloudRegion,
    DirectoryAccount,
    DirectoryGrant,
    DirectoryRule,
    Membership,
    SecurityDomain,
    Site,
    Tenant,
)


class _GrantsThroughServices:
    """Guardian's object-permission form, limited to the portal's grants and saved by a service.

    Guardian's own form offers add/change/delete/view object permissions, which mean nothing to
    the access layer, and assigns them directly, which would leave no audit trail.
    """

    grants: tuple[str, ...] = ()
    actor = None

    def get_obj_perms_field_choices(self) -> list[tuple[str, str]]:
        return [(c, n) for c, n in super().get_obj_perms_field_choices() if c in self.grants]

    def save_obj_perms(self) -> None:
        chosen = set(self.cleaned_data[self.get_obj_perms_field_name()])
        services.object_permissions_change(
            grantee=self.grantee, obj=self.obj, grant=chosen,
            revoke=set(self.grants) - chosen, actor=self.actor,
        )  # fmt: skip


class _UserGrantsForm(_GrantsThroughServices, UserObjectPermissionsForm):
    @property
    def grantee(self):
        return self.user


class _GroupGrantsForm(_GrantsThroughServices, GroupObjectPermissionsForm):
    @property
    def grantee(self):
        return self.group


class GrantsAdmin(AuditedAdmin, GuardedModelAdmin):
    """The "Object permissions" pages of a domain or site, offering only ``grants``."""

    grants: tuple[str, ...] = ()

    def _form(self, base: type, request) -> type:
        return type(base.__name__, (base,), {"grants": self.grants, "actor": request.user})

    def get_obj_perms_manage_user_form(self, request):
        return self._form(_UserGrantsForm, request)

    def get_obj_perms_manage_group_form(self, request):
        return self._form(_GroupGrantsForm, request)


@admin.register(SecurityDomain)
class SecurityDomainAdmin(GrantsAdmin):
    """Clearances are object permissions on the domain: grant them under "Object permissions"."""

    grants = (DOMAIN_PERMISSION, OFFICER_PERMISSION)
    list_display = ["name", "level", "marking", "banner_colour", "requires_security_officer",
                    "external_addresses", "firewall_review", "open_ingress",
                    "sla_clock"]  # fmt: skip
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:  # the SLA figures follow an edited working calendar
            sla_clocks_changed(domain=obj, fields=form.changed_data)


@admin.register(Site)
class SiteAdmin(GrantsAdmin):
    """Site entitlements are object permissions on the site: see "Object permissions"."""

    grants = (SITE_PERMISSION,)
    list_display = ["name", "location", "timezone", "country"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:  # the SLA figures follow an edited time zone or holidays
            sla_clocks_changed(site=obj, fields=form.changed_data)


@admin.register(CloudRegion)
class CloudRegionAdmin(AuditedAdmin):
    list_display = [
        "slug", "site", "domain", "cloud_name", "region_name", "enabled", "availability_target",
    ]  # fmt: skip
    list_filter = ["site", "domain", "enabled"]
    list_select_related = ["site", "domain"]


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    fields = ["region", "project_id", "instances", "vcpus", "ram_mb", "networks", "routers"]


@admin.register(Tenant)
class TenantAdmin(AuditedAdmin):
    list_display = ["name", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AllocationInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Allocation:
            return super().save_formset(request, form, formset, change)
        for allocation in formset.save(commit=False):
            services.allocation_save(allocation=allocation, actor=request.user)
        for allocation in formset.deleted_objects:
            services.allocation_delete(allocation=allocation, actor=request.user)
        return None

    def delete_model(self, request, obj):
        services.tenant_delete(tenant=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            services.tenant_delete(tenant=tenant, actor=request.user)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__name"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["tenant"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a membership to another user or tenant is a removal plus a new membership.
        return ["user", "tenant"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        saved = services.membership_set(
            tenant=obj.tenant, user=obj.user, role=obj.role, actor=request.user
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "tenant"):
            services.membership_remove(membership=membership, actor=request.user)


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["tenant", "region", "project_id", "instances", "vcpus", "ram_mb"]
    list_filter = ["region__site", "region__domain"]
    list_select_related = ["tenant", "region__site", "region__domain"]
    search_fields = ["tenant__name", "project_id"]

    def save_model(self, request, obj, form, change):
        # Through the service, so that the cloud's project and quotas follow.
        services.allocation_save(allocation=obj, actor=request.user)

    def delete_model(self, request, obj):
        services.allocation_delete(allocation=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for allocation in queryset.select_related("tenant", "region"):
            services.allocation_delete(allocation=allocation, actor=request.user)


@admin.register(DirectoryRule)
class DirectoryRuleAdmin(AuditedAdmin):
    """The rules that turn directory groups into rights; applied at each sign-in and by the
    periodic sync (``manage.py directory_sync`` applies them at once)."""

    list_display = ["group", "source", "right", "role", "tenant", "domain", "site", "description"]
    list_filter = ["right", "source", "role"]
    search_fields = ["group", "description"]
    autocomplete_fields = ["tenant"]
    fields = ["group", "source", "right", "tenant", "role", "domain", "site", "description"]


class DirectoryGrantInline(admin.TabularInline):
    model = DirectoryGrant
    extra = 0
    can_delete = False
    readonly_fields = ["right", "role"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DirectoryAccount)
class DirectoryAccountAdmin(AuditedAdmin):
    """Who signs in through the directory or the provider, their groups as last seen, and the
    rights the rules gave them. Adding one hands an existing account over to the directory."""

    list_display = ["user", "source", "subject", "synced_at", "removed_at"]
    list_filter = ["source", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "subject"]
    raw_id_fields = ["user"]
    readonly_fields = ["groups", "synced_at", "removed_at"]
    inlines = [DirectoryGrantInline]
