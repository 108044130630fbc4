"""The SLA report: decision and build times by domain, site or tenant, with the late requests."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import pgettext
from django.views import View
from django.views.generic import TemplateView

from portal.views import ClassifiedPageMixin
from provisioning.models import MonthlyReport
from provisioning.monthly import render_pdf, report_context
from provisioning.report_charts import availability_by_site, availability_chart, sla_trend_charts
from provisioning.selectors import (
    availability_report_for,
    regions_visible_to,
    sla_facts_visible_to,
)
from provisioning.sla import (
    PERIOD_DAYS,
    Grouping,
    Period,
    SlaReport,
    grouping_from,
    late_all,
    sla_report,
    sla_trend,
)
from tenants.access import sees_everything

#: Late requests listed on the page (the CSV lists them all, the API pages them).
BREACHES_SHOWN = 50


def report_for(request: HttpRequest) -> tuple[SlaReport, dict[str, list[str]]]:
    """The report the query asks for, or the default one and what was wrong with the query."""
    errors: dict[str, list[str]] = {}
    try:
        period = Period.from_params(request.GET)
    except ValidationError as err:
        errors.update(err.message_dict)
        period = Period.last_days(30)
    try:
        grouping = grouping_from(request.GET)
    except ValidationError as err:
        errors.update(err.message_dict)
        grouping = Grouping.DOMAIN
    report = sla_report(
        sla_facts_visible_to(request.user),
        period=period,
        grouping=grouping,
        late_limit=BREACHES_SHOWN,
    )
    return report, errors


def bad_query(errors: dict[str, list[str]]) -> HttpResponse:
    """A report's file asked for with a bad query: a file cannot show what was wrong beside the
    figures, so the answer says it instead (400, plain text)."""
    text = " ".join(m for messages in errors.values() for m in messages)
    return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")


class SlaReportView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    """Everyone sees the figures of the requests they may see, nothing more."""

    template_name = "provisioning/sla_report.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("format") == "csv":
            report, errors = report_for(request)
            return bad_query(errors) if errors else sla_csv(report, request)
        if request.GET.get("format") == "pdf":
            return sla_pdf(request)
        if request.GET.get("part") == "weeks":
            return sla_weeks(request)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        report, errors = report_for(self.request)
        query = self.request.GET.copy()
        query.pop("format", None)
        availability = availability_report_for(
            self.request.user, report.period.since, report.period.until
        )
        sites = availability_by_site(availability)
        weeks_query = query.copy()
        weeks_query["part"] = "weeks"
        kwargs.update(
            report=report,
            errors=errors,
            periods=PERIOD_DAYS,
            groupings=Grouping.choices,
            breaches=report.breaches,
            query=query,
            availability=availability,
            # The weekly figures sort every request of the period once more: they come in a
            # request of their own (htmx, as the page appears), so the figures and the late
            # requests are not held up by them.
            weeks_url=f"?{weeks_query.urlencode()}",
            sites=sites,
            # Drawn once something was measured: a chart of "no figure" bars says nothing.
            availability_chart=availability_chart(
                sites, {a.target for a in availability}
            ) if any(s.probes for s in sites) else None,
        )  # fmt: skip
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]):
        return {*context["report"].domains, *(a.region.domain for a in context["availability"])}


def sla_weeks(request: HttpRequest) -> HttpResponse:
    """The report's weekly figures and their charts alone: what the page loads after itself
    (htmx swaps them in; they are in the PDF too)."""
    try:
        period = Period.from_params(request.GET)
    except ValidationError:
        period = Period.last_days(30)  # the page says what was wrong with the query
    weeks = sla_trend(sla_facts_visible_to(request.user), period)
    context = {"weeks": weeks, "trend_charts": sla_trend_charts(weeks), "loaded": True}
    return render(request, "provisioning/_sla_trend.html", context)


def sla_pdf(request: HttpRequest) -> HttpResponse:
    """The report as a PDF, counted over what the reader may see (``provisioning.monthly``)."""
    errors: dict[str, list[str]] = {}
    try:
        period = Period.from_params(request.GET)
        grouping = grouping_from(request.GET)
    except ValidationError as err:
        errors.update(err.message_dict)
    if errors:  # a file cannot show what was wrong beside the figures: say it instead
        text = " ".join(m for messages in errors.values() for m in messages)
        return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
    regions = regions_visible_to(request.user)
    context = report_context(sla_facts_visible_to(request.user), regions, period, grouping)
    name = period.month or f"{period.days}-days"
    response = HttpResponse(render_pdf(context), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="sla-{name}-by-{grouping}.pdf"'
    return response


class _Echo:
    """A file that hands back what is written, for ``csv.writer`` feeding a stream."""

    def write(self, value: str) -> str:
        return value


def sla_csv(report: SlaReport, request: HttpRequest) -> StreamingHttpResponse:
    """The figures, then every late request: what the contract's monthly review files away.

    Streamed: the late requests come from a server-side cursor, a chunk at a time, so half a
    million breaches cost the web worker no more memory than fifty.
    """
    name = report.period.month or f"{report.period.days}-days"
    # The headers are translated now, in the request's language: the lines are written later,
    # as the response is streamed.
    headers = _csv_headers(report)
    response = StreamingHttpResponse(_csv_lines(report, request, headers), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="sla-{name}-by-{report.grouping}.csv"'
    return response


def _csv_headers(report: SlaReport) -> tuple[list[str], ...]:
    """The column headers of the figures, of the late requests, of the regions' availability,
    and of the calendar the targets count, in the current language."""
    group = {
        Grouping.DOMAIN: pgettext("CSV column", "domain"),
        Grouping.SITE: pgettext("CSV column", "site"),
        Grouping.TENANT: pgettext("CSV column", "tenant"),
    }.get(report.grouping, report.grouping.value)
    figures = [group, pgettext("CSV column", "kind"), pgettext("CSV column", "requests"),
               pgettext("CSV column", "decision_p50_s"), pgettext("CSV column", "decision_p90_s"),
               pgettext("CSV column", "decision_breaches"), pgettext("CSV column", "build_p50_s"),
               pgettext("CSV column", "build_p90_s"), pgettext("CSV column", "build_breaches"),
               pgettext("CSV column", "failed")]  # fmt: skip
    late = [pgettext("CSV column", "late_request"), pgettext("CSV column", "title"),
            pgettext("CSV column", "target"), pgettext("CSV column", "took_s"),
            pgettext("CSV column", "allowed_s"),
            pgettext("CSV column", "still_waiting")]  # fmt: skip
    available = [pgettext("CSV column", "region"), pgettext("CSV column", "site"),
                 pgettext("CSV column", "domain"), pgettext("CSV column", "availability_percent"),
                 pgettext("CSV column", "target_percent"), pgettext("CSV column", "met"),
                 pgettext("CSV column", "probes"), pgettext("CSV column", "failed_probes"),
                 pgettext("CSV column", "incidents"), pgettext("CSV column", "down_s"),
                 pgettext("CSV column", "latency_p50_ms"),
                 pgettext("CSV column", "latency_p95_ms")]  # fmt: skip
    calendar = [pgettext("CSV column", "domain"), pgettext("CSV column", "counts"),
                pgettext("CSV column", "working_days"), pgettext("CSV column", "working_from"),
                pgettext("CSV column", "working_until")]  # fmt: skip
    holidays = [pgettext("CSV column", "site"), pgettext("CSV column", "holiday_date"),
                pgettext("CSV column", "holiday")]  # fmt: skip
    return figures, late, available, calendar, holidays


def _csv_lines(
    report: SlaReport, request: HttpRequest, headers: tuple[list[str], ...]
) -> Iterator[str]:
    writer = csv.writer(_Echo())
    figures, late, available, calendar, holidays = headers
    yield writer.writerow(figures)
    for row in report.rows:
        d, b = row.decision_stats, row.build_stats
        yield writer.writerow([row.group, row.kind, row.requests, d.p50, d.p90,
                               row.decision_breaches, b.p50, b.p90, row.build_breaches,
                               row.failed])  # fmt: skip
    yield writer.writerow([])
    yield writer.writerow(late)
    for pk, title, target, took, allowed, waiting in late_all(
        report, sla_facts_visible_to(request.user)
    ):
        yield writer.writerow([pk, title, target, round(took), round(allowed), waiting])
    yield writer.writerow([])
    yield writer.writerow(available)
    period = report.period
    for a in availability_report_for(request.user, period.since, period.until):
        whole = a.whole
        yield writer.writerow([a.region.slug, a.region.site.slug, a.region.domain.slug,
                               whole.percent, a.target, a.meets_target, whole.probes,
                               whole.failures, len(a.region_incidents),
                               round(a.downtime.total_seconds()), whole.p50_ms,
                               whole.p95_ms])  # fmt: skip
    yield writer.writerow([])
    yield writer.writerow(calendar)
    for domain, _decision, _build in report.targets:
        hours = ["", "", ""]
        if domain.counts_working_time:
            hours = [domain.working_days, domain.working_from.strftime("%H:%M"),
                     domain.working_until.strftime("%H:%M")]  # fmt: skip
        yield writer.writerow([domain.slug, domain.sla_clock, *hours])
    yield writer.writerow([])
    yield writer.writerow(holidays)
    for holiday in report.holidays:
        yield writer.writerow([holiday.site.slug, holiday.day.isoformat(), holiday.name])


class MonthlyReportPdfView(LoginRequiredMixin, View):
    """A monthly report as sent (it counts everything): for operators and auditors only; anyone
    else gets the same 404 as for a month never made."""

    def get(self, request: HttpRequest, month: str) -> HttpResponse:
        if not sees_everything(request.user):
            raise Http404
        report = get_object_or_404(MonthlyReport, month=month)
        response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="sla-report-{month}.pdf"'
        return response


urlpatterns = [
    path("reports/sla/", SlaReportView.as_view(), name="sla-report"),
    path(
        "reports/monthly/<str:month>.pdf",
        MonthlyReportPdfView.as_view(),
        name="monthly-report-pdf",
    ),
]
