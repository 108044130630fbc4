"""Registers the tenancy endpoints on the API's router."""

from rest_framework.routers import BaseRouter

from tenants.api import views
from tenants.api.delegations import DelegationViewSet


def register(router: BaseRouter) -> None:
    router.register("sites", views.SiteViewSet)
    router.register("domains", views.SecurityDomainViewSet)
    router.register("regions", views.CloudRegionViewSet)
    router.register("tenants", views.TenantViewSet)
    router.register("allocations", views.AllocationViewSet)
    router.register("memberships", views.MembershipViewSet, basename="membership")
    router.register("delegations", DelegationViewSet, basename="delegation")
