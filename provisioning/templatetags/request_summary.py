"""What a request will build or do, where, by whom and why: the summary on an inbox card.

Built in Python, as the card's head and decision form are (``decision_cards``). As template
markup it was a branch per kind with twenty lookups a card, and a lookup of a key the spec does
not hold costs Django three exceptions and a ``dir()``: 15 of the approvals page's 70 ms for its
twenty cards. Here each kind is a function of the spec, with the same words from the same
catalogue; ``tests/pages/test_request_summary.py`` holds every kind to the markup it replaces,
in English and French, escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import ngettext, pgettext

from portal.i18n import kept_translations
from portal.templatetags.portal_tags import (
    domain_badge,
    esc,
    mib,
    parse_iso,
    quantity,
    quota_changes,
)
from provisioning.models import Kind, ResourceRequest

register = template.Library()

TIMES = "\u00d7"


@register.simple_tag
def request_summary(r: ResourceRequest) -> SafeString:
    """The facts an approver decides on: what, where, who asked and when, and why."""
    _ = kept_translations()
    what = _WHAT.get(r.kind, _other)(r, r.spec if isinstance(r.spec, dict) else {})
    allocation, requester = r.allocation, r.requester
    region = allocation.region
    asked = r.created_at
    since = _("%(since)s ago") % {"since": _show(timesince(asked) if asked else "")}
    # Each message in a statement of its own: the catalogue's extraction does not read calls
    # inside f-strings.
    what_label, where_label = _("What"), _("Where")
    by_label, why_label = _("Requested by"), _("Justification")
    return mark_safe(  # noqa: S308 - every value is escaped; the words are the catalogue's
        '<dl class="facts compact">\n'
        f"  <dt>{what_label}</dt>\n"
        f"  <dd>{what}</dd>\n"
        f"  <dt>{where_label}</dt><dd>{_show(allocation.tenant.name)} · "
        f"{_show(region.site.name)} {domain_badge(region.domain)}</dd>\n"
        f"  <dt>{by_label}</dt><dd>"
        f"{_show(requester.get_full_name() or requester.username)}, "
        f'<time datetime="{_show(shown_date(asked, "c"))}">{since}</time></dd>\n'
        f'  <dt>{why_label}</dt><dd class="justification">{_show(r.justification)}</dd>\n'
        "</dl>"
    )


def _show(value: Any) -> str:
    """A value as a template shows it: localized, then escaped unless already safe."""
    text = value if isinstance(value, str) else str(localize(value))
    return text if isinstance(text, SafeData) else esc(text)


def _at(spec: Any, *keys: str) -> Any:
    """``spec.a.b`` as a template reads it from a spec: "" where a key is missing."""
    for key in keys:
        if not isinstance(spec, dict) or key not in spec:
            return ""
        spec = spec[key]
    return spec


def shown_date(moment: Any, form: str) -> str:
    """The ``date`` filter, for markup built in Python: in the reader's time zone, "" for
    nothing."""
    if moment in (None, ""):
        return ""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return date_format(moment, form)


def _server(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    parts = [f"{_show(_at(spec, 'count') or 1)} {TIMES} <code>{_show(_at(spec, 'flavor'))}</code>"]
    if offering := _at(spec, "offering"):
        parts.append(" " + _("(offering %(offering)s)") % {"offering": _show(offering)})
    parts.append(", " + _("image %(image)s") % {"image": _show(_at(spec, "image"))})
    if networks := _at(spec, "networks"):
        on = pgettext("on the networks", "on")
        parts.append(f", {on} " + ", ".join(_show(_at(n, "name")) for n in networks))
    if ssh_key := _at(spec, "ssh_key"):
        key = _("SSH key <code>%(fingerprint)s</code>")
        parts.append(", " + key % {"fingerprint": _show(_at(ssh_key, "fingerprint"))})
    if size := _at(spec, "boot_volume_gb"):
        parts.append(", " + _("booting from a %(size)s GB volume each") % {"size": _show(size)})
    return "".join(parts)


def _network(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    router = _("with a router to the external network") if _at(spec, "router") else _("no router")
    return f"<code>{_show(_at(spec, 'cidr'))}</code>, {router}"


def _resize(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    # A memory the spec lacks shows as "—" (the template failed on it).
    return _(
        "Resize %(title)s from <code>%(from_flavor)s</code> (%(from_vcpus)s vCPU, "
        "%(from_ram)s) to <code>%(flavor)s</code> (%(vcpus)s vCPU, %(ram)s)"
    ) % {
        "title": _show(r.title),
        "from_flavor": _show(_at(spec, "from_flavor")),
        "from_vcpus": _show(_at(spec, "from_vcpus")),
        "from_ram": _show(mib(_at(spec, "from_ram_mb") or None)),
        "flavor": _show(_at(spec, "flavor")),
        "vcpus": _show(_at(spec, "vcpus")),
        "ram": _show(mib(_at(spec, "ram_mb") or None)),
    }


def _in_group(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    return _("<strong>%(sentence)s</strong> in group %(title)s") % {
        "sentence": _show(_at(spec, "sentence")),
        "title": _show(r.title),
    }


def _rule(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    text = _in_group(r, spec)
    if description := _at(spec, "description"):
        text += f" ({_show(description)})"
    count, names = _at(spec, "affects", "count"), _at(spec, "affects", "names")
    if not count:
        return f"{text}; " + _("affects no server yet")
    affects = ngettext(
        "affects %(counter)s server: %(names)s", "affects %(counter)s servers: %(names)s", count
    ) % {"counter": _show(count), "names": ", ".join(conditional_escape(n) for n in names)}
    more = ", …" if count > len(names) else ""
    return f"{text}; {affects}{more}"


def _volume(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    text = _("Volume %(name)s: %(size)s GB") % {
        "name": _show(_at(spec, "name")),
        "size": _show(_at(spec, "size_gb")),
    }
    if volume_type := _at(spec, "volume_type"):
        text += ", " + _("type %(type)s") % {"type": _show(volume_type)}
    if description := _at(spec, "description"):
        text += f" ({_show(description)})"
    return text


def _volume_action(r: ResourceRequest, spec: dict) -> str:
    return f"<strong>{_show(_at(spec, 'sentence') or r.get_kind_display())}</strong>"


def _quota_change(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    rows = "".join(
        "<li>"
        + _("%(quota)s: <strong>%(before)s → %(after)s</strong> (%(used)s in use when asked)")
        % {
            "quota": _show(d.label),
            "before": _show(quantity(before, d)),
            "after": _show(quantity(after, d)),
            "used": _show(quantity(used, d)),
        }
        + "</li>"
        for d, before, after, used in quota_changes(spec)
    )
    heading = _("Quota of %(allocation)s:") % {"allocation": _show(r.title)}
    return f'{heading}<ul class="quota-changes">{rows}</ul>'


def _lease_extend(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    return _("Extend the lease of %(name)s from %(before)s to <strong>%(after)s</strong>") % {
        "name": _show(r.title),
        "before": _show(shown_date(parse_iso(_at(spec, "from_lease_end")), "Y-m-d H:i")),
        "after": _show(shown_date(parse_iso(_at(spec, "lease_end")), "Y-m-d H:i")),
    }


def _security_group(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    text = _("Security group %(name)s") % {"name": _show(_at(spec, "name"))}
    if description := _at(spec, "description"):
        text += f": {_show(description)}"
    return text


def _other(r: ResourceRequest, spec: dict) -> str:
    _ = kept_translations()
    return _("%(kind)s of %(title)s") % {
        "kind": _show(r.get_kind_display()),
        "title": _show(r.title),
    }


_WHAT: dict[str, Callable[[ResourceRequest, dict], str]] = {
    Kind.SERVER: _server,
    Kind.NETWORK: _network,
    Kind.SERVER_RESIZE: _resize,
    Kind.SECURITY_GROUP_RULE: _rule,
    Kind.SECURITY_GROUP_RULE_REMOVE: _in_group,
    Kind.VOLUME: _volume,
    Kind.VOLUME_ATTACH: _volume_action,
    Kind.VOLUME_DETACH: _volume_action,
    Kind.VOLUME_EXTEND: _volume_action,
    Kind.VOLUME_DECOMMISSION: _volume_action,
    Kind.QUOTA_CHANGE: _quota_change,
    Kind.LEASE_EXTEND: _lease_extend,
    Kind.SECURITY_GROUP: _security_group,
}
