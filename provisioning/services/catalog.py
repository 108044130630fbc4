"""Flavors and images: synced from each region's cloud into the portal's catalog."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from provisioning import cloud
from provisioning.models import Flavor, Image
from tenants.models import CloudRegion


@dataclass(frozen=True)
class SyncResult:
    flavors: int
    images: int
    retired: int


def catalog_sync(*, region: CloudRegion) -> SyncResult:
    """Upsert the region's public flavors and active images; retire those the cloud dropped."""
    target = cloud.CloudTarget(cloud=region.cloud_name)
    flavors = [f for f in cloud.flavors_list(target) if f.is_public]
    images = [i for i in cloud.images_list(target) if i.status == "active"]
    with transaction.atomic():
        for f in flavors:
            Flavor.objects.update_or_create(
                region=region,
                backend_id=f.id,
                defaults={
                    "name": f.name,
                    "vcpus": f.vcpus,
                    "ram_mb": f.ram_mb,
                    "disk_gb": f.disk_gb,
                    "active": True,
                },
            )
        for i in images:
            Image.objects.update_or_create(
                region=region,
                backend_id=i.id,
                defaults={
                    "name": i.name,
                    "status": i.status,
                    "min_disk_gb": i.min_disk_gb,
                    "min_ram_mb": i.min_ram_mb,
                    "active": True,
                },
            )
        retired = (
            Flavor.objects.filter(region=region, active=True)
            .exclude(backend_id__in=[f.id for f in flavors])
            .update(active=False)
        )
        retired += (
            Image.objects.filter(region=region, active=True)
            .exclude(backend_id__in=[i.id for i in images])
            .update(active=False)
        )
    return SyncResult(len(flavors), len(images), retired)
