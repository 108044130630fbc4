"""Asking for more capacity: new quota limits for an allocation, filed as a request that the
tenant's manager and then an operator decide (a lease extension is a server action)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.generic import TemplateView

from portal.views import RestrictedMixin
from provisioning.models import Kind
from provisioning.services import (
    QuotaExceeded,
    RequestNotAllowed,
    request_refusal,
    request_submit,
)
from provisioning.views.approvals import error_messages
from tenants.access import Action
from tenants.models import Allocation
from tenants.quotas import DIMENSIONS, usage_with_pending


class QuotaChangeRequestView(RestrictedMixin, TemplateView):
    """The allocation's quotas, each with what is used, and a field for its new limit."""

    template_name = "provisioning/quota_change.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            self.object = get_object_or_404(
                Allocation.objects.select_related("tenant", "region__site", "region__domain")
                .restrict(request.user, Action.VIEW),
                pk=kwargs["pk"],
            )  # fmt: skip
            self.refusal = request_refusal(request.user, self.object)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        usage = {u.dimension.key: u for u in usage_with_pending([self.object])[self.object.pk]}
        posted = self.request.POST
        kwargs.update(
            object=self.object,
            refusal=self.refusal,
            rows=[
                (d, usage.get(d.key), posted.get(d.key, getattr(self.object, d.key)))
                for d in DIMENSIONS
            ],
            justification=posted.get("justification", ""),
            errors=getattr(self, "errors", {}),
        )
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]) -> tuple:
        return (self.object.region.domain,)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        asked = {d.key: request.POST.get(d.key, "") for d in DIMENSIONS}
        # Only the limits that were changed are asked for: an unchanged one is not a request.
        spec = {k: v for k, v in asked.items() if v.strip() != str(getattr(self.object, k))}
        try:
            filed = request_submit(
                user=request.user, kind=Kind.QUOTA_CHANGE, allocation=self.object, spec=spec,
                justification=request.POST.get("justification", ""),
            )  # fmt: skip
        except (QuotaExceeded, ValidationError, RequestNotAllowed) as err:
            self.errors = error_messages(err, whole=("allocation",))
            status = 403 if isinstance(err, RequestNotAllowed) else 400
            return render(request, self.template_name, self.get_context_data(), status=status)
        return redirect(filed)


urlpatterns = [
    path("allocations/<int:pk>/quota-change/", QuotaChangeRequestView.as_view(),
         name="allocation-quota-change"),
]  # fmt: skip
