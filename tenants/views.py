"""Pages for tenants, allocations and regions: configuration on the shared restricted views."""

from __future__ import annotations

from typing import Any

from portal.views import RestrictedDetailView, RestrictedListView
from tenants import selectors
from tenants.models import Allocation, CloudRegion, Tenant
from tenants.quotas import usage_by_allocation, usage_with_pending


class TenantListView(RestrictedListView):
    model = Tenant
    queryset = Tenant.objects.select_related("parent")
    template_name = "tenants/tenant_list.html"


class TenantDetailView(RestrictedDetailView):
    model = Tenant
    template_name = "tenants/tenant_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        allocations = list(
            selectors.allocations_visible_to(self.request.user).filter(tenant=self.object)
        )
        usage = usage_with_pending(allocations)
        kwargs["allocation_rows"] = [(a, usage[a.pk]) for a in allocations]
        kwargs["members"] = self.object.memberships.select_related("user").order_by(
            "user__username"
        )
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]):
        return {a.region.domain for a, _ in context["allocation_rows"]}


class AllocationListView(RestrictedListView):
    model = Allocation
    queryset = Allocation.objects.select_related("tenant", "region__site", "region__domain")
    template_name = "tenants/allocation_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        usage = usage_by_allocation(context["object_list"])
        context["rows"] = [(a, usage[a.pk]) for a in context["object_list"]]
        return context


class AllocationDetailView(RestrictedDetailView):
    model = Allocation
    queryset = Allocation.objects.select_related("tenant", "region__site", "region__domain")
    template_name = "tenants/allocation_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["usage"] = usage_with_pending([self.object])[self.object.pk]
        return super().get_context_data(**kwargs)


class RegionListView(RestrictedListView):
    model = CloudRegion
    queryset = CloudRegion.objects.select_related("site", "domain")
    template_name = "tenants/region_list.html"


class RegionDetailView(RestrictedDetailView):
    model = CloudRegion
    queryset = CloudRegion.objects.select_related("site", "domain")
    template_name = "tenants/region_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["allocations"] = selectors.allocations_visible_to(self.request.user).filter(
            region=self.object
        )
        return super().get_context_data(**kwargs)
