"""Rights that come from the agency's directory: the rules an operator writes, and what they gave.

A directory (LDAP / Active Directory) or an OpenID Connect provider says which groups a person
is in; ``DirectoryRule`` says what each group gives in the portal. What the rules gave is kept
(``DirectoryGrant``) so that the directory only ever takes away what it gave: a right an
operator gave by hand stays given by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.models.places import SecurityDomain, Site
from tenants.models.tenancy import Role, Tenant


class DirectorySource(models.TextChoices):
    LDAP = "ldap", gettext_lazy("LDAP / Active Directory")
    OIDC = "oidc", gettext_lazy("OpenID Connect")


class Right(models.TextChoices):
    """What a rule gives; each needs its own target (a tenant and role, a domain or a site)."""

    MEMBERSHIP = "membership", gettext_lazy("Membership of a tenant (with a role)")
    CLEARANCE = "clearance", gettext_lazy("Clearance for a security domain")
    OFFICER = "officer", gettext_lazy("Security officer of a domain")
    SITE = "site", gettext_lazy("Entitlement to a site")
    OPERATOR = "operator", gettext_lazy("Operator (sees and acts on everything)")
    AUDITOR = "auditor", gettext_lazy("Auditor (sees everything, changes nothing)")


#: The target field each right needs; the others must be empty.
RIGHT_TARGET = {
    Right.MEMBERSHIP: "tenant",
    Right.CLEARANCE: "domain",
    Right.OFFICER: "domain",
    Right.SITE: "site",
    Right.OPERATOR: None,
    Right.AUDITOR: None,
}


def _target_check(right: Right, target: str | None) -> Q:
    fields = {"tenant": Q(tenant__isnull=False), "domain": Q(domain__isnull=False),
              "site": Q(site__isnull=False)}  # fmt: skip
    held = Q()
    for name, present in fields.items():
        held &= present if name == target else ~present
    role = ~Q(role="") if right == Right.MEMBERSHIP else Q(role="")
    return Q(right=right) & held & role


class DirectoryRule(models.Model):
    """Members of one directory group get one right in the portal."""

    source = models.CharField(
        max_length=8,
        choices=DirectorySource.choices,
        blank=True,
        help_text=gettext_lazy("Which sign-in this rule applies to; empty: both."),
    )
    group = models.CharField(
        max_length=500,
        help_text=gettext_lazy(
            "The group as the directory names it: its name (LDAP cn, a value of the OpenID "
            "Connect groups claim) or its full LDAP DN. Compared without regard to case."
        ),
    )
    right = models.CharField(max_length=12, choices=Right.choices)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE)
    role = models.CharField(max_length=12, choices=Role.choices, blank=True)
    domain = models.ForeignKey(SecurityDomain, null=True, blank=True, on_delete=models.CASCADE)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "right", "id"]
        constraints = [
            models.CheckConstraint(
                name="directoryrule_target_fits_right",
                condition=(
                    _target_check(Right.MEMBERSHIP, "tenant")
                    | _target_check(Right.CLEARANCE, "domain")
                    | _target_check(Right.OFFICER, "domain")
                    | _target_check(Right.SITE, "site")
                    | _target_check(Right.OPERATOR, None)
                    | _target_check(Right.AUDITOR, None)
                ),
            ),
        ]

    def __str__(self) -> str:
        target = self.tenant or self.domain or self.site
        what = self.get_right_display().split(" (")[0]
        if self.right == Right.MEMBERSHIP:
            what = f"{self.get_role_display()} in"
        return f"{self.group} → {what} {target or ''}".rstrip()

    def clean(self) -> None:
        self.group = self.group.strip()
        try:
            right = Right(self.right)
        except ValueError:
            return  # the field's own validation names it
        target = RIGHT_TARGET[right]
        errors = {}
        choose = {
            "tenant": _("Choose the tenant this right is for."),
            "domain": _("Choose the domain this right is for."),
            "site": _("Choose the site this right is for."),
        }
        has_none = {
            "tenant": _("A rule giving “%(right)s” has no tenant."),
            "domain": _("A rule giving “%(right)s” has no domain."),
            "site": _("A rule giving “%(right)s” has no site."),
        }
        for name in ("tenant", "domain", "site"):
            given = getattr(self, f"{name}_id") is not None
            if name == target and not given:
                errors[name] = choose[name]
            elif name != target and given:
                errors[name] = has_none[name] % {"right": right.label}
        if right == Right.MEMBERSHIP and not self.role:
            errors["role"] = _("Choose the role the members get.")
        elif right != Right.MEMBERSHIP and self.role:
            errors["role"] = _("Only a membership has a role.")
        if errors:
            raise ValidationError(errors)


class DirectoryAccount(models.Model):
    """A portal user whose identity and rights come from the directory or the provider."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_account"
    )
    source = models.CharField(max_length=8, choices=DirectorySource.choices)
    subject = models.CharField(
        max_length=500,
        help_text=gettext_lazy("The LDAP entry's DN, or the provider's issuer and subject."),
    )
    groups = models.JSONField(default=list, blank=True, help_text=gettext_lazy("As last seen."))
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("When the directory stopped knowing this person."),
    )
    #: OpenID Connect only: lets the periodic sync ask the provider again (encrypted).
    refresh_token = models.TextField(blank=True, editable=False)

    AUDIT_EXCLUDE = ("refresh_token",)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "subject"], name="directoryaccount_unique_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_source_display()})"


class DirectoryGrant(models.Model):
    """A right the directory gave a person, so that it is the directory's to take away."""

    account = models.ForeignKey(DirectoryAccount, on_delete=models.CASCADE, related_name="grants")
    #: ``membership:<tenant id>``, ``clearance:<domain id>``, ``officer:<domain id>``,
    #: ``site:<site id>``, ``operator`` or ``auditor``.
    right = models.CharField(max_length=40)
    role = models.CharField(max_length=12, choices=Role.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "right"], name="directorygrant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account.user}: {self.right}{' ' + self.role if self.role else ''}"
