"""Bounds on what clients may send, so that bad input is a field error, never a database error.

Ids are the database's 64-bit keys: a larger number in a filter or a body would reach
PostgreSQL as an out-of-range value (a 500), so every place that takes an id takes it through
these.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from rest_framework import serializers

#: The largest id a row can have (``BigAutoField``).
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """A filter on an id: a whole number from 1 to ``MAX_ID``, else a field error."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def id_form_field(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def id_serializer_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
