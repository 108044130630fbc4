"""Registers the provisioning endpoints on the API's router."""

from rest_framework.routers import BaseRouter

from provisioning.api import views


def register(router: BaseRouter) -> None:
    router.register("catalog/offerings", views.OfferingViewSet)
    router.register("catalog/flavors", views.FlavorViewSet)
    router.register("catalog/images", views.ImageViewSet)
    router.register("catalog/volume-types", views.VolumeTypeViewSet)
    router.register("requests", views.RequestViewSet, basename="resourcerequest")
    router.register("approvals", views.ApprovalInboxViewSet, basename="approval")
    router.register("servers", views.ServerViewSet)
    router.register("networks", views.NetworkViewSet)
    router.register("security-groups", views.SecurityGroupViewSet)
    router.register("volumes", views.VolumeViewSet)
    router.register("reports", views.ReportViewSet, basename="report")
    router.register("incidents", views.IncidentViewSet)
