"""An approvals-inbox card, built in Python.

Each card has a head (the tick box for bulk approval, the title, the domain and the stage it
waits at), the request's summary (``request_summary``), its quota impact (``quota_impact``) and
a decision form (comment, approve, reject). As template markup the head and form were about
forty nodes a card, with five translation tags each: 5 of the 12 ms the inbox spent on its
twenty cards. Built here they are a few string joins, with the same words from the same
catalogue; ``tests/pages/test_decision_cards.py`` holds them to the markup they replace.

``approval_card`` puts the parts together. The card was a template included once a card,
with the delegation note, the impact table's caption and headers as translation tags: a
quarter of what the inbox page spent rendering, by profile.
``tests/pages/test_approval_card.py`` holds it to that template.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from portal.i18n import kept_translations
from portal.links import object_path
from portal.templatetags.portal_tags import domain_badge, esc
from provisioning.models import ResourceRequest
from provisioning.templatetags.quota_impact import impact_rows
from provisioning.templatetags.request_summary import request_summary, shown_date

register = template.Library()


@register.simple_tag
def card_head(r: ResourceRequest, selectable: bool = False) -> SafeString:
    """The card's head: what is asked, where, and at which stage it waits."""
    _ = kept_translations()
    pk = esc(r.pk)
    pick = ""
    if selectable:
        label = _("Select request #%(pk)s for bulk approval") % {"pk": pk}
        pick = (
            f'<input type="checkbox" name="requests" value="{pk}" form="bulk-form" '
            f'id="pick-{pk}" aria-label="{label}">'
        )
    waiting = _("waiting for the %(stage)s") % {
        "stage": esc(str(r.get_pending_stage_display()).lower())
    }
    return mark_safe(  # noqa: S308 - every value is escaped; the words are the catalogue's
        f'<div class="inbox-head">\n    {pick}\n'
        f'    <h3><a href="{esc(r.get_absolute_url())}">#{pk} '
        f"{esc(r.get_kind_display())}: {esc(r.title)}</a></h3>\n"
        f"    {domain_badge(r.allocation.region.domain)}\n"
        f'    <span class="muted">{waiting}</span>\n  </div>'
    )


@register.simple_tag(takes_context=True)
def decision_form(
    context: template.Context,
    r: ResourceRequest,
    errors: dict[str, list[Any]] | None = None,
    comment: str = "",
) -> SafeString:
    """Comment, approve, reject: posted by htmx, which swaps the card for its outcome."""
    _ = kept_translations()
    pk = esc(r.pk)
    url = esc(object_path("approval-decide", r.pk))
    token = context.get("csrf_token")
    csrf = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'
        if token and token != "NOTPROVIDED"
        else ""
    )
    general = comment_error = invalid = ""
    if errors and errors.get("general"):
        general = f'<p class="error" role="alert">{_joined(errors["general"])}</p>'
    if errors and errors.get("comment"):
        invalid = f' aria-invalid="true" aria-describedby="comment-{pk}-error" autofocus'
        comment_error = (
            f'<p class="field-error" id="comment-{pk}-error" role="alert">'
            f"{_joined(errors['comment'])}</p>"
        )
    # Each message in a statement of its own: the catalogue's extraction does not read calls
    # inside f-strings.
    comment_on = _("Comment on #%(pk)s") % {"pk": pk}
    required = esc(_("(required to reject; the requester reads it)"))
    decision_on = _("Decision on request #%(pk)s") % {"pk": pk}
    approve = _("Approve #%(pk)s") % {"pk": pk}
    reject = _("Reject #%(pk)s") % {"pk": pk}
    return mark_safe(  # noqa: S308 - every value is escaped; the words are the catalogue's
        f'<form class="decide" method="post" action="{url}" hx-post="{url}" '
        f'hx-target="#request-{pk}" hx-swap="outerHTML" hx-disabled-elt="find fieldset">\n'
        f"    {csrf}\n    {general}\n"
        f'    <label for="comment-{pk}">{comment_on} <span class="muted">{required}</span>'
        "</label>\n"
        f'    <textarea id="comment-{pk}" name="comment" rows="2"{invalid}>{esc(comment)}'
        "</textarea>\n"
        f"    {comment_error}\n"
        '    <fieldset class="buttons">\n'
        f'      <legend class="visually-hidden">{decision_on}</legend>\n'
        '      <button type="submit" name="decision" value="approve" class="primary">'
        f"{approve}</button>\n"
        '      <button type="submit" name="decision" value="reject" class="danger">'
        f"{reject}</button>\n"
        "    </fieldset>\n  </form>"
    )


@register.simple_tag(takes_context=True)
def approval_card(
    context: template.Context,
    r: ResourceRequest,
    selectable: bool = False,
    errors: dict[str, list[Any]] | None = None,
    comment: str = "",
) -> SafeString:
    """A request waiting for a decision, as the inbox lists it and as a decision sent back
    with errors shows it again: what, where, who stands in for whom, the quota it takes."""
    _ = kept_translations()
    parts = [f'<li class="inbox-item" id="request-{esc(r.pk)}">', card_head(r, selectable)]
    if delegation := getattr(r, "standing_in_for", None):
        delegator = delegation.delegator
        until = shown_date(delegation.ends_at, "Y-m-d H:i T")
        note = _("You decide this for %(who)s, away until %(until)s.") % {
            "who": esc(delegator.get_full_name() or delegator.username),
            "until": esc(until),
        }
        parts.append(f'<p class="delegated">{note}</p>')
    parts.append(request_summary(r))
    if r.quota_impact:
        allocation = r.allocation
        caption = _("Quota impact in %(tenant)s · %(region)s") % {
            "tenant": esc(allocation.tenant.name),
            "region": esc(allocation.region),
        }
        dimension, now, after = _("Dimension"), _("Used / limit now"), _("After approval")
        fits = _("Fits")
        parts.append(
            f'<table class="impact">\n<caption>{caption}</caption>\n'
            f'<thead><tr><th scope="col">{dimension}</th><th scope="col">{now}</th>'
            f'<th scope="col">{after}</th><th scope="col">'
            f'<span class="visually-hidden">{fits}</span></th></tr></thead>\n'
            f"<tbody>{impact_rows(r.quota_impact)}</tbody>\n</table>"
        )
    parts.append(decision_form(context, r, errors, comment))
    parts.append("</li>")
    card = "\n  ".join(parts)
    return mark_safe(card)  # noqa: S308 - every value is escaped; the words are the catalogue's


def _joined(messages: list[Any]) -> str:
    return esc(" ").join(esc(m) for m in messages)
