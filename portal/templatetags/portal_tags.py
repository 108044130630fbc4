"""Template tags: the classification banner and quota bars.

Colours come from classes, never ``style`` attributes: the Content-Security-Policy allows no
inline style. A domain's colours are in the markings stylesheet (``portal.views``).
"""

import html
from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from portal.units import memory
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


def esc(value: object) -> str:
    """``value`` as text escaped for HTML: Django's ``escape`` without its wrapper, which looks
    through its arguments for lazy strings on every call (2.2 µs against 0.6 here; markup built
    in Python escapes a few hundred values a page). The same characters are replaced."""
    return html.escape(str(value))


@register.simple_tag
def domain_badge(domain: SecurityDomain) -> SafeString:
    """A domain's marking beside a row. Built here rather than from a template: a list shows
    one per row, and an included template costs about twenty times as much each."""
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<span class="domain-badge marking-{esc(domain.pk)}" title="{esc(domain.name)}">'
        f"{esc(domain.marking)}</span>"
    )


@register.simple_tag
def select_options(pairs: Iterable[tuple[str, str]], selected: str | None = None) -> SafeString:
    """The ``<option>`` elements of a filter select, ``selected`` marked.

    Built in one pass rather than by a template loop: an operator's tenant select holds every
    tenant (667 in the scale benchmark), and the loop took 13 ms of every list page.
    """
    chosen = selected or None
    return mark_safe(  # noqa: S308 - every value and label is escaped here
        "".join(
            f'<option value="{esc(value)}"'
            f"{' selected' if value == chosen else ''}>{esc(label)}</option>"
            for value, label in pairs
        )
    )


@register.inclusion_tag("portal/_quota_bar.html")
def quota_bar(usage) -> dict:
    return {"usage": usage}


@register.filter
def mib(value: int | None) -> str:
    """An amount of memory given in MiB, as people read it (``portal.units.memory``)."""
    return memory(value)


@register.filter
def quantity(value: int | None, dimension) -> str:
    """An amount of a quota dimension with its unit, memory in GiB as people read it:
    "18 GiB", "500 GB", "6"."""
    if value is None:
        return "—"
    if dimension.unit == "MiB":
        return mib(value)
    return f"{value} {dimension.unit}" if dimension.unit else str(value)


@register.filter
def parse_iso(value: str | None):
    """An ISO 8601 moment kept in a spec, as a datetime the ``date`` filter shows in the
    reader's time zone."""
    from django.utils.dateparse import parse_datetime

    return parse_datetime(value) if value else None


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template (a form's errors by field name); None when absent."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def quota_changes(spec: dict) -> list[tuple]:
    """A quota change request's (dimension, limit before, limit asked for, in use when asked),
    in the order quotas are always shown."""
    from tenants.quotas import DIMENSIONS

    limits, before, used = spec.get("limits", {}), spec.get("from", {}), spec.get("used", {})
    return [(d, before.get(d.key), limits[d.key], used.get(d.key)) for d in DIMENSIONS
            if d.key in limits]  # fmt: skip


def _readable(value) -> str:
    """A stored audit value in words: lists joined, mappings as "key: value", nothing as —."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_readable(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_readable(v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


@register.filter
def audit_changes(event) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field an audit event records, in words."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    if not isinstance(event.before, dict) and event.before is not None:
        before = {"value": event.before}
    if not isinstance(event.after, dict) and event.after is not None:
        after = {"value": event.after}
    fields = list(dict.fromkeys([*before, *after]))
    return [
        (f.replace("_", " "), _readable(before.get(f)) if f in before else "",
         _readable(after.get(f)) if f in after else "")
        for f in fields
    ]  # fmt: skip
