"""Where clouds run: sites, security domains, and the cloud region at each pair of them."""

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.access import AccessPaths, RestrictedQuerySet

hex_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$",
    gettext_lazy("Enter a colour as # followed by six hex digits, e.g. #c8102e."),
)


def parse_port_list(text: str) -> list[tuple[int, int]]:
    """``"23, 135-139"`` -> ``[(23, 23), (135, 139)]``; raises ValueError with the bad part."""
    ranges = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        low, _sep, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(
                _("%(part)r is not a port or a range such as 135-139") % {"part": part}
            ) from None
        if not 1 <= first <= last <= 65535:
            raise ValueError(_("%(part)r is not within 1-65535, low to high") % {"part": part})
        ranges.append((first, last))
    return ranges


def validate_port_list(text: str) -> None:
    try:
        parse_port_list(text)
    except ValueError as err:
        raise ValidationError(str(err)) from None


class SecurityDomain(models.Model):
    """A classification level with its own clouds, e.g. NATO SECRET."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    level = models.PositiveSmallIntegerField(
        unique=True, help_text=gettext_lazy("Ordering of sensitivity: higher is more sensitive.")
    )
    marking = models.CharField(
        max_length=100,
        help_text=gettext_lazy("Text of the classification banner, e.g. NATO SECRET."),
    )
    banner_colour = models.CharField(max_length=7, validators=[hex_colour], default="#007a33")
    requires_security_officer = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Requests in this domain need a security officer's approval after the tenant's."
        ),
    )
    external_addresses = models.CharField(
        gettext_lazy("External addresses"),
        max_length=10,
        choices=[
            ("allow", gettext_lazy("Allowed (the tenant's approval)")),
            ("officer", gettext_lazy("Allowed with a security officer's approval")),
            ("forbid", gettext_lazy("Forbidden")),
        ],
        default="allow",
        help_text=gettext_lazy(
            "Whether servers in this domain may have a floating IP on the external "
            "network, and who must approve one."
        ),
    )
    firewall_review = models.CharField(
        gettext_lazy("Firewall rules reviewed by"),
        max_length=10,
        choices=[
            ("tenant", gettext_lazy("The tenant's approvers")),
            ("officer", gettext_lazy("Also a security officer")),
        ],
        default="tenant",
        help_text=gettext_lazy(
            "Who approves a request to open a rule in a security group of this domain."
        ),
    )
    open_ingress = models.CharField(
        gettext_lazy("Inbound from anywhere (0.0.0.0/0)"),
        max_length=10,
        choices=[
            ("allow", gettext_lazy("Allowed")),
            ("officer", gettext_lazy("Allowed with a security officer's approval")),
            ("forbid", gettext_lazy("Forbidden")),
        ],
        default="allow",
        help_text=gettext_lazy("Whether a rule may open inbound traffic from any address."),
    )
    denied_ports = models.CharField(
        gettext_lazy("Ports never opened inbound"),
        max_length=200,
        blank=True,
        validators=[validate_port_list],
        help_text=gettext_lazy(
            "Ports and ranges no inbound rule may include, e.g. 23, 135-139, 445, 3389."
        ),
    )
    # The contract may give a domain its own targets (a second approval stage takes longer).
    sla_decision = models.DurationField(
        gettext_lazy("SLA: decision within"),
        null=True,
        blank=True,
        validators=[MinValueValidator(timedelta(minutes=1))],
        help_text=gettext_lazy(
            "From submission to the first decision, e.g. 2 days, 00:00:00. "
            "Empty: the portal's default (PORTAL_SLA_DECISION_SECONDS)."
        ),
    )
    sla_build = models.DurationField(
        gettext_lazy("SLA: build within"),
        null=True,
        blank=True,
        validators=[MinValueValidator(timedelta(minutes=1))],
        help_text=gettext_lazy(
            "From approval to completion, e.g. 00:45:00. "
            "Empty: the portal's default (PORTAL_SLA_BUILD_SECONDS)."
        ),
    )

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(domain="")

    class Meta:
        ordering = ["level"]
        permissions = [
            ("access_domain", "Cleared for this security domain"),
            ("officer_domain", "Security officer of this security domain"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def banner_text_colour(self) -> str:
        """Black or white, whichever reads better on the banner colour (WCAG luminance)."""
        r, g, b = (int(self.banner_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

        def channel(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
        return "#000000" if luminance > 0.179 else "#ffffff"


class Site(models.Model):
    """A data centre of the agency."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    location = models.CharField(max_length=200, blank=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(site="")

    class Meta:
        ordering = ["name"]
        permissions = [("access_site", "Entitled to this site")]

    def __str__(self) -> str:
        return self.name


class CloudRegion(models.Model):
    """One OpenStack deployment: a site x security domain pair, named as in clouds.yaml."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="regions")
    domain = models.ForeignKey(SecurityDomain, on_delete=models.PROTECT, related_name="regions")
    slug = models.SlugField(max_length=100, unique=True)
    cloud_name = models.CharField(
        max_length=100, help_text=gettext_lazy("Name of the cloud entry in clouds.yaml.")
    )
    region_name = models.CharField(
        max_length=100, help_text=gettext_lazy("OpenStack region name inside that cloud.")
    )
    enabled = models.BooleanField(
        default=True, help_text=gettext_lazy("Disabled regions accept no new requests.")
    )
    availability_target = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=Decimal("99.5"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text=gettext_lazy(
            "Share of the probes (per cent) its cloud must answer in a period, as the "
            "contract says."
        ),
    )

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(site="site", domain="domain")

    class Meta:
        ordering = ["site__name", "domain__level"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "domain"],
                name="region_unique_site_domain",
                violation_error_message=gettext_lazy(
                    "This site already has a region for this security domain."
                ),
            ),
            models.UniqueConstraint(
                fields=["cloud_name", "region_name"],
                name="region_unique_cloud_region",
                violation_error_message=gettext_lazy(
                    "Another region already uses this cloud and region name."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site.name} / {self.domain.name}"

    def get_absolute_url(self) -> str:
        return reverse("region-detail", args=[self.pk])
