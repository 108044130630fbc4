"""The rows of a request's quota-impact table, built in Python.

The approvals inbox shows a table per request, a row per quota dimension the request needs,
each with four amounts in their units, a bar and a verdict. As template markup that was about
15 nodes a row: 13 ms of a 20-request inbox page. Built here it is a few string joins, with the
same words from the same catalogue (``fits``, ``over by %(over)s``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe

from portal.i18n import kept_translations
from portal.templatetags.portal_tags import esc, quantity
from provisioning.plans import QuotaImpact

register = template.Library()


@register.simple_tag
def impact_rows(impact: Iterable[QuotaImpact]) -> SafeString:
    """One ``<tr>`` per dimension: used / limit now, after approval with a bar, and whether it
    fits. Every text that reaches the page is escaped."""
    _ = kept_translations()
    rows = []
    for q in impact:
        d = q.dimension
        limit = esc(quantity(q.limit, d))
        if q.fits:
            verdict = esc(_("fits"))
        else:
            over = _("over by %(over)s") % {"over": quantity(q.over_by, d)}
            verdict = f'<strong class="error">{esc(over)}</strong>'
        rows.append(
            f'<tr class="{"fits" if q.fits else "over"}"><th scope="row">{esc(d.label)}</th>'
            f"<td>{esc(quantity(q.used, d))} / {limit}</td>"
            f"<td>{esc(quantity(q.after, d))} / {limit} "
            '<span class="quota-track" aria-hidden="true">'
            f'<span class="quota-fill pct-{int(q.percent_after)}"></span></span></td>'
            f"<td>{verdict}</td></tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308 - every text above is escaped
