"""The SLA report: decision and build times by security domain and kind, with breaches."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.generic import TemplateView

from portal.views import ClassifiedPageMixin
from provisioning.selectors import requests_visible_to
from provisioning.sla import sla_report

PERIODS = (7, 30, 90)


def _period(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    return days if days in PERIODS else 30


class SlaReportView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    """Everyone sees the figures of the requests they may see, nothing more."""

    template_name = "provisioning/sla_report.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("format") == "csv":
            return self.csv(sla_report(requests_visible_to(request.user), days=_period(request)))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        days = _period(self.request)
        kwargs.update(
            report=sla_report(requests_visible_to(self.request.user), days=days),
            days=days,
            periods=PERIODS,
        )
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]):
        return context["report"].domains

    @staticmethod
    def csv(report) -> HttpResponse:
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="sla-report.csv"'
        writer = csv.writer(response)
        writer.writerow(["domain", "kind", "requests", "decision_p50_s", "decision_p90_s",
                         "decision_breaches", "build_p50_s", "build_p90_s", "build_breaches",
                         "failed"])  # fmt: skip
        for row in report.rows:
            d, b = row.decision_stats, row.build_stats
            writer.writerow([row.domain.marking, row.kind, row.requests, d.p50, d.p90,
                             row.decision_breaches, b.p50, b.p90, row.build_breaches,
                             row.failed])  # fmt: skip
        return response


urlpatterns = [path("reports/sla/", SlaReportView.as_view(), name="sla-report")]
