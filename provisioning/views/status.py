"""The clouds' status page: each region the person may see, up or down now, its availability
over the last day, week and month against its target, and its incidents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import path
from django.utils import timezone
from django.views.generic import TemplateView

from portal.views import ClassifiedPageMixin
from provisioning.selectors import STATUS_INCIDENTS, region_status_for
from tenants.access import is_operator
from tenants.models import SecurityDomain


class CloudStatusView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    """Everyone sees the regions they are entitled to (site and clearance); operators all."""

    template_name = "provisioning/cloud_status.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        now = timezone.now()
        regions = region_status_for(self.request.user, now)
        incidents = sorted(
            (i for r in regions for i in r.month.incidents),
            key=lambda i: i.started_at,
            reverse=True,
        )
        kwargs.update(
            regions=regions,
            incidents=incidents[:STATUS_INCIDENTS],
            incidents_more=max(len(incidents) - STATUS_INCIDENTS, 0),
            probe_every=int(settings.PORTAL_PROBE_EVERY),
            # What a cloud answered may name its endpoints: operators read it, others the state.
            shows_errors=is_operator(self.request.user),
            now=now,
            # Re-read while open: the page is what a duty officer keeps on a screen.
            refresh_seconds=max(int(settings.PORTAL_PROBE_EVERY), 30),
        )
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]) -> Iterable[SecurityDomain]:
        return {r.region.domain for r in context["regions"]}


urlpatterns = [path("status/", CloudStatusView.as_view(), name="cloud-status")]
