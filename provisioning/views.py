"""Pages for requests, servers and networks: configuration on the shared restricted views."""

from __future__ import annotations

from typing import Any

from portal.views import RestrictedDetailView, RestrictedListView
from provisioning.models import Network, ResourceRequest, Server
from provisioning.selectors import REQUEST_RELATED

ALLOCATION_RELATED = (
    "allocation__tenant",
    "allocation__region__site",
    "allocation__region__domain",
)


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


class ServerListView(RestrictedListView):
    model = Server
    queryset = Server.objects.live().select_related(*ALLOCATION_RELATED)
    template_name = "provisioning/server_list.html"


class ServerDetailView(RestrictedDetailView):
    model = Server
    queryset = Server.objects.select_related(*ALLOCATION_RELATED, "origin_request")
    template_name = "provisioning/server_detail.html"


class NetworkListView(RestrictedListView):
    model = Network
    queryset = Network.objects.live().select_related(*ALLOCATION_RELATED)
    template_name = "provisioning/network_list.html"


class NetworkDetailView(RestrictedDetailView):
    model = Network
    queryset = Network.objects.select_related(*ALLOCATION_RELATED, "origin_request")
    template_name = "provisioning/network_detail.html"
