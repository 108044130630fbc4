"""Print the SLA report of every request (for operators and the contract's monthly review)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from provisioning.models import SlaFact
from provisioning.sla import PERIOD_DAYS, Grouping, Period, sla_report
from provisioning.templatetags.durations import duration


class Command(BaseCommand):
    help = (
        "Decision and build times by security domain, site or tenant and kind, breaches of the "
        "targets, and the late requests. Examples: sla_report --days 7; "
        "sla_report --month 2026-10 --group-by tenant"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, choices=PERIOD_DAYS, default=30)
        parser.add_argument("--month", help="a calendar month (UTC), YYYY-MM; overrides --days")
        parser.add_argument("--group-by", choices=Grouping.values, default=Grouping.DOMAIN)
        parser.add_argument("--late", type=int, default=20, help="late requests to list")

    def handle(self, *args, days: int, month: str | None, group_by: str, late: int, **options):
        try:
            period = Period.calendar_month(month) if month else Period.last_days(days)
        except ValidationError as err:
            raise CommandError(err.message_dict["month"][0]) from None
        report = sla_report(
            SlaFact.objects.all(), period=period, grouping=group_by, late_limit=late
        )
        self.stdout.write(
            f"Requests submitted in {period.label} ({period.since:%Y-%m-%d %H:%M} to "
            f"{period.until:%Y-%m-%d %H:%M} UTC); targets: decision "
            f"{duration(report.decision_target.total_seconds())}, build "
            f"{duration(report.build_target.total_seconds())}"
        )
        for domain, decision, build in report.own_targets:
            self.stdout.write(
                f"  {domain.marking}: decision {duration(decision.total_seconds())}, "
                f"build {duration(build.total_seconds())}"
            )
        for row in report.rows:
            d, b = row.decision_stats, row.build_stats
            self.stdout.write(
                f"{row.group[:24]:<24} {row.kind_label:<22} {row.requests:>5}  "
                f"decision p50 {duration(d.p50):>10} p90 {duration(d.p90):>10} "
                f"late {row.decision_breaches:>3}  build p50 {duration(b.p50):>10} "
                f"p90 {duration(b.p90):>10} late {row.build_breaches:>3}  failed {row.failed}"
            )
        if report.breaches:
            self.stdout.write(f"\n{report.late_count} late; the most overdue:")
        for breach in report.breaches:
            waiting = " (still waiting)" if breach.still_waiting else ""
            self.stdout.write(
                f"  #{breach.request.pk:<7} {breach.target_label:<9} late by "
                f"{duration(breach.late_by):>10}{waiting}  {breach.request.title}"
            )
