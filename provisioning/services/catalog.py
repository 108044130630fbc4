"""Flavors, images and volume types: synced from each region's cloud into the portal's catalog."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from provisioning import cloud
from provisioning.models import Flavor, Image, VolumeType
from tenants.models import CloudRegion


@dataclass(frozen=True)
class SyncResult:
    flavors: int
    images: int
    retired: int
    volume_types: int = 0


def catalog_sync(*, region: CloudRegion) -> SyncResult:
    """Upsert the region's public flavors, active images and volume types; retire those the
    cloud dropped (kept, so requests that named them still read; no longer offered)."""
    target = cloud.CloudTarget(cloud=region.cloud_name)
    flavors = [f for f in cloud.flavors_list(target) if f.is_public]
    images = [i for i in cloud.images_list(target) if i.status == "active"]
    volume_types = cloud.volume_types_list(target)
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
        for t in volume_types:
            VolumeType.objects.update_or_create(
                region=region,
                backend_id=t.id,
                defaults={"name": t.name, "description": t.description[:255], "active": True},
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
        retired += (
            VolumeType.objects.filter(region=region, active=True)
            .exclude(backend_id__in=[t.id for t in volume_types])
            .update(active=False)
        )
    return SyncResult(len(flavors), len(images), retired, len(volume_types))
