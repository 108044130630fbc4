"""What exists in the cloud, as the portal last saw it: servers, networks, and orphans."""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from provisioning.models.requests import ResourceRequest
from tenants.access import AccessPaths, RestrictedQuerySet
from tenants.models import Allocation, CloudRegion

ALLOCATION_PATHS = AccessPaths(
    tenant="allocation__tenant",
    site="allocation__region__site",
    domain="allocation__region__domain",
)


class LiveQuerySet(RestrictedQuerySet):
    def live(self) -> LiveQuerySet:
        return self.filter(deleted_at__isnull=True)


class Server(models.Model):
    """A server built by the portal (or adopted), mirroring Nova."""

    allocation = models.ForeignKey(
        Allocation, on_delete=models.PROTECT, related_name="built_servers"
    )
    origin_request = models.ForeignKey(
        ResourceRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="built_servers",
    )
    name = models.CharField(max_length=100)
    backend_id = models.CharField(max_length=64)
    tag = models.CharField(max_length=100, help_text="The tag the portal stamped on it.")
    status = models.CharField(max_length=30, default="BUILD")
    flavor_name = models.CharField(max_length=100)
    image_name = models.CharField(max_length=200, blank=True)
    vcpus = models.PositiveIntegerField(default=0)
    ram_mb = models.PositiveIntegerField(default=0)
    addresses = models.JSONField(default=list, blank=True)
    networks = models.ManyToManyField("provisioning.Network", blank=True, related_name="servers")
    fault = models.TextField(blank=True)
    lease_end = models.DateTimeField(null=True, blank=True)
    lease_warned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = LiveQuerySet.as_manager()
    access_paths = ALLOCATION_PATHS

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "backend_id"], name="server_unique_backend"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("server-detail", args=[self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Network(models.Model):
    """A tenant network (with its subnet and optional router) built by the portal."""

    allocation = models.ForeignKey(
        Allocation, on_delete=models.PROTECT, related_name="built_networks"
    )
    origin_request = models.ForeignKey(
        ResourceRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="built_networks",
    )
    name = models.CharField(max_length=100)
    cidr = models.CharField(max_length=43)
    backend_id = models.CharField(max_length=64)
    subnet_id = models.CharField(max_length=64, blank=True)
    router_id = models.CharField(max_length=64, blank=True)
    tag = models.CharField(max_length=100)
    status = models.CharField(max_length=30, default="ACTIVE")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = LiveQuerySet.as_manager()
    access_paths = ALLOCATION_PATHS

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "backend_id"], name="network_unique_backend"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cidr})"

    def get_absolute_url(self) -> str:
        return reverse("network-detail", args=[self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Orphan(models.Model):
    """A cloud object tagged by the portal that the portal does not know: for operators."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="orphans")
    kind = models.CharField(max_length=20)  # "server" or "network"
    backend_id = models.CharField(max_length=64)
    project_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=200, blank=True)
    tag = models.CharField(max_length=100, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(site="region__site", domain="region__domain")

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "kind", "backend_id"], name="orphan_unique_backend"
            ),
        ]

    def __str__(self) -> str:
        return f"Orphan {self.kind} {self.name or self.backend_id} in {self.region}"
