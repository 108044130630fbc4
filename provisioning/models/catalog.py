"""What can be requested where: flavors, images and volume types synced from each region,
offerings, and the catalog policies that narrow them per security domain or allocation."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.units import memory
from tenants.access import AccessPaths, RestrictedQuerySet
from tenants.models import Allocation, CloudRegion


class Flavor(models.Model):
    """A Nova flavor of one region, as last synced."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="flavors")
    backend_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    vcpus = models.PositiveIntegerField()
    ram_mb = models.PositiveIntegerField()
    disk_gb = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True, help_text=_("Still offered by the cloud."))
    synced_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        ordering = ["region_id", "vcpus", "ram_mb", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "backend_id"], name="flavor_unique_backend"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.vcpus} vCPU, {memory(self.ram_mb)})"


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


class VolumeType(models.Model):
    """A Cinder volume type of one region, as last synced, with the portal's size limit."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="volume_types")
    backend_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    max_size_gb = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "The largest volume of this type a unit may request; empty: the portal's "
            "default (PORTAL_VOLUME_MAX_GB)."
        ),
    )
    active = models.BooleanField(default=True, help_text=_("Still offered by the cloud."))
    synced_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        ordering = ["region_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "backend_id"], name="volumetype_unique_backend"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def size_limit(self) -> int:
        return volume_size_limit(self)


def volume_size_limit(volume_type: VolumeType | None) -> int:
    """The largest volume a unit may ask for of ``volume_type`` (None: the cloud's default)."""
    from django.conf import settings

    if volume_type is not None and volume_type.max_size_gb:
        return volume_type.max_size_gb
    return settings.PORTAL_VOLUME_MAX_GB


class VolumeTypeQuota(models.Model):
    """A limit on the volumes of one type in an allocation, beside its totals.

    Pushed to the cloud's block storage as ``volumes_<type>`` and ``gigabytes_<type>`` with the
    allocation's other quotas, and checked by the portal in flight like them.
    """

    allocation = models.ForeignKey(
        Allocation, on_delete=models.CASCADE, related_name="volume_type_quotas"
    )
    volume_type = models.CharField(max_length=100, help_text=_("The volume type's name."))
    volumes = models.PositiveIntegerField(help_text=_("Volumes of this type at most."))
    gigabytes = models.PositiveIntegerField(help_text=_("GB of volumes of this type at most."))

    objects = RestrictedQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("allocation")

    class Meta:
        ordering = ["allocation_id", "volume_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "volume_type"],
                name="volumetypequota_unique",
                violation_error_message=_("This allocation already limits this volume type."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(volume_type)s in %(allocation)s") % {
            "volume_type": self.volume_type,
            "allocation": self.allocation,
        }

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not self.allocation_id:
            return
        region = self.allocation.region
        known = VolumeType.objects.filter(region=region, active=True)
        if not known.filter(name=self.volume_type).exists():
            names = ", ".join(known.values_list("name", flat=True)) or gettext("none synced")
            raise ValidationError(
                {
                    "volume_type": gettext("%(region)s has no volume type %(name)s: %(names)s.")
                    % {"region": region, "name": repr(self.volume_type), "names": names}
                }
            )


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
        null=True, blank=True, help_text=_("Proposed lease length; empty means no lease.")
    )
    active = models.BooleanField(default=True)

    objects = RestrictedQuerySet.as_manager()
    # Templates are not secret; what a user can do with one is limited by their allocations.
    access_paths = AccessPaths()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _names(text: str) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


class CatalogPolicy(models.Model):
    """Which flavors, images and volume types a security domain (or one allocation) may use.

    An allocation's own policy replaces its domain's; empty lists allow everything the region
    offers. ``offerings_only`` keeps servers to the agency's templates: no free choice of a
    flavor and an image.
    """

    domain = models.ForeignKey(
        "tenants.SecurityDomain", on_delete=models.CASCADE, related_name="catalog_policies"
    )
    allocation = models.OneToOneField(
        "tenants.Allocation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="catalog_policy",
        help_text=_("Leave empty for the domain-wide policy."),
    )
    offerings_only = models.BooleanField(
        default=False, help_text=_("Servers only from an offering, never a free flavor and image.")
    )
    flavors = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Allowed flavor names, comma-separated; empty: all."),
    )
    images = models.CharField(
        max_length=500, blank=True, help_text=_("Allowed image names, comma-separated; empty: all.")
    )
    volume_types = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Allowed volume type names, comma-separated; empty: all."),
    )

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(domain="domain")

    class Meta:
        verbose_name_plural = _("catalog policies")
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(allocation__isnull=True),
                name="catalog_policy_one_per_domain",
                violation_error_message=_("This security domain already has a domain-wide policy."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Catalog of %(target)s") % {"target": self.allocation or self.domain}

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.allocation_id and self.allocation.region.domain_id != self.domain_id:
            raise ValidationError(
                {"allocation": gettext("The allocation must be in this policy's security domain.")}
            )

    def allows(self, what: str, name: str) -> bool:
        """Whether ``name`` is allowed among ``what`` ("flavors", "images", "volume_types")."""
        allowed = _names(getattr(self, what))
        return not allowed or name in allowed

    def allowed(self, what: str) -> list[str]:
        return _names(getattr(self, what))

    @classmethod
    def for_allocation(cls, allocation) -> CatalogPolicy | None:
        """The allocation's own policy, else its domain's, else none (everything allowed)."""
        return (
            cls.objects.filter(allocation=allocation).first()
            or cls.objects.filter(
                domain_id=allocation.region.domain_id, allocation__isnull=True
            ).first()
        )
