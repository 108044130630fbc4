"""Filters shared by the pages and the API for tenancy objects."""

import django_filters

from portal.inputs import IdFilter
from tenants.models import Allocation, CloudRegion, Tenant


class CloudRegionFilterSet(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__slug", label="Site (slug)")
    domain = django_filters.CharFilter(field_name="domain__slug", label="Security domain (slug)")

    class Meta:
        model = CloudRegion
        fields = ["site", "domain", "enabled"]


class TenantFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    # An id, not a choice among visible tenants: another unit's id answers like an unknown one.
    parent = IdFilter(field_name="parent_id", label="Parent tenant id")

    class Meta:
        model = Tenant
        fields = ["q", "parent"]


class AllocationFilterSet(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug", label="Tenant (slug)")
    site = django_filters.CharFilter(field_name="region__site__slug", label="Site (slug)")
    domain = django_filters.CharFilter(
        field_name="region__domain__slug", label="Security domain (slug)"
    )
    region = django_filters.CharFilter(field_name="region__slug", label="Region (slug)")

    class Meta:
        model = Allocation
        fields = ["tenant", "site", "domain", "region"]
