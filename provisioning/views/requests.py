"""Pages for requests: list, detail with live status, and the request forms."""

from __future__ import annotations

from typing import Any

from django.urls import path

from portal.views import RestrictedDetailView, RestrictedListView
from provisioning.models import ResourceRequest
from provisioning.selectors import REQUEST_RELATED


class RequestListView(RestrictedListView):
    model = ResourceRequest
    queryset = ResourceRequest.objects.select_related(*REQUEST_RELATED)
    template_name = "provisioning/request_list.html"


class RequestDetailView(RestrictedDetailView):
    model = ResourceRequest
    queryset = ResourceRequest.objects.select_related(*REQUEST_RELATED)
    template_name = "provisioning/request_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["transitions"] = self.object.transitions.select_related("actor")
        kwargs["approvals"] = self.object.approvals.select_related("decided_by")
        return super().get_context_data(**kwargs)


urlpatterns = [
    path("requests/", RequestListView.as_view(), name="request-list"),
    path("requests/<int:pk>/", RequestDetailView.as_view(), name="request-detail"),
]
