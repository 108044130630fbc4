from django.urls import path

from provisioning import views

urlpatterns = [
    path("requests/", views.RequestListView.as_view(), name="request-list"),
    path("requests/<int:pk>/", views.RequestDetailView.as_view(), name="request-detail"),
    path("servers/", views.ServerListView.as_view(), name="server-list"),
    path("servers/<int:pk>/", views.ServerDetailView.as_view(), name="server-detail"),
    path("networks/", views.NetworkListView.as_view(), name="network-list"),
    path("networks/<int:pk>/", views.NetworkDetailView.as_view(), name="network-detail"),
]
