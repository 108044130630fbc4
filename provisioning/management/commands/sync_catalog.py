"""Sync flavors and images from every enabled region's cloud (or the named ones)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from provisioning.cloud import CloudError
from provisioning.services.catalog import catalog_sync
from tenants.models import CloudRegion


class Command(BaseCommand):
    help = "Sync the flavor and image catalog from the clouds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("regions", nargs="*", help="region slugs (default: all enabled)")

    def handle(self, *args, regions: list[str], **options) -> None:
        queryset = CloudRegion.objects.filter(enabled=True).select_related("site", "domain")
        if regions:
            queryset = queryset.filter(slug__in=regions)
        failures = 0
        for region in queryset:
            try:
                result = catalog_sync(region=region)
            except CloudError as err:
                failures += 1
                self.stderr.write(f"{region.slug}: {err}")
                continue
            self.stdout.write(
                f"{region.slug}: {result.flavors} flavors, {result.images} images, "
                f"{result.volume_types} volume types, {result.retired} retired"
            )
        if failures:
            self.stderr.write(self.style.WARNING(f"{failures} region(s) could not be synced."))
