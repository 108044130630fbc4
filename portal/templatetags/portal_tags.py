"""Template tags: the classification banner and quota bars.

Colours come from classes, never ``style`` attributes: the Content-Security-Policy allows no
inline style. A domain's colours are in the markings stylesheet (``portal.views``).
"""

from collections.abc import Iterable

from django import template

from tenants.models import SecurityDomain

register = template.Library()

#: Shown when a page holds no data of any security domain (login, help, empty lists). Its
#: colours are those of the ``marking-unmarked`` class of the markings stylesheet.
UNMARKED = {"marking": "UNCLASSIFIED PORTAL", "colour": "#3b4a5a", "text_colour": "#ffffff"}


@register.inclusion_tag("portal/_banner.html")
def classification_banner(domains: Iterable[SecurityDomain] | None, position: str = "top") -> dict:
    """The marking of the most sensitive domain whose data the page shows."""
    top = max(domains or (), key=lambda d: d.level, default=None)
    if top is None:
        return {"marking": UNMARKED["marking"], "css": "marking-unmarked", "position": position}
    return {"marking": top.marking, "css": f"marking-{top.pk}", "position": position}


@register.inclusion_tag("portal/_domain_badge.html")
def domain_badge(domain: SecurityDomain) -> dict:
    return {"domain": domain}


@register.inclusion_tag("portal/_quota_bar.html")
def quota_bar(usage) -> dict:
    return {"usage": usage}


@register.filter
def mib(value: int | None) -> str:
    """An amount of memory given in MiB, as people read it: "512 MiB", "2 GiB", "1.5 GiB"."""
    if value is None:
        return "—"
    value = int(value)
    if value < 1024:
        return f"{value} MiB"
    gib = value / 1024
    return f"{gib:.0f} GiB" if gib == int(gib) else f"{gib:.1f} GiB"


@register.filter
def quantity(value: int | None, dimension) -> str:
    """An amount of a quota dimension with its unit, memory in GiB as people read it:
    "18 GiB", "500 GB", "6"."""
    if value is None:
        return "—"
    if dimension.unit == "MiB":
        return mib(value)
    return f"{value} {dimension.unit}" if dimension.unit else str(value)
