"""Create or adopt every allocation's project and push its quotas to the cloud, now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from provisioning.cloud import CloudError
from provisioning.services.allocations import allocation_sync_cloud
from tenants.models import Allocation


class Command(BaseCommand):
    help = "Bring every allocation's OpenStack project and quotas in line with the portal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", help="only allocations in this region (slug)")

    def handle(self, *args, region: str | None = None, **options) -> None:
        allocations = Allocation.objects.filter(region__enabled=True).select_related(
            "tenant", "region"
        )
        if region:
            allocations = allocations.filter(region__slug=region)
        failures = 0
        for allocation in allocations:
            try:
                limits = allocation_sync_cloud(allocation=allocation)
            except CloudError as err:
                failures += 1
                self.stderr.write(f"{allocation}: {err}")
                continue
            self.stdout.write(f"{allocation}: project {allocation.project_id}, {limits}")
        if failures:
            self.stderr.write(self.style.WARNING(f"{failures} allocation(s) not synced."))
