"""Print the SLA report of every request (for operators and the contract's monthly review)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from provisioning.models import ResourceRequest
from provisioning.sla import sla_report
from provisioning.templatetags.durations import duration


class Command(BaseCommand):
    help = "Decision and build times by security domain and kind, with breaches of the targets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, days: int, **options) -> None:
        report = sla_report(ResourceRequest.objects.all(), days=days)
        self.stdout.write(
            f"Requests since {report.since:%Y-%m-%d %H:%M} UTC; targets: decision "
            f"{duration(report.decision_target.total_seconds())}, build "
            f"{duration(report.build_target.total_seconds())}"
        )
        for row in report.rows:
            d, b = row.decision_stats, row.build_stats
            self.stdout.write(
                f"{row.domain.marking:<20} {row.kind_label:<22} {row.requests:>5}  "
                f"decision p50 {duration(d.p50):>10} p90 {duration(d.p90):>10} "
                f"late {row.decision_breaches:>3}  build p50 {duration(b.p50):>10} "
                f"p90 {duration(b.p90):>10} late {row.build_breaches:>3}  failed {row.failed}"
            )
