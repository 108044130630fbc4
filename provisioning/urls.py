"""Provisioning pages: each view module contributes its own urlpatterns."""

from provisioning.views import (
    approvals,
    capacity,
    notifications,
    operators,
    reports,
    requests,
    resources,
    search,
    showback,
    status,
)

urlpatterns = [
    *requests.urlpatterns,
    *resources.urlpatterns,
    *approvals.urlpatterns,
    *capacity.urlpatterns,
    *operators.urlpatterns,
    *reports.urlpatterns,
    *search.urlpatterns,
    *notifications.urlpatterns,
    *status.urlpatterns,
    *showback.urlpatterns,
]
