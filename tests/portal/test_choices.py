"""Choice labels from the per-field table say what Django's own ``get_<field>_display`` says."""

from __future__ import annotations

import pytest
from django.db import models
from django.utils import translation

from provisioning.models import Approval, Incident, ResourceRequest


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(
    ("model", "name"),
    [
        (ResourceRequest, "kind"),
        (ResourceRequest, "state"),
        (ResourceRequest, "pending_stage"),
        (Approval, "stage"),
        (Approval, "decision"),
        (Incident, "service"),
    ],
)
def test_every_label_is_djangos_in_each_language(model, name, language):
    field = model._meta.get_field(name)
    with translation.override(language):
        for value, _label in field.flatchoices:
            row = model(**{field.attname: value})
            shown = getattr(row, f"get_{name}_display")()
            assert shown == models.Model._get_FIELD_display(row, field)
            assert type(shown) is str


def test_labels_follow_the_active_language():
    row = ResourceRequest(state="rejected")
    with translation.override("en"):
        english = row.get_state_display()
    with translation.override("fr"):
        french = row.get_state_display()
    assert english == "Rejected"
    assert french != english


def test_a_value_without_a_label_shows_itself():
    row = ResourceRequest(kind="not-a-kind", state="")
    assert row.get_kind_display() == "not-a-kind"
    assert row.get_pending_stage_display() == models.Model._get_FIELD_display(
        row, ResourceRequest._meta.get_field("pending_stage")
    )
