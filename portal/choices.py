"""Choice labels read from a table kept per field and language.

Django's ``get_<field>_display`` builds a dict of every choice of the field on each call, and
making each ``(value, lazy label)`` pair hashable translates every label: a request's kind has
about 25. A 20-row approvals page made 42 such calls, over a thousand catalogue lookups and 5 ms
of its time. The labels of a field in a language never change while the process runs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import models
from django.utils.translation import get_language


@cache
def _labels(field: models.Field, language: str | None) -> dict[Any, str]:
    return {value: str(label) for value, label in field.flatchoices}


class ChoiceLabels:
    """Mixed into a model (before ``models.Model``): its ``get_<field>_display`` methods answer
    from ``_labels``. Output is Django's: the label as text, or the value when it has none.
    For fields of plain values (text, numbers), which are what these models choose from."""

    def _get_FIELD_display(self, field: models.Field) -> Any:
        value = getattr(self, field.attname)
        return _labels(field, get_language()).get(value, value)
