"""Showback: each unit's consumption in a month, priced by the rate card (page and CSV)."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from portal.views import ClassifiedPageMixin
from provisioning.report_charts import showback_chart
from provisioning.selectors import showback_days_visible_to
from provisioning.showback import ShowbackGrouping, ShowbackReport, showback_report
from provisioning.views.reports import _Echo, bad_query
from tenants.selectors import allocations_visible_to


def report_for(request: HttpRequest) -> tuple[ShowbackReport, dict[str, list[str]]]:
    """The month and grouping asked for (this month by tenant by default), and what was wrong."""
    errors: dict[str, list[str]] = {}
    month = request.GET.get("month") or timezone.now().strftime("%Y-%m")
    grouping = request.GET.get("group_by") or ShowbackGrouping.TENANT
    if grouping not in ShowbackGrouping.values:
        errors["group_by"] = [_("Choose tenant, allocation, site or domain.")]
        grouping = ShowbackGrouping.TENANT
    days, allocations = showback_days_visible_to(request.user), allocations_visible_to(request.user)
    try:
        report = showback_report(days, allocations, month=month, grouping=grouping)
    except ValidationError as err:
        errors.update(err.message_dict)
        report = showback_report(days, allocations, month=timezone.now().strftime("%Y-%m"),
                                 grouping=grouping)  # fmt: skip
    return report, errors


class ShowbackView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    """Members see their tenants' consumption; operators and auditors everyone's."""

    template_name = "provisioning/showback.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("format") == "csv":
            report, errors = report_for(request)
            return bad_query(errors) if errors else showback_csv(report)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        report, errors = report_for(self.request)
        query = self.request.GET.copy()
        query.pop("format", None)
        kwargs.update(report=report, errors=errors, query=query, chart=showback_chart(report),
                      groupings=ShowbackGrouping.choices)  # fmt: skip
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]):
        return context["report"].domains


def showback_csv(report: ShowbackReport) -> HttpResponse:
    """One line per group, then the total: hours of each figure and the cost."""
    writer = csv.writer(_Echo())
    header = [report.grouping.value, pgettext("CSV column", "vcpu_hours"),
              pgettext("CSV column", "ram_gib_hours"),
              pgettext("CSV column", "stopped_vcpu_hours"),
              pgettext("CSV column", "stopped_ram_gib_hours"),
              pgettext("CSV column", "volume_gib_hours"),
              pgettext("CSV column", "floating_ip_hours"), pgettext("CSV column", "cost"),
              pgettext("CSV column", "currency")]  # fmt: skip
    lines = [writer.writerow(header)]
    for row in [*report.rows, report.total]:
        label = row.label if row is not report.total else pgettext("CSV row", "total")
        f = row.figures
        lines.append(writer.writerow([
            label, *(round(f[k], 3) for k in ("vcpu_hours", "ram_gib_hours", "stopped_vcpu_hours",
                                              "stopped_ram_gib_hours", "volume_gib_hours",
                                              "floating_ip_hours")),
            row.cost if report.priced else "", report.currency,
        ]))  # fmt: skip
    response = HttpResponse("".join(lines), content_type="text/csv")
    name = f"showback-{report.period.month}-by-{report.grouping.value}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("reports/showback/", ShowbackView.as_view(), name="showback-report"),
]
