"""The contract's monthly SLA report as a PDF: the SLA report's page for one calendar month,
with its charts and tables, made on the 1st for the month before and mailed to
``PORTAL_MONTHLY_REPORT_RECIPIENTS``.

The PDF is drawn from the very objects the page, the CSV and the API answer from
(``sla_report``, ``availability_report_for``-style figures, ``sla_trend``), so its numbers are
theirs (``tests/provisioning/test_monthly_report.py`` reads them back out of the PDF). The
scheduled copy counts every request and region (it is the contract's); anyone can also download
their own month as a PDF from the report page (``?month=YYYY-MM&format=pdf``), counted over
what they may see.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from provisioning.availability import RegionAvailability, availability_of
from provisioning.models import MonthlyReport, SlaFact
from provisioning.report_charts import availability_by_site, availability_chart, sla_trend_charts
from provisioning.sla import Grouping, Period, sla_report, sla_trend
from tenants.models import CloudRegion

log = logging.getLogger(__name__)

#: Late requests listed in the PDF (the CSV lists them all).
LATE_IN_PDF = 50
#: A claim on a month older than this belongs to a run that died (rendering takes seconds).
CLAIM_EXPIRES = timedelta(minutes=30)


def previous_month(now: datetime | None = None) -> str:
    first = (now or timezone.now()).replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


def report_context(
    facts: QuerySet, regions: list[CloudRegion], period: Period, grouping: Grouping
) -> dict:
    """What the PDF shows: the report, the weekly figures and charts, availability."""
    report = sla_report(facts, period=period, grouping=grouping, late_limit=LATE_IN_PDF)
    availability: list[RegionAvailability] = availability_of(
        regions, period.since, period.until, latency=("region",)
    )
    weeks = sla_trend(facts, period)
    sites = availability_by_site(availability)
    shown = {*report.domains, *(a.region.domain for a in availability)}
    top = max(shown, key=lambda d: d.level, default=None)
    return {
        # The most sensitive domain whose figures it holds marks every page, as on the portal.
        "marking": re.sub(r"[^\w /-]", "", top.marking) if top else "",
        "report": report,
        "breaches": report.breaches,
        "availability": availability,
        "weeks": weeks,
        "trend_charts": sla_trend_charts(weeks),
        "sites": sites,
        "availability_chart": availability_chart(sites, {a.target for a in availability})
        if any(s.probes for s in sites)
        else None,
        "made_at": timezone.now(),
    }


def render_pdf(context: dict) -> bytes:
    """The report as a PDF (WeasyPrint: HTML and SVG to PDF, no browser)."""
    from weasyprint import HTML

    html = render_to_string("provisioning/sla_report_pdf.html", context)
    return HTML(string=html).write_pdf()


def contract_pdf(month: str) -> bytes:
    """The month's report over every request and region, in the report's language."""
    regions = list(
        CloudRegion.objects.select_related("site", "domain").order_by(
            "site__name", "domain__level", "slug"
        )
    )
    with translation.override(settings.PORTAL_MONTHLY_REPORT_LANGUAGE):
        context = report_context(
            SlaFact.objects.all(), regions, Period.calendar_month(month), Grouping.DOMAIN
        )
        return render_pdf(context)


def monthly_report_send(month: str | None = None, *, now: datetime | None = None) -> bool:
    """Make and send ``month``'s report (default: the month before ``now``) once: a second
    run finds it sent, a concurrent one finds it claimed. Returns whether it was sent now.

    The run claims the row in a short transaction, then renders and mails with nothing held
    (as every mail of the portal). A claim older than ``CLAIM_EXPIRES`` is taken to be a run
    that died: a run that dies between sending and recording sends again later, so recipients
    may, rarely, get a month twice, never not at all.
    """
    month = month or previous_month(now)
    recipients = list(settings.PORTAL_MONTHLY_REPORT_RECIPIENTS)
    with transaction.atomic():
        MonthlyReport.objects.get_or_create(month=month, defaults={"pdf": b""})
        row = MonthlyReport.objects.select_for_update(of=("self",)).get(month=month)
        if row.sent_at is not None or (
            row.claimed_at is not None and row.claimed_at > timezone.now() - CLAIM_EXPIRES
        ):
            return False
        row.claimed_at = timezone.now()
        row.save(update_fields=["claimed_at"])
    if not row.pdf:
        row.pdf = contract_pdf(month)
        row.recipients = ", ".join(recipients)
        row.save(update_fields=["pdf", "recipients"])
    if recipients:
        with translation.override(settings.PORTAL_MONTHLY_REPORT_LANGUAGE):
            message = EmailMessage(
                subject=_("SLA report %(month)s") % {"month": month},
                body=_(
                    "The SLA report of %(month)s is attached: decision and build times, "
                    "late requests and the availability of every region against its "
                    "target."
                )
                % {"month": month},
                to=recipients,
            )
        message.attach(f"sla-report-{month}.pdf", bytes(row.pdf), "application/pdf")
        message.send()
    MonthlyReport.objects.filter(pk=row.pk).update(sent_at=timezone.now())
    log.info("monthly SLA report %s sent to %s", month, recipients or "nobody (none configured)")
    return True
