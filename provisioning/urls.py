"""Provisioning pages: each view module contributes its own urlpatterns."""

from provisioning.views import (
    approvals,
    notifications,
    operators,
    reports,
    requests,
    resources,
    search,
    status,
)

urlpatterns = [
    *requests.urlpatterns,
    *resources.urlpatterns,
    *approvals.urlpatterns,
    *operators.urlpatterns,
    *reports.urlpatterns,
    *search.urlpatterns,
    *notifications.urlpatterns,
    *status.urlpatterns,
]
