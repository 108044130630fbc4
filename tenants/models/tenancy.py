"""Who holds what: tenants (organisational units), memberships and allocations with quotas."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.links import object_path
from tenants.access import AccessPaths, RestrictedQuerySet
from tenants.models.places import CloudRegion


class Role(models.TextChoices):
    """A member's role in a tenant; each role includes the rights of those before it."""

    VIEWER = "viewer", gettext_lazy("Viewer")
    REQUESTER = "requester", gettext_lazy("Requester")
    APPROVER = "approver", gettext_lazy("Approver")
    MANAGER = "manager", gettext_lazy("Manager")

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: "Role") -> bool:
        return self.rank >= Role(other).rank


class Tenant(models.Model):
    """An organisational unit that holds capacity in clouds and whose staff request resources."""

    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(tenant="")

    class Meta:
        ordering = ["name"]
        permissions = [
            ("tenant_view", "Member: sees the tenant's resources"),
            ("tenant_request", "Member: requests resources for the tenant"),
            ("tenant_approve", "Member: approves the tenant's requests"),
            ("tenant_manage", "Member: manages the tenant"),
            ("operate_portal", "Operator: sees and acts on everything"),
            ("audit_portal", "Auditor: sees everything, changes nothing"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return object_path("tenant-detail", self.pk)

    def clean(self) -> None:
        # Walk up from the proposed parent: meeting ourselves means the chain would loop.
        node, seen = self.parent, set()
        while node is not None and node.pk not in seen:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError(
                    {
                        "parent": _(
                            "A tenant cannot be its own parent or one of its own descendants."
                        )
                    }
                )
            seen.add(node.pk)
            node = node.parent


class Membership(models.Model):
    """A user's role in a tenant. The guardian grants that carry it follow via services."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REQUESTER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(tenant="tenant")

    class Meta:
        ordering = ["tenant__name", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"],
                name="membership_unique_user_tenant",
                violation_error_message=gettext_lazy(
                    "This user is already a member of this tenant."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.get_role_display()}"


class Allocation(models.Model):
    """A tenant's capacity in one cloud region: its OpenStack project and its quotas.

    Each quota dimension is a field named in ``tenants.quotas.DIMENSIONS``; adding a dimension
    means a field, a migration and one entry there.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="allocations")
    region = models.ForeignKey(CloudRegion, on_delete=models.PROTECT, related_name="allocations")
    project_id = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy("OpenStack project id; empty until it exists."),
    )
    project_name = models.CharField(max_length=100, blank=True)
    instances = models.PositiveIntegerField(default=10, help_text=gettext_lazy("Servers"))
    vcpus = models.PositiveIntegerField(default=20, help_text=gettext_lazy("Virtual CPUs"))
    ram_mb = models.PositiveIntegerField(default=51200, help_text=gettext_lazy("RAM in MiB"))
    networks = models.PositiveIntegerField(default=5, help_text=gettext_lazy("Networks"))
    routers = models.PositiveIntegerField(default=2, help_text=gettext_lazy("Routers"))
    floating_ips = models.PositiveIntegerField(default=5, help_text=gettext_lazy("Floating IPs"))
    # db_default: rows written by SQL alone (bulk loads) get the same limits as the ORM's.
    volumes = models.PositiveIntegerField(
        default=10, db_default=10, help_text=gettext_lazy("Volumes")
    )
    gigabytes = models.PositiveIntegerField(
        default=100, db_default=100, help_text=gettext_lazy("Volume storage (GB)")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(
        tenant="tenant", site="region__site", domain="region__domain", listed=True
    )

    class Meta:
        ordering = ["tenant__name", "region__site__name", "region__domain__level"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "region"],
                name="allocation_unique_tenant_region",
                violation_error_message=gettext_lazy(
                    "This tenant already has an allocation in this region."
                ),
            ),
            models.UniqueConstraint(
                fields=["region", "project_id"],
                condition=~models.Q(project_id=""),
                name="allocation_unique_project",
                violation_error_message=gettext_lazy(
                    "Another allocation already maps to this project."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.name} @ {self.region}"

    def get_absolute_url(self) -> str:
        return object_path("allocation-detail", self.pk)

    def clean(self) -> None:
        if self.region_id and not self.region.enabled and self._state.adding:
            raise ValidationError(
                {
                    "region": _("Region %(region)s is disabled and takes no new allocations.")
                    % {"region": self.region}
                }
            )
        if not self._state.adding:
            self._clean_quotas_cover_usage()

    def _clean_quotas_cover_usage(self) -> None:
        """A quota below what is in use would strand resources; the cloud refuses it too."""
        from tenants.quotas import DIMENSIONS, usage_by_allocation

        usage = usage_by_allocation([self])[self.pk]
        errors = {
            d.key: _("%(used)s already in use or requested; the quota cannot go below that.")
            % {"used": f"{u.used}{' ' + d.unit if d.unit else ''}"}
            for d, u in zip(DIMENSIONS, usage, strict=True)
            if getattr(self, d.key) < u.used
        }
        if errors:
            raise ValidationError(errors)

    @property
    def summary(self) -> dict[str, object]:
        """Where it is, by slugs: what lists show of the allocation of each of their rows."""
        region = self.region
        return {
            "id": self.pk,
            "tenant": self.tenant.slug,
            "region": region.slug,
            "site": region.site.slug,
            "domain": region.domain.slug,
        }


class Delegation(models.Model):
    """An approver away: someone else decides in their place, for a period.

    While it is in effect the delegate holds the delegator's right to approve in the tenants
    where the delegator approves or manages and the delegate is a member, through a group of
    its own (``group``), so ending it takes away exactly what it gave (``tenants.delegations``).
    Clearance and site entitlement are the delegate's own: a delegation never widens them.
    """

    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_received"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text=gettext_lazy("Ended early by the delegator.")
    )
    #: The tenants it covered when it took effect (ids), for the record and the inbox.
    tenants = models.ManyToManyField(Tenant, blank=True, related_name="+")
    group = models.OneToOneField(
        "auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(delegator=models.F("delegate")),
                name="delegation_not_to_oneself",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="delegation_ends_after_it_starts",
            ),
        ]
        indexes = [models.Index(fields=["ends_at"], name="delegation_ends_idx")]

    def __str__(self) -> str:
        period = f"{self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"
        return f"{self.delegator} for {self.delegate}: {period}"

    def get_absolute_url(self) -> str:
        return reverse("account-delegation")

    def in_effect_at(self, moment) -> bool:
        return self.ended_at is None and self.starts_at <= moment < self.ends_at
