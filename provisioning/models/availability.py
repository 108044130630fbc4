"""What the availability probes measured: each check, hourly rollups, incidents, the latest state.

Raw checks (``ProbeCheck``) are kept for ``PORTAL_PROBE_RETENTION_DAYS`` for the detail of an
incident; every figure shown over a period is read from ``AvailabilityHour``, one row per
region, service and hour, so a month's availability reads 720 rows per service whatever the
probe's frequency. Latency percentiles over any period come from the rows' histograms
(``provisioning.availability.LATENCY_BOUNDS``): percentiles cannot be added up, bucket counts
can.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.choices import ChoiceLabels
from tenants.access import RestrictedQuerySet
from tenants.models import CloudRegion


class ProbedService(models.TextChoices):
    #: The region as a whole: up when every one of its services answered the probe.
    REGION = "region", _("Whole region")
    IDENTITY = "identity", _("Identity")
    COMPUTE = "compute", _("Compute")
    NETWORK = "network", _("Network")
    IMAGE = "image", _("Image")
    BLOCK_STORAGE = "block-storage", _("Block storage")


class ProbeCheck(models.Model):
    """One service's answer to one probe run (the whole region's too, as service ``region``)."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="+")
    service = models.CharField(max_length=20, choices=ProbedService.choices)
    at = models.DateTimeField(help_text=_("When the probe run began."))
    ok = models.BooleanField()
    latency_ms = models.FloatField()
    error = models.CharField(max_length=300, blank=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        indexes = [
            models.Index(fields=["region", "service", "-at"], name="probecheck_region_at"),
            models.Index(fields=["at"], name="probecheck_at"),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.ok else "failed"
        return f"{self.region_id} {self.service} {self.at:%Y-%m-%d %H:%M} {outcome}"


class AvailabilityHour(models.Model):
    """A region's service over one hour: probes, failures, latency as a histogram."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="+")
    service = models.CharField(max_length=20, choices=ProbedService.choices)
    hour = models.DateTimeField()
    probes = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    latency_total_ms = models.FloatField(default=0)
    #: Counts of answered probes per latency bucket (``LATENCY_BOUNDS``), index by index.
    latency_buckets = models.JSONField(default=list)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "service", "hour"], name="availabilityhour_unique"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="availabilityhour_hour")]

    def __str__(self) -> str:
        return f"{self.region_id} {self.service} {self.hour:%Y-%m-%d %H}h"


class Incident(ChoiceLabels, models.Model):
    """A run of consecutive failed probes of one service of a region (``region``: the whole
    region), from its first failure to the first success after it."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="incidents")
    service = models.CharField(max_length=20, choices=ProbedService.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    failed_probes = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One open incident per service of a region: the probe extends it, never doubles it.
            models.UniqueConstraint(
                fields=["region", "service"],
                condition=models.Q(ended_at__isnull=True),
                name="incident_one_open",
            )
        ]
        indexes = [models.Index(fields=["region", "-started_at"], name="incident_region_start")]

    def __str__(self) -> str:
        return f"{self.region} {self.service} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> float:
        """How long it lasted; while open, so far."""
        from django.utils import timezone

        return ((self.ended_at or timezone.now()) - self.started_at).total_seconds()


class ServiceStatus(models.Model):
    """The latest probe of one service of a region, and the failures in a row behind it: what
    the status page shows now without reading the history."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="+")
    service = models.CharField(max_length=20, choices=ProbedService.choices)
    at = models.DateTimeField()
    ok = models.BooleanField()
    latency_ms = models.FloatField()
    error = models.CharField(max_length=300, blank=True)
    failures_in_a_row = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "service"], name="servicestatus_unique")
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.service} {'up' if self.ok else 'down'}"
