from rest_framework.routers import DefaultRouter

from tenants.api import views

router = DefaultRouter()
router.register("sites", views.SiteViewSet)
router.register("domains", views.SecurityDomainViewSet)
router.register("regions", views.CloudRegionViewSet)
router.register("tenants", views.TenantViewSet)
router.register("allocations", views.AllocationViewSet)
router.register("memberships", views.MembershipViewSet, basename="membership")

urlpatterns = router.urls
