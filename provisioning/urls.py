"""Provisioning pages: each view module contributes its own urlpatterns."""

from provisioning.views import approvals, operators, reports, requests, resources

urlpatterns = [
    *requests.urlpatterns,
    *resources.urlpatterns,
    *approvals.urlpatterns,
    *operators.urlpatterns,
    *reports.urlpatterns,
]
