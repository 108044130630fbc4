"""Make the contract's monthly SLA report (PDF) by hand: to a file, or sent as beat would."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from provisioning.monthly import contract_pdf, monthly_report_send, previous_month
from provisioning.sla import Period


class Command(BaseCommand):
    help = "Write a month's SLA report as a PDF (--out), or send it to the configured recipients."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: the month before this one)")
        parser.add_argument("--out", help="write the PDF here instead of sending it")

    def handle(self, *args, month: str | None = None, out: str | None = None, **options) -> None:
        month = month or previous_month()
        try:
            Period.calendar_month(month)
        except ValidationError as err:
            raise CommandError(" ".join(err.messages)) from None
        if out:
            Path(out).write_bytes(contract_pdf(month))
            self.stdout.write(f"{out}: the SLA report of {month}")
        elif monthly_report_send(month):
            self.stdout.write(f"The SLA report of {month} was sent.")
        else:
            self.stdout.write(f"The SLA report of {month} had been sent already.")
