"""Provisioning pages: each view module contributes its own urlpatterns."""

from provisioning.views import requests, resources

urlpatterns = [
    *requests.urlpatterns,
    *resources.urlpatterns,
]
