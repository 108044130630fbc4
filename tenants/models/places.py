"""Where clouds run: sites, security domains, and the cloud region at each pair of them."""

from datetime import time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.links import object_path
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


def working_days(text: str) -> None:
    if not text or any(c not in "1234567" for c in text) or len(set(text)) != len(text):
        raise ValidationError(_("Enter ISO weekdays once each, e.g. 12345 for Monday to Friday."))


def time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("%(name)r is not a time zone.") % {"name": name}) from None


def holiday_country(code: str) -> None:
    import holidays

    if code and code not in holidays.list_supported_countries():
        raise ValidationError(_("No public holidays are known for %(code)r.") % {"code": code})


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

    # Whether the targets count calendar time or the contract's working time (at each site).
    sla_clock = models.CharField(
        gettext_lazy("SLA: targets count"),
        max_length=10,
        choices=[
            ("calendar", gettext_lazy("Calendar time (around the clock)")),
            ("working", gettext_lazy("Working time (the hours below, less the site's holidays)")),
        ],
        default="calendar",
    )
    working_days = models.CharField(
        gettext_lazy("Working days"),
        max_length=7,
        default="12345",
        validators=[working_days],
        help_text=gettext_lazy("ISO weekdays, Monday 1 to Sunday 7: 12345 is Monday to Friday."),
    )
    working_from = models.TimeField(gettext_lazy("Working hours from"), default=time(8, 0))
    working_until = models.TimeField(
        gettext_lazy("Working hours until"),
        default=time(18, 0),
        help_text=gettext_lazy("In each site's own time zone."),
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

    @property
    def counts_working_time(self) -> bool:
        return self.sla_clock == "working"

    def clean(self) -> None:
        super().clean()
        if self.working_from and self.working_until and self.working_until <= self.working_from:
            raise ValidationError({"working_until": _("The working day must end after it begins.")})


class Site(models.Model):
    """A data centre of the agency."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    location = models.CharField(max_length=200, blank=True)
    # Where working-time targets stop: the site's own clock and public holidays.
    timezone = models.CharField(
        gettext_lazy("Time zone"),
        max_length=64,
        blank=True,
        validators=[time_zone],
        help_text=gettext_lazy(
            "IANA name, e.g. Europe/Lisbon: where its working hours are. Empty: the portal's "
            "default (PORTAL_DEFAULT_TIME_ZONE)."
        ),
    )
    country = models.CharField(
        gettext_lazy("Public holidays of"),
        max_length=2,
        blank=True,
        validators=[holiday_country],
        help_text=gettext_lazy(
            "Country code (ISO 3166), e.g. BE, NL, PT: its public holidays are not working "
            "days for working-time targets. Empty: no holidays."
        ),
    )
    holiday_subdivision = models.CharField(
        gettext_lazy("Region or municipality"),
        max_length=10,
        blank=True,
        help_text=gettext_lazy("Adds its own holidays where the country has some (e.g. PT 11)."),
    )

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(site="")

    class Meta:
        ordering = ["name"]
        permissions = [("access_site", "Entitled to this site")]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> str:
        """The site's time zone, else the portal's."""
        from django.conf import settings

        return self.timezone or settings.PORTAL_DEFAULT_TIME_ZONE

    def clean(self) -> None:
        super().clean()
        if self.country and self.holiday_subdivision:
            import holidays

            if self.holiday_subdivision not in holidays.country_holidays(self.country).subdivisions:
                raise ValidationError(
                    {"holiday_subdivision": _("%(code)s has no such subdivision.")
                     % {"code": self.country}}
                )  # fmt: skip


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
        return object_path("region-detail", self.pk)
