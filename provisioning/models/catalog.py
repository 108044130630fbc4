"""What can be requested where: flavors and images synced from each region, and offerings."""

from django.db import models

from tenants.access import AccessPaths, RestrictedQuerySet
from tenants.models import CloudRegion


class Flavor(models.Model):
    """A Nova flavor of one region, as last synced."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="flavors")
    backend_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    vcpus = models.PositiveIntegerField()
    ram_mb = models.PositiveIntegerField()
    disk_gb = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True, help_text="Still offered by the cloud.")
    synced_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        ordering = ["region_id", "vcpus", "ram_mb", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "backend_id"], name="flavor_unique_backend"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.vcpus} vCPU, {self.ram_mb // 1024} GiB)"


class Image(models.Model):
    """A Glance image of one region, as last synced."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="images")
    backend_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=30, default="active")
    min_disk_gb = models.PositiveIntegerField(default=0)
    min_ram_mb = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        ordering = ["region_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "backend_id"], name="image_unique_backend"),
        ]

    def __str__(self) -> str:
        return self.name


class Offering(models.Model):
    """A named VM template: a flavor and an image by name, offered in chosen regions.

    Names, not ids: each region has its own flavor and image ids, and an offering means "the
    same thing" in every region it is offered in.
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    flavor_name = models.CharField(max_length=100)
    image_name = models.CharField(max_length=200)
    regions = models.ManyToManyField(CloudRegion, related_name="offerings", blank=True)
    default_lease_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Proposed lease length; empty means no lease."
    )
    active = models.BooleanField(default=True)

    objects = RestrictedQuerySet.as_manager()
    # Templates are not secret; what a user can do with one is limited by their allocations.
    access_paths = AccessPaths()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
