"""What exists in the cloud, as the portal last saw it: servers, networks, floating IPs, security
groups and their rules, volumes, and orphans."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.links import object_path
from provisioning.models.requests import Placed, ResourceRequest
from tenants.access import RestrictedQuerySet
from tenants.models import Allocation, CloudRegion

ALLOCATION_PATHS = Allocation.access_paths.via("allocation")
LIVE = models.Q(deleted_at__isnull=True)


def live_index(column: str, *, name: str) -> models.Index:
    """An index of live rows in ``column`` order (then the id), covering the list filters."""
    return models.Index(
        fields=[column, "id"], condition=LIVE, include=["allocation_id", "status"], name=name
    )


class LiveQuerySet(RestrictedQuerySet):
    def live(self) -> LiveQuerySet:
        return self.filter(deleted_at__isnull=True)


class CloudResource(Placed, models.Model):
    """What every mirrored cloud object has: its allocation, origin, backend id and life."""

    allocation = models.ForeignKey(
        Allocation, on_delete=models.PROTECT, related_name="built_%(class)ss"
    )
    origin_request = models.ForeignKey(
        ResourceRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="built_%(class)ss",
    )
    name = models.CharField(max_length=100)
    backend_id = models.CharField(max_length=64)
    tag = models.CharField(max_length=100, help_text=_("The tag the portal stamped on it."))
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = LiveQuerySet.as_manager()
    access_paths = ALLOCATION_PATHS
    detail_url_name = ""

    class Meta:
        abstract = True
        ordering = ["name", "id"]
        # One index per order the lists offer, over live rows only, each ending with the id so a
        # keyset page starts where its cursor points (portal/pagination.py), and each carrying
        # the allocation and status so the access filter and the status filter are checked in
        # the index: a page's ids are found without reading the table (docs/architecture.md).
        indexes = [
            live_index("name", name="%(class)s_live_name"),
            live_index("created_at", name="%(class)s_live_created"),
            live_index("status", name="%(class)s_live_status"),
            # The search box matches a cloud id exactly (the name, by its trigram index on
            # PostgreSQL: migration 0008).
            models.Index(fields=["backend_id"], condition=LIVE, name="%(class)s_live_backend"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "backend_id"], name="%(class)s_unique_backend"
            ),
        ]

    def get_absolute_url(self) -> str:
        return object_path(self.detail_url_name, self.pk)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Server(CloudResource):
    """A server built by the portal (or adopted), mirroring Nova."""

    status = models.CharField(max_length=30, default="BUILD")
    flavor_name = models.CharField(max_length=100)
    image_name = models.CharField(max_length=200, blank=True)
    vcpus = models.PositiveIntegerField(default=0)
    ram_mb = models.PositiveIntegerField(default=0)
    addresses = models.JSONField(default=list, blank=True)
    networks = models.ManyToManyField("provisioning.Network", blank=True, related_name="servers")
    security_groups = models.ManyToManyField(
        "provisioning.SecurityGroup", blank=True, related_name="servers"
    )
    fault = models.TextField(blank=True)
    boot_volume_gb = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text=_(
            "Size of the volume it boots from (made from its image, deleted with it); "
            "0: it boots from the image on the hypervisor's disk."
        ),
    )
    lease_end = models.DateTimeField(null=True, blank=True)
    lease_warned_at = models.DateTimeField(null=True, blank=True)

    detail_url_name = "server-detail"

    class Meta(CloudResource.Meta):
        indexes = [
            *CloudResource.Meta.indexes,
            live_index("flavor_name", name="server_live_flavor"),
            # Leases ending soon (dashboard, lease sweeper): live servers with a lease only.
            models.Index(
                fields=["lease_end"],
                condition=models.Q(deleted_at__isnull=True, lease_end__isnull=False),
                name="server_live_lease_end_idx",
            ),
            # Quota usage (provisioning.usage): an allocation's live servers summed from the
            # index alone, without visiting a table page per server.
            models.Index(
                fields=["allocation"],
                condition=LIVE,
                include=["vcpus", "ram_mb", "boot_volume_gb", "origin_request_id"],
                name="server_live_usage_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def network_ids(self) -> list[int]:
        """The ids of the networks it is attached to, in the networks' order: as attached to a
        page of servers by ``attach_network_ids`` (one query for the page), else read now."""
        known = self.__dict__.get("_network_ids")
        if known is None:
            known = self.__dict__["_network_ids"] = list(self.networks.values_list("pk", flat=True))
        return known


class Network(CloudResource):
    """A tenant network (with its subnet and optional router) built by the portal."""

    cidr = models.CharField(max_length=43)
    subnet_id = models.CharField(max_length=64, blank=True)
    router_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=30, default="ACTIVE")

    detail_url_name = "network-detail"

    class Meta(CloudResource.Meta):
        indexes = [
            *CloudResource.Meta.indexes,
            live_index("cidr", name="network_live_cidr"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cidr})"


class FloatingIp(CloudResource):
    """An address on the region's external network, given to one server (Neutron floating IP).

    Its own row, not a column of the server: it is a cloud object with its own quota and life
    (it outlives a port, and must be released when its server goes), and what is still held
    after a failure has to be found and removed.
    """

    address = models.GenericIPAddressField(protocol="IPv4")
    server = models.ForeignKey(
        Server, null=True, blank=True, on_delete=models.SET_NULL, related_name="floating_ips"
    )
    port_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=30, default="DOWN")

    class Meta(CloudResource.Meta):
        verbose_name = _("floating IP")
        indexes = [
            *CloudResource.Meta.indexes,
            models.Index(fields=["server"], condition=LIVE, name="floatingip_live_server"),
        ]

    def __str__(self) -> str:
        return self.address

    def get_absolute_url(self) -> str:
        return self.server.get_absolute_url() if self.server_id else ""


class SecurityGroup(CloudResource):
    """Firewall openings of an allocation (a Neutron security group) that servers are put in.

    Its rules are the portal's record of what was approved (``SecurityGroupRule``); what the
    reconciler finds in the cloud besides them, or misses there, is kept as ``drift``.
    """

    description = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=30, default="ACTIVE")
    drift = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "Rules found in the cloud that no request made, and approved rules missing "
            "there, as the reconciler last saw them."
        ),
    )
    drift_checked_at = models.DateTimeField(null=True, blank=True)

    detail_url_name = "security-group-detail"

    class Meta(CloudResource.Meta):
        verbose_name = _("security group")

    def __str__(self) -> str:
        return self.name


class SecurityGroupRule(models.Model):
    """One approved opening of a security group, as requested (and its cloud id once made)."""

    group = models.ForeignKey(SecurityGroup, on_delete=models.CASCADE, related_name="rules")
    origin_request = models.ForeignKey(
        ResourceRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backend_id = models.CharField(max_length=64, blank=True)
    direction = models.CharField(
        max_length=10, choices=[("ingress", _("inbound")), ("egress", _("outbound"))]
    )
    ethertype = models.CharField(max_length=4, default="IPv4")
    protocol = models.CharField(max_length=10, blank=True, help_text=_("Empty: any protocol."))
    port_min = models.PositiveIntegerField(null=True, blank=True)
    port_max = models.PositiveIntegerField(null=True, blank=True)
    remote_cidr = models.CharField(max_length=43, blank=True)
    remote_group = models.ForeignKey(
        SecurityGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = LiveQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("group__allocation")

    class Meta:
        ordering = ["direction", "port_min", "id"]

    def __str__(self) -> str:
        from provisioning.firewall import rule_sentence

        return rule_sentence(self.as_spec())

    def as_spec(self) -> dict:
        return {
            "direction": self.direction,
            "ethertype": self.ethertype,
            "protocol": self.protocol,
            "port_min": self.port_min,
            "port_max": self.port_max,
            "remote_cidr": self.remote_cidr,
            "remote_group": {"id": self.remote_group_id, "name": self.remote_group.name}
            if self.remote_group_id
            else None,
        }


class Volume(CloudResource):
    """A Cinder volume of an allocation: a disk that outlives the servers it is attached to.

    At most one server at a time (the portal does not offer multi-attach); ``device`` is where
    that server sees it. Its size and type are the cloud's, mirrored by the worker and the
    reconciler.
    """

    size_gb = models.PositiveIntegerField()
    volume_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=30, default="creating")
    server = models.ForeignKey(
        Server, null=True, blank=True, on_delete=models.SET_NULL, related_name="volumes"
    )
    device = models.CharField(max_length=60, blank=True)

    detail_url_name = "volume-detail"

    class Meta(CloudResource.Meta):
        indexes = [
            *CloudResource.Meta.indexes,
            live_index("size_gb", name="volume_live_size"),
            models.Index(fields=["server"], condition=LIVE, name="volume_live_server"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_attached(self) -> bool:
        return self.server_id is not None


class Orphan(models.Model):
    """A cloud object tagged by the portal that the portal does not know: for operators."""

    region = models.ForeignKey(CloudRegion, on_delete=models.CASCADE, related_name="orphans")
    kind = models.CharField(max_length=20)  # a model name: "server", "volume", "floatingip"...
    backend_id = models.CharField(max_length=64)
    project_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=200, blank=True)
    tag = models.CharField(max_length=100, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = CloudRegion.access_paths.via("region")

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "kind", "backend_id"], name="orphan_unique_backend"
            ),
        ]

    def __str__(self) -> str:
        return gettext("Orphan %(kind)s %(name)s in %(region)s") % {
            "kind": self.kind,
            "name": self.name or self.backend_id,
            "region": self.region,
        }
