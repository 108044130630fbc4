"""The monthly SLA report as a PDF: sent once, on the figures of the page, CSV and API, marked
with the most sensitive domain it holds, and counted over what the reader may see."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from provisioning.cloud.probe import ServiceCheck
from provisioning.models import Kind, MonthlyReport, ResourceRequest
from provisioning.monthly import monthly_report_send, previous_month
from provisioning.services.availability import probe_record
from provisioning.templatetags.durations import duration
from tests.factories import make_portal_role, make_user, set_timeline

pytestmark = pytest.mark.django_db

WHY = "Needed for the exercise next week."


def _text(pdf: bytes) -> str:
    """The PDF's words, one space between each (a table cell may wrap over lines)."""
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


@pytest.fixture
def last_month(shop, settings):
    """Requests in both domains and a few probes, all in the month before this one."""
    settings.PORTAL_SLA_DECISION_SECONDS = 3600
    month = previous_month()
    year, number = map(int, month.split("-"))
    mid = datetime(year, number, 10, 12, tzinfo=UTC)
    ago = int((timezone.now() - mid).total_seconds() // 60)
    for i in range(6):
        allocation = shop.high if i % 3 == 0 else shop.low
        request = ResourceRequest.objects.create(
            kind=Kind.NETWORK, allocation=allocation, requester=shop.requester,
            justification=WHY, spec={"name": f"net-{i}"},
        )  # fmt: skip
        set_timeline(request, [("pending_approval", ago - i * 60),
                               ("approved", ago - i * 60 - 30 * (i + 1)),
                               ("provisioning", ago - i * 60 - 30 * (i + 1) - 1),
                               ("completed", ago - i * 60 - 30 * (i + 1) - 5 - i)])  # fmt: skip
    for minute in range(4):
        checks = [ServiceCheck("compute", minute != 2, 10.0)]
        probe_record(shop.low.region, mid + timedelta(minutes=minute), checks)
    return month


def test_it_is_sent_once_with_the_pdf(shop, last_month, settings):
    settings.PORTAL_MONTHLY_REPORT_RECIPIENTS = ["sla@agency.example", "contract@agency.example"]
    assert monthly_report_send() is True
    assert monthly_report_send() is False  # beat running twice, or a retry
    (message,) = mail.outbox
    assert message.to == ["sla@agency.example", "contract@agency.example"]
    ((name, pdf, kind),) = message.attachments
    assert (name, kind) == (f"sla-report-{last_month}.pdf", "application/pdf")
    assert pdf.startswith(b"%PDF")
    assert bytes(MonthlyReport.objects.get(month=last_month).pdf) == pdf


def test_its_figures_are_the_apis(shop, last_month):
    assert monthly_report_send() is True
    text = _text(bytes(MonthlyReport.objects.get(month=last_month).pdf))
    operator_api = APIClient()
    operator_api.force_authenticate(make_portal_role("olga", "operate_portal"))
    body = operator_api.get("/api/v1/reports/sla/", {"month": last_month}).json()
    assert body["rows"]
    for row in body["rows"]:
        for figure in (row["decision"]["p50"], row["decision"]["p90"], row["build"]["p50"]):
            assert duration(figure) in text, (figure, duration(figure))
    low = next(a for a in body["availability"] if a["region"] == shop.low.region.slug)
    assert low["availability_percent"] == "75.000" and "75.000 %" in text
    # Every page carries the marking of the most sensitive domain in it.
    assert text.count(shop.secret.marking) >= 2


def test_a_reader_downloads_their_own_month(client, shop, last_month):
    low_only = make_user("uma", memberships={shop.tenant: "approver"}, domains=(shop.unclass,),
                         sites=(shop.site,))  # fmt: skip
    client.force_login(low_only)
    response = client.get(reverse("sla-report"), {"month": last_month, "format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    text = _text(response.content)
    assert shop.unclass.marking in text
    assert shop.secret.marking not in text  # counted over what they may see, marked as such
    bad = client.get(reverse("sla-report"), {"month": "2026-13", "format": "pdf"})
    assert bad.status_code == 400 and "YYYY-MM" in bad.content.decode()


def test_the_command_writes_a_month_to_a_file(tmp_path, shop, last_month):
    out = tmp_path / "report.pdf"
    call_command("monthly_report", month=last_month, out=str(out), stdout=io.StringIO())
    assert out.read_bytes().startswith(b"%PDF")


def test_the_sent_copy_is_for_operators_and_auditors_only(client, shop, last_month):
    monthly_report_send()
    url = reverse("monthly-report-pdf", args=[last_month])
    client.force_login(shop.approver)
    assert client.get(url).status_code == 404
    client.force_login(make_portal_role("audrey", "audit_portal"))
    response = client.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get(reverse("monthly-report-pdf", args=["1999-01"])).status_code == 404
