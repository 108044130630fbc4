"""The tags that build a list's repeated markup in Python say what the templates they replace
said: the same elements, escaped, the chosen option selected."""

from __future__ import annotations

from django.template import Context, Template

from portal.templatetags.portal_tags import domain_badge, select_options
from tenants.models import SecurityDomain

LOOP = Template(
    '{% for slug, name in pairs %}<option value="{{ slug }}"{% if chosen == slug %} selected'
    "{% endif %}>{{ name }}</option>{% endfor %}"
)
PAIRS = [("unit-1", "Unit <1>"), ("o'neil", 'The "O\'Neil" & Co'), ("unit-3", "Été")]


def test_options_are_what_the_template_loop_rendered():
    for chosen in ("", "unit-1", "o'neil", "unit-3", "not-a-slug"):
        expected = LOOP.render(Context({"pairs": PAIRS, "chosen": chosen}))
        assert select_options(PAIRS, chosen) == expected


def test_options_escape_what_reaches_the_page():
    html = select_options([('"><script>x</script>', "<b>")], None)
    assert "<script>" not in html and "<b>" not in html
    assert html.count("<option") == 1


def test_only_the_chosen_option_is_selected():
    html = select_options(PAIRS, "unit-3")
    assert html.count(" selected") == 1
    assert '<option value="unit-3" selected>' in html
    assert " selected" not in select_options(PAIRS, None)


def test_a_badge_shows_the_domain_marking_escaped():
    domain = SecurityDomain(pk=7, name='Mission "A" <secret>', marking="NS & R")
    assert domain_badge(domain) == (
        '<span class="domain-badge marking-7" title="Mission &quot;A&quot; &lt;secret&gt;">'
        "NS &amp; R</span>"
    )
