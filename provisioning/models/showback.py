"""Showback: what each unit consumed, from the resources' lifecycle, priced by a rate card."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.access import RestrictedQuerySet
from tenants.models import Allocation, SecurityDomain, Site, Tenant


class UsageSpan(models.Model):
    """A stretch of time over which one resource held the same billable size and state.

    Opened when the portal first sees a server, volume or floating IP, closed and followed by a
    new one when its size (a resize, an extension) or a server's running state changes, closed
    for good when it is deleted (``provisioning.services.showback.spans_observe``). Hours are
    read from here, never from the resource rows, which only know their latest state.
    """

    class Kind(models.TextChoices):
        SERVER = "server", _("Server")
        VOLUME = "volume", _("Volume")
        FLOATING_IP = "floatingip", _("Floating IP")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    resource_id = models.BigIntegerField()
    allocation = models.ForeignKey(
        Allocation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    vcpus = models.PositiveIntegerField(default=0)
    ram_mb = models.PositiveIntegerField(default=0)
    #: A volume's size, or a server's boot volume.
    gb = models.PositiveIntegerField(default=0)
    #: A server that is stopped (shut off, suspended, shelved) is priced as the rate card says.
    running = models.BooleanField(default=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "resource_id"], condition=Q(ended_at__isnull=True),
                name="usagespan_one_open",
            ),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["kind", "resource_id", "started_at"], name="usagespan_resource"),
            # The spans a day overlaps: those still open, and those that ended after it began.
            models.Index(fields=["ended_at"], name="usagespan_ended"),
            models.Index(fields=["started_at"], name="usagespan_started"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.resource_id} from {self.started_at:%Y-%m-%d %H:%M}"


class ShowbackDay(models.Model):
    """One allocation's consumption over one day (UTC), computed once the day is over.

    A month's showback adds up at most 31 rows per allocation, whatever the number of
    resources and changes. Tenant, site and domain are copied from the allocation, as on the
    SLA facts, so the report groups without joins.
    """

    day = models.DateField()
    allocation = models.ForeignKey(
        Allocation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+", db_index=False)
    domain = models.ForeignKey(
        SecurityDomain, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    vcpu_hours = models.FloatField(default=0)
    ram_gib_hours = models.FloatField(default=0)
    #: The same, of servers that were stopped.
    stopped_vcpu_hours = models.FloatField(default=0)
    stopped_ram_gib_hours = models.FloatField(default=0)
    volume_gib_hours = models.FloatField(default=0)
    floating_ip_hours = models.FloatField(default=0)

    objects = RestrictedQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("allocation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "allocation"], name="showbackday_once"),
        ]
        indexes = [
            models.Index(fields=["allocation", "day"], name="showbackday_allocation"),
        ]

    def __str__(self) -> str:
        return gettext("Usage of %(allocation)s on %(day)s") % {
            "allocation": self.allocation_id, "day": self.day,
        }  # fmt: skip


def _price() -> models.DecimalField:
    return models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal(0), validators=[MinValueValidator(0)]
    )


class RateCard(models.Model):
    """What an hour of each thing costs, from one day to another: the operators' prices.

    Each day of a showback is priced by the card valid that day: of the cards whose period
    holds it, the one that began last. So a new card from the 15th prices the first half of the
    month by the old one, and a card for one week overrides a standing card for that week.
    """

    name = models.CharField(max_length=100)
    valid_from = models.DateField(help_text=_("First day (UTC) the prices apply."))
    valid_until = models.DateField(
        null=True, blank=True, help_text=_("Last day they apply; empty: until a later card.")
    )
    currency = models.CharField(max_length=3, default="EUR")
    vcpu_hour = _price()
    ram_gib_hour = _price()
    volume_gib_hour = _price()
    floating_ip_hour = _price()
    stopped_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal(0),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_(
            "Share of the vCPU and RAM prices a stopped server still costs: 0 nothing, 1 as "
            "if it ran. Its disks cost in full."
        ),
    )

    class Meta:
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The card must end on or after its start.")})
        clash = RateCard.objects.exclude(pk=self.pk).filter(valid_from=self.valid_from).first()
        if clash is not None:
            raise ValidationError(
                {"valid_from": _("%(card)s begins that day too; one card per first day.")
                 % {"card": clash}}
            )  # fmt: skip
