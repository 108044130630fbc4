"""The REST API's one router: each app registers its endpoints here, under the api namespace."""

from rest_framework.routers import DefaultRouter

from tenants.api.urls import register as register_tenants

app_name = "api"

router = DefaultRouter()
register_tenants(router)

urlpatterns = router.urls
