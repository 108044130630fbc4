"""The quota-impact rows built in Python say what the template markup they replace said, in
each language, over quota or not, and escape what reaches the page."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from provisioning.plans import QuotaImpact
from provisioning.templatetags.quota_impact import impact_rows
from tenants.quotas import DIMENSIONS, QuotaDimension

#: The markup the inbox rendered before, kept as the reference.
TEMPLATE_ROWS = Template(
    "{% load portal_tags i18n %}{% for q in impact %}"
    '<tr class="{% if q.fits %}fits{% else %}over{% endif %}"><th scope="row">'
    "{{ q.dimension.label }}</th><td>{{ q.used|quantity:q.dimension }} / "
    "{{ q.limit|quantity:q.dimension }}</td><td>{{ q.after|quantity:q.dimension }} / "
    "{{ q.limit|quantity:q.dimension }} "
    '<span class="quota-track" aria-hidden="true"><span class="quota-fill '
    'pct-{{ q.percent_after }}"></span></span></td><td>{% if q.fits %}{% translate "fits" %}'
    '{% else %}<strong class="error">{% blocktranslate trimmed with '
    "over=q.over_by|quantity:q.dimension %}over by {{ over }}{% endblocktranslate %}"
    "</strong>{% endif %}</td></tr>{% endfor %}"
)


def impacts() -> list[QuotaImpact]:
    by_key = {d.key: d for d in DIMENSIONS}
    return [
        QuotaImpact(by_key["instances"], used=3, needed=2, limit=10),
        QuotaImpact(by_key["vcpus"], used=30, needed=8, limit=32),
        QuotaImpact(by_key["ram_mb"], used=65536, needed=16384, limit=65536),
        QuotaImpact(by_key["gigabytes"], used=0, needed=500, limit=0),
    ]


@pytest.mark.parametrize("language", ["en-gb", "fr"])
def test_rows_are_what_the_template_rendered(language):
    with translation.override(language):
        expected = TEMPLATE_ROWS.render(Context({"impact": impacts()}))
        assert str(impact_rows(impacts())) == expected
    assert expected.count("<tr") == 4 and expected.count('class="over"') == 3
    assert ("dépassement de" if language == "fr" else "over by") in expected


def test_rows_escape_a_dimension_label():
    hostile = QuotaDimension("x", "<img src=x onerror=alert(1)>", "<u>")
    html = impact_rows([QuotaImpact(hostile, used=1, needed=5, limit=2)])
    assert "<img" not in html and "<u>" not in html
    assert "&lt;img" in html and 'class="over"' in html


def test_no_impact_no_rows():
    assert impact_rows([]) == ""
