"""The inbox card's head and decision form built in Python (``decision_cards``) say what the
template markup they replace said: in each language, with and without errors, escaped."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.utils import translation

from provisioning.models import ResourceRequest
from provisioning.templatetags.decision_cards import card_head, decision_form
from tests.pages.conftest import submit_server

pytestmark = pytest.mark.django_db

#: The markup the inbox rendered before, kept as the reference.
TEMPLATE_HEAD = Template(
    "{% load portal_tags i18n %}"
    '  <div class="inbox-head">\n'
    '    {% if selectable %}<input type="checkbox" name="requests" value="{{ r.pk '
    '}}" form="bulk-form" id="pick-{{ r.pk }}" aria-label="{% blocktranslate trimmed '
    "with pk=r.pk %}Select request #{{ pk }} for bulk approval{% endblocktranslate "
    '%}">{% endif %}\n'
    '    <h3><a href="{{ r.get_absolute_url }}">#{{ r.pk }} {{ r.get_kind_display '
    "}}: {{ r.title }}</a></h3>\n"
    "    {% domain_badge r.allocation.region.domain %}\n"
    '    <span class="muted">{% blocktranslate trimmed with '
    "stage=r.get_pending_stage_display|lower %}waiting for the {{ stage }}{% "
    "endblocktranslate %}</span>\n"
    "  </div>\n"
)
TEMPLATE_FORM = Template(
    "{% load i18n %}"
    "  {% url 'approval-decide' r.pk as decide_url %}<form class=\"decide\" "
    'method="post" action="{{ decide_url }}" hx-post="{{ decide_url }}" '
    'hx-target="#request-{{ r.pk }}" hx-swap="outerHTML" hx-disabled-elt="find '
    'fieldset">\n'
    "    {% csrf_token %}\n"
    '    {% if errors and errors.general %}<p class="error" role="alert">{{ '
    'errors.general|join:" " }}</p>{% endif %}\n'
    '    <label for="comment-{{ r.pk }}">{% blocktranslate trimmed with pk=r.pk '
    '%}Comment on #{{ pk }}{% endblocktranslate %} <span class="muted">{% translate '
    '"(required to reject; the requester reads it)" %}</span></label>\n'
    '    <textarea id="comment-{{ r.pk }}" name="comment" rows="2"{% if errors and '
    'errors.comment %} aria-invalid="true" aria-describedby="comment-{{ r.pk '
    '}}-error" autofocus{% endif %}>{{ comment }}</textarea>\n'
    '    {% if errors and errors.comment %}<p class="field-error" id="comment-{{ '
    'r.pk }}-error" role="alert">{{ errors.comment|join:" " }}</p>{% endif %}\n'
    '    <fieldset class="buttons">\n'
    '      <legend class="visually-hidden">{% blocktranslate trimmed with pk=r.pk '
    "%}Decision on request #{{ pk }}{% endblocktranslate %}</legend>\n"
    '      <button type="submit" name="decision" value="approve" class="primary">{% '
    "blocktranslate trimmed with pk=r.pk %}Approve #{{ pk }}{% endblocktranslate "
    "%}</button>\n"
    '      <button type="submit" name="decision" value="reject" class="danger">{% '
    "blocktranslate trimmed with pk=r.pk %}Reject #{{ pk }}{% endblocktranslate "
    "%}</button>\n"
    "    </fieldset>\n"
    "  </form>\n"
)
TOKEN = "tok3n<&>"


def same(html: str) -> str:
    """Markup with its whitespace between tags left out (the browser reads it the same)."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


def hostile(shop) -> ResourceRequest:
    request = submit_server(shop, name="app")
    request.spec["name"] = 'x"><img src=x onerror=alert(1)>'  # as if it had got past the form
    return request


@pytest.mark.parametrize("language", ["en-gb", "fr"])
@pytest.mark.parametrize("selectable", [True, False])
def test_head_is_what_the_template_rendered(shop, language, selectable):
    request = hostile(shop)
    with translation.override(language):
        expected = TEMPLATE_HEAD.render(Context({"r": request, "selectable": selectable}))
        assert same(card_head(request, selectable)) == same(expected)
    assert "<img" not in expected and ("pick-" in expected) == selectable


@pytest.mark.parametrize("language", ["en-gb", "fr"])
@pytest.mark.parametrize(
    "errors",
    [None, {}, {"general": ["Not <yours>.", "Again"]}, {"comment": ["Say why <b>."]}],
)
def test_form_is_what_the_template_rendered(shop, language, errors):
    request = hostile(shop)
    comment = "</textarea><script>alert(1)</script>"
    context = {"r": request, "errors": errors, "comment": comment, "csrf_token": TOKEN}
    with translation.override(language):
        expected = TEMPLATE_FORM.render(Context(context))
        built = decision_form(Context(context), request, errors, comment)
        assert same(built) == same(expected)
    assert "<script>" not in expected and "tok3n&lt;&amp;&gt;" in expected
    assert ("aria-invalid" in expected) == bool(errors and errors.get("comment"))
    assert ("Rejeter" if language == "fr" else "Reject") in expected


def test_no_token_no_hidden_field(shop):
    request = submit_server(shop)
    assert "csrfmiddlewaretoken" not in decision_form(Context({}), request)
