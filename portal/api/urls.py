"""The REST API's one router: each app registers its endpoints here, under the api namespace."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from portal.api.audit import AuditEventViewSet
from portal.api.health import HealthView
from portal.api.ssh_keys import SshKeyViewSet
from portal.api.tokens import TokenViewSet
from portal.api.views import not_found
from provisioning.api.urls import register as register_provisioning
from provisioning.api.views import CloudStatusView
from tenants.api.urls import register as register_tenants

app_name = "api"

router = DefaultRouter()
register_tenants(router)
register_provisioning(router)
router.register("audit-events", AuditEventViewSet)
router.register("ssh-keys", SshKeyViewSet, basename="ssh-key")
router.register("tokens", TokenViewSet, basename="token")

urlpatterns = [
    path("status/", CloudStatusView.as_view(), name="cloud-status"),
    path("health/", HealthView.as_view(), name="health"),
    *router.urls,
    # Anything else under /api/v1/ answers the API's 404 body, not the HTML error page.
    re_path(r"^.*$", not_found, name="not-found"),
]
