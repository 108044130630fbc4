"""Run the reconciler once, now, for every region (or the named ones), in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from provisioning import reconcile
from tenants.models import CloudRegion


class Command(BaseCommand):
    help = "Compare the clouds with the portal once: statuses, vanished resources, orphans."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("regions", nargs="*", help="region slugs (default: all)")

    def handle(self, *args, regions: list[str], **options) -> None:
        ids = reconcile.regions_to_reconcile()
        queryset = CloudRegion.objects.filter(pk__in=ids)
        if regions:
            queryset = queryset.filter(slug__in=regions)
        for region in queryset:
            counts = reconcile.reconcile_region(region.pk)
            self.stdout.write(f"{region.slug}: {counts}")
        self.stdout.write(str(reconcile.leases_run()))
