"""Read endpoints for tenancy: thin configuration on the restricted viewset."""

from __future__ import annotations

from rest_framework import mixins, viewsets

from portal.api.viewsets import RestrictedReadOnlyViewSet
from tenants import filtersets, selectors
from tenants.api import serializers
from tenants.models import Allocation, CloudRegion, Membership, SecurityDomain, Site, Tenant


class SiteViewSet(RestrictedReadOnlyViewSet):
    """Sites the caller is entitled to."""

    queryset = Site.objects.all()
    serializer_class = serializers.SiteSerializer
    ordering_fields = ["id", "name"]
    ordering = ["name", "id"]


class SecurityDomainViewSet(RestrictedReadOnlyViewSet):
    """Security domains the caller is cleared for."""

    queryset = SecurityDomain.objects.all()
    serializer_class = serializers.SecurityDomainSerializer
    ordering_fields = ["id", "level", "name"]
    ordering = ["level", "id"]


class CloudRegionViewSet(RestrictedReadOnlyViewSet):
    """Cloud regions at sites and in domains the caller may reach."""

    queryset = CloudRegion.objects.select_related("site", "domain")
    serializer_class = serializers.CloudRegionSerializer
    filterset_class = filtersets.CloudRegionFilterSet
    ordering_fields = ["id", "slug"]
    ordering = ["slug", "id"]


class TenantViewSet(RestrictedReadOnlyViewSet):
    """Tenants the caller is a member of."""

    queryset = Tenant.objects.all()
    serializer_class = serializers.TenantSerializer
    filterset_class = filtersets.TenantFilterSet
    ordering_fields = ["id", "name"]
    ordering = ["name", "id"]


class AllocationViewSet(RestrictedReadOnlyViewSet):
    """Allocations with their quota usage (``used`` counts resources and requests in flight):
    a list reads the usage kept up to date on every change, one allocation computes it live
    (``usage_as_of`` says which)."""

    queryset = Allocation.objects.select_related("tenant", "region__site", "region__domain")
    serializer_class = serializers.AllocationSerializer
    filterset_class = filtersets.AllocationFilterSet
    ordering_fields = ["id", "tenant__name"]
    ordering = ["id"]

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.select_related("usage") if self.action == "list" else queryset


class MembershipViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own memberships and roles."""

    queryset = Membership.objects.none()  # the model, for the schema; rows come from below
    serializer_class = serializers.MembershipSerializer

    def get_queryset(self):
        return selectors.memberships_of(self.request.user).order_by("tenant__name", "id")
