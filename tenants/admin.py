"""Admin pages for tenancy. Memberships go through services so guardian grants stay in step."""

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from tenants import services
from tenants.models import Allocation, CloudRegion, Membership, SecurityDomain, Site, Tenant


@admin.register(SecurityDomain)
class SecurityDomainAdmin(GuardedModelAdmin):
    """Clearances are object permissions on the domain: grant them under "Object permissions"."""

    list_display = ["name", "level", "marking", "banner_colour", "requires_security_officer"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Site)
class SiteAdmin(GuardedModelAdmin):
    """Site entitlements are object permissions on the site: see "Object permissions"."""

    list_display = ["name", "location"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(CloudRegion)
class CloudRegionAdmin(admin.ModelAdmin):
    list_display = ["slug", "site", "domain", "cloud_name", "region_name", "enabled"]
    list_filter = ["site", "domain", "enabled"]
    list_select_related = ["site", "domain"]


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    fields = ["region", "project_id", "instances", "vcpus", "ram_mb", "networks", "routers"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AllocationInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Allocation:
            return super().save_formset(request, form, formset, change)
        for allocation in formset.save(commit=False):
            services.allocation_save(allocation=allocation)
        for allocation in formset.deleted_objects:
            allocation.delete()
        return None

    def delete_model(self, request, obj):
        services.tenant_delete(tenant=obj)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            services.tenant_delete(tenant=tenant)


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
        saved = services.membership_set(tenant=obj.tenant, user=obj.user, role=obj.role)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "tenant"):
            services.membership_remove(membership=membership)


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["tenant", "region", "project_id", "instances", "vcpus", "ram_mb"]
    list_filter = ["region__site", "region__domain"]
    list_select_related = ["tenant", "region__site", "region__domain"]
    search_fields = ["tenant__name", "project_id"]

    def save_model(self, request, obj, form, change):
        # Through the service, so that the cloud's project and quotas follow.
        services.allocation_save(allocation=obj)
