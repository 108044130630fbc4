"""Pages for servers and networks: configuration on the shared restricted views."""

from __future__ import annotations

from django.urls import path

from portal.views import RestrictedDetailView, RestrictedListView
from provisioning.models import Network, Server

ALLOCATION_RELATED = (
    "allocation__tenant",
    "allocation__region__site",
    "allocation__region__domain",
)


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


urlpatterns = [
    path("servers/", ServerListView.as_view(), name="server-list"),
    path("servers/<int:pk>/", ServerDetailView.as_view(), name="server-detail"),
    path("networks/", NetworkListView.as_view(), name="network-list"),
    path("networks/<int:pk>/", NetworkDetailView.as_view(), name="network-detail"),
]
