"""The header's sections: a short main menu that fits a 1366 px screen in French as in English.

Each section's first page opens it; its pages carry the section's own menu (a second row).
A section is "current" on every page whose URL name is one of its pages' or starts with one of
its prefixes (detail and action pages), so the main menu says where one is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    key: str
    label: str | Promise
    pages: tuple[tuple[str, str | Promise], ...]
    prefixes: tuple[str, ...]

    def holds(self, url_name: str | None) -> bool:
        return bool(url_name) and (
            any(url_name == name for name, _label in self.pages)
            or url_name.startswith(self.prefixes)
        )


RESOURCES = Section(
    "resources",
    _("Resources"),
    (
        ("server-list", _("Servers")),
        ("network-list", _("Networks")),
        ("security-group-list", _("Security groups")),
        ("volume-list", _("Volumes")),
    ),
    ("server-", "network-", "security-group-", "volume-"),
)
ORGANISATION = Section(
    "organisation",
    _("Organisation"),
    (
        ("tenant-list", _("Tenants")),
        ("allocation-list", _("Allocations")),
        ("region-list", _("Regions")),
    ),
    ("tenant-", "allocation-", "region-"),
)
REPORTS = Section(
    "reports",
    _("Reports"),
    (
        ("sla-report", _("Service levels")),
        ("cloud-status", _("Cloud status")),
        ("showback-report", _("Showback")),
    ),
    ("sla-", "cloud-", "showback-"),
)
ACCOUNT = Section(
    "account",
    _("Keys & tokens"),
    (
        ("account-ssh-keys", _("SSH keys")),
        ("account-two-factor", _("Second factor")),
        ("account-tokens", _("API tokens")),
        ("account-preferences", _("Preferences")),
        ("account-delegation", _("Out of office")),
    ),
    ("account-",),
)
SECTIONS = (RESOURCES, ORGANISATION, REPORTS, ACCOUNT)


def section_of(url_name: str | None) -> Section | None:
    return next((s for s in SECTIONS if s.holds(url_name)), None)


def decides_somewhere(user) -> bool:
    """Whether the Approvals inbox is worth a place in ``user``'s menu: an operator, an approver
    or manager of some tenant, or a security officer. Remembered per access generation, so a
    page pays for it once after each change of access."""
    from django.contrib.auth import get_user_model
    from django.db.models import Exists, Q

    from tenants import access_memory
    from tenants.access import is_operator, officer_domains_filter
    from tenants.models import Role, SecurityDomain

    if not user.is_authenticated:
        return False
    if is_operator(user):
        return True

    def compute() -> bool:  # one query
        officer = Exists(SecurityDomain.objects.filter(officer_domains_filter(user)))
        deciding = Q(memberships__role__in=(Role.APPROVER, Role.MANAGER)) | officer
        return get_user_model().objects.filter(deciding, pk=user.pk).exists()

    return access_memory.recall(("decides", user.pk), access_memory.generation_for(user), compute)
