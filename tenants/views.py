"""Pages for tenants, allocations and regions: configuration on the shared restricted views."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from portal.views import ClassifiedPageMixin, RestrictedDetailView, RestrictedListView
from tenants import selectors
from tenants.delegations import delegation_create, delegation_end
from tenants.forms import DelegationForm
from tenants.models import Allocation, CloudRegion, Delegation, Tenant
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
        from provisioning.services import request_refusal

        kwargs["usage"] = usage_with_pending([self.object])[self.object.pk]
        kwargs["may_request"] = request_refusal(self.request.user, self.object) is None
        return super().get_context_data(**kwargs)


class RegionListView(RestrictedListView):
    model = CloudRegion
    queryset = CloudRegion.objects.select_related("site", "domain")
    template_name = "tenants/region_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from provisioning.report_charts import capacity_chart

        capacity = selectors.capacity_by_region(self.request.user)
        kwargs.update(capacity=capacity, capacity_chart=capacity_chart(capacity))
        return super().get_context_data(**kwargs)


class RegionDetailView(RestrictedDetailView):
    model = CloudRegion
    queryset = CloudRegion.objects.select_related("site", "domain")
    template_name = "tenants/region_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["allocations"] = selectors.allocations_visible_to(self.request.user).filter(
            region=self.object
        )
        return super().get_context_data(**kwargs)


class DelegationView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    """Out of office: hand one's approvals to a colleague for a period, and see who stands in
    for whom."""

    template_name = "tenants/delegation.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        kwargs.setdefault("form", DelegationForm(delegator=user))
        kwargs["given"] = list(
            Delegation.objects.filter(delegator=user).select_related("delegate")[:20]
        )
        kwargs["received"] = list(
            Delegation.objects.filter(delegate=user, ended_at=None, ends_at__gt=timezone.now())
            .select_related("delegator")
            .prefetch_related("tenants")
        )
        kwargs["now"] = timezone.now()
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = DelegationForm(request.POST, delegator=request.user)
        if form.is_valid():
            starts, ends = form.period()
            try:
                delegation_create(
                    delegator=request.user, delegate=form.cleaned_data["delegate"],
                    starts_at=starts, ends_at=ends, reason=form.cleaned_data["reason"],
                )  # fmt: skip
            except ValidationError as err:
                fields = {"starts_at": "starts_on", "ends_at": "ends_on"}
                for field, messages_ in err.message_dict.items():
                    for message in messages_:
                        form.add_error(fields.get(field, field), message)
            else:
                messages.success(request, _("Your approvals are handed on for that period."))
                return redirect("account-delegation")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class DelegationEndView(LoginRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        delegation = get_object_or_404(Delegation, pk=pk, delegator=request.user)
        delegation_end(delegation=delegation, actor=request.user)
        messages.success(request, _("You decide yourself again."))
        return redirect("account-delegation")
