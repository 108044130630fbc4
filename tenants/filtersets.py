"""Filters shared by the pages and the API for tenancy objects."""

import django_filters
from django.utils.translation import gettext_lazy

from portal.inputs import IdFilter
from tenants.models import Allocation, CloudRegion, Tenant


class CloudRegionFilterSet(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__slug", label=gettext_lazy("Site (slug)"))
    domain = django_filters.CharFilter(
        field_name="domain__slug", label=gettext_lazy("Security domain (slug)")
    )

    class Meta:
        model = CloudRegion
        fields = ["site", "domain", "enabled"]


class TenantFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", label=gettext_lazy("Name contains")
    )
    # An id, not a choice among visible tenants: another unit's id answers like an unknown one.
    parent = IdFilter(field_name="parent_id", label=gettext_lazy("Parent tenant id"))

    class Meta:
        model = Tenant
        fields = ["q", "parent"]


class AllocationFilterSet(django_filters.FilterSet):
    tenant = django_filters.CharFilter(
        field_name="tenant__slug", label=gettext_lazy("Tenant (slug)")
    )
    site = django_filters.CharFilter(
        field_name="region__site__slug", label=gettext_lazy("Site (slug)")
    )
    domain = django_filters.CharFilter(
        field_name="region__domain__slug", label=gettext_lazy("Security domain (slug)")
    )
    region = django_filters.CharFilter(
        field_name="region__slug", label=gettext_lazy("Region (slug)")
    )

    class Meta:
        model = Allocation
        fields = ["tenant", "site", "domain", "region"]
