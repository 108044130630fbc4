"""The kept quota-usage rollup: one row per allocation, what the dashboard reads."""

from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy

from tenants.access import RestrictedQuerySet
from tenants.models.tenancy import Allocation


class AllocationUsage(models.Model):
    """An allocation's usage of each quota dimension, as of ``refreshed_at``.

    Kept, not computed on read: ``tenants.rollup`` refreshes a row after every committed change
    that moves usage (a request's transition, a server or network built or gone) and the
    reconciler refreshes its region's rows after each run. Quota *enforcement* never reads it:
    submit and approval compute usage live under the allocation's lock (``tenants.quotas``).
    """

    allocation = models.OneToOneField(
        Allocation, primary_key=True, on_delete=models.CASCADE, related_name="usage"
    )
    # One field per tenants.quotas dimension: live resources plus requests in flight.
    instances = models.PositiveIntegerField(default=0)
    vcpus = models.PositiveIntegerField(default=0)
    ram_mb = models.PositiveBigIntegerField(default=0)
    networks = models.PositiveIntegerField(default=0)
    routers = models.PositiveIntegerField(default=0)
    floating_ips = models.PositiveIntegerField(default=0)
    volumes = models.PositiveIntegerField(default=0, db_default=0)
    gigabytes = models.PositiveBigIntegerField(default=0, db_default=0)
    fullest = models.FloatField(
        default=0.0,
        help_text=gettext_lazy(
            "The highest share of any quota in use (1.0 = full, above = over quota): "
            "what orders allocations by how close they are to their limits."
        ),
    )
    refreshed_at = models.DateTimeField()

    objects = RestrictedQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("allocation")

    class Meta:
        indexes = [
            models.Index(F("fullest").desc(), "allocation", name="allocation_usage_fullest_idx"),
        ]

    def __str__(self) -> str:
        return f"Usage of allocation {self.allocation_id} at {self.refreshed_at:%Y-%m-%d %H:%M}"
