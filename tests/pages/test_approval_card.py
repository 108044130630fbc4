"""The whole inbox card built in Python (``approval_card``) says what the row template it
replaces said (``reference/approval_row.html``): with and without a delegation and a quota
impact, with the errors of a decision sent back, in each language and a far time zone, escaped.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from provisioning.plans import attach_quota_impact
from tenants.models import Delegation
from tests.pages.conftest import submit_server
from tests.pages.test_request_summary import same

pytestmark = pytest.mark.django_db

REFERENCE = Template((Path(__file__).parent / "reference" / "approval_row.html").read_text())
BUILT = Template("{% load decision_cards %}{% approval_card r selectable errors comment %}")
EVIL = '<img src=x onerror=alert(1)>"&'
TOKEN = "tok3n<&>"


@pytest.fixture
def waiting(shop):
    """A request with hostile words where people may write them, its quota impact read."""
    shop.tenant.name = f"Blue {EVIL}"
    shop.tenant.save()
    request = submit_server(shop, name="app")
    request.spec["name"] = EVIL  # as if it had got past the form
    return attach_quota_impact([request])[0]


def away(shop, name: str = EVIL) -> Delegation:
    shop.approver.first_name = name
    return Delegation(
        delegator=shop.approver, delegate=shop.approver2, starts_at=timezone.now(),
        ends_at=timezone.now().replace(microsecond=0) + timedelta(days=3, minutes=7),
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en-gb", "fr"])
@pytest.mark.parametrize("delegated", [False, True])
@pytest.mark.parametrize("impact", [True, False])
@pytest.mark.parametrize(
    ("selectable", "errors", "comment"),
    [
        (True, None, ""),
        (False, {"general": ["Not <yours>.", "Again"]}, "</textarea><script>x</script>"),
        (False, {"comment": ["Say why <b>."]}, ""),
    ],
)
def test_card_is_what_the_row_template_rendered(
    shop, waiting, language, delegated, impact, selectable, errors, comment
):
    waiting.standing_in_for = away(shop) if delegated else None
    if not impact:
        waiting.quota_impact = []
    context = {
        "r": waiting, "selectable": selectable, "errors": errors, "comment": comment,
        "decided": False, "csrf_token": TOKEN,
    }  # fmt: skip
    with translation.override(language), timezone.override("Pacific/Chatham"):
        expected = REFERENCE.render(Context(context))
        built = BUILT.render(Context(context))
    assert same(built) == same(expected)
    assert "<img" not in expected and "<script>" not in expected
    assert ('class="delegated"' in built) == delegated
    assert ('class="impact"' in built) == impact


def test_a_delegator_without_a_name_is_shown_by_username(shop, waiting):
    waiting.standing_in_for = away(shop, name="")
    with timezone.override("Pacific/Chatham"):
        built = BUILT.render(Context({"r": waiting, "selectable": True}))
        until = timezone.localtime(waiting.standing_in_for.ends_at).strftime("%Y-%m-%d %H:%M")
    assert f"You decide this for {shop.approver.username}, away until {until} +1345." in built


def test_the_card_speaks_french(shop, waiting):
    waiting.standing_in_for = away(shop, name="Arno")
    with translation.override("fr"):
        built = BUILT.render(Context({"r": waiting, "selectable": True}))
    assert "Arno" in built and "Vous décidez" in built and "Impact sur le quota dans" in built
