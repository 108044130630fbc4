"""Serializers that only show objects: fields mapped once per class, rows read by plan.

A page of 50 servers took 7 ms to serialize, more than its queries: DRF walks each of the 22
fields of each row through ``get_attribute`` (a loop of ``isinstance`` and callable checks per
attribute) and ``to_representation``. ``ShownModelSerializer`` works out once per serializer
instance (a list's rows share one) how to read each field: the attribute path, then ``str``,
``int``, the field's own ``to_representation``, the related object's key, the nested
serializer. Whatever the plan does not know, and any row where a path meets ``None`` midway or a
callable, goes DRF's own way for that field, so the output is DRF's to the byte
(``tests/api/test_representation.py`` compares both on every shape).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import ISO_8601, relations, serializers
from rest_framework import fields as f
from rest_framework.fields import SkipField, is_simple_callable
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings


class _DrfWay(Exception):
    """This field of this row is read the way DRF reads it."""


#: Fields whose ``to_representation`` needs nothing but the value.
_PLAIN = (
    f.BooleanField,
    f.DateField,
    f.DateTimeField,
    f.DecimalField,
    f.FloatField,
    f.IntegerField,
    f.JSONField,
    f.ChoiceField,
    f.UUIDField,
    f.DurationField,
    f.CharField,
)


def _simple_callable(value: Any) -> bool:
    """A value DRF would call rather than show (its own test, only for callables: cheap)."""
    return callable(value) and is_simple_callable(value)


def _path(attrs: list[str]) -> Callable[[Any], Any]:
    if len(attrs) == 1:
        (name,) = attrs

        def attribute(instance: Any) -> Any:
            try:
                value = getattr(instance, name)
            except (AttributeError, KeyError, ObjectDoesNotExist) as exc:
                raise _DrfWay from exc
            if _simple_callable(value):
                raise _DrfWay
            return value

        return attribute

    def follow(instance: Any) -> Any:
        value = instance
        last = len(attrs) - 1
        try:
            for i, attr in enumerate(attrs):
                value = getattr(value, attr)
                if (value is None and i < last) or _simple_callable(value):
                    raise _DrfWay
        except (AttributeError, KeyError, ObjectDoesNotExist) as exc:
            raise _DrfWay from exc
        return value

    return follow


def _reader(field: f.Field) -> Callable[[Any], Any] | None:
    """How to show ``field`` of a row, or None: always DRF's way."""
    attrs = list(field.source_attrs)
    kind = type(field)
    if kind is f.SerializerMethodField:
        return field.to_representation
    if not attrs or field.source == "*":
        return None
    if getattr(field, "shown_as_read", False):  # the value is already what is shown
        return _path(attrs)
    if (
        kind is relations.ManyRelatedField
        and type(field.child_relation) is relations.PrimaryKeyRelatedField
        and field.child_relation.pk_field is None
        and len(attrs) == 1
    ):
        name = attrs[0]

        def many_keys(instance: Any) -> list[Any]:
            if instance.pk is None:
                return []
            return [related.pk for related in getattr(instance, name).all()]

        return many_keys
    if kind is relations.PrimaryKeyRelatedField and field.pk_field is None and len(attrs) == 1:
        name = attrs[0]

        def key(instance: Any) -> Any:
            value = instance.serializable_value(name)
            if _simple_callable(value):
                raise _DrfWay
            return value

        return key
    follow = _path(attrs)
    if isinstance(field, ShownModelSerializer) and not getattr(field, "many", False):
        show = field.to_representation
    elif kind is f.DateTimeField and _iso(field):
        show = _moment(field)
    elif kind is f.CharField:
        show = str
    elif kind is f.IntegerField:
        show = int
    elif kind in _PLAIN:
        show = field.to_representation
    else:
        return None

    def read(instance: Any) -> Any:
        value = follow(instance)
        return None if value is None else show(value)

    return read


def _iso(field: f.DateTimeField) -> bool:
    output = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return isinstance(output, str) and output.lower() == ISO_8601


def _moment(field: f.DateTimeField) -> Callable[[Any], Any]:
    """DRF's ISO 8601 output of an aware datetime, in the zone it would use, looked up once.

    DRF asks for the current time zone for every value (a context-local read): 100 of them on a
    page of 50 servers. The zone cannot change while one serializer shows its rows. Anything
    but an aware datetime goes DRF's way.
    """
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None:
        return field.to_representation

    def show(value: Any) -> Any:
        if type(value) is not datetime or value.utcoffset() is None:
            raise _DrfWay
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError as exc:
            raise _DrfWay from exc
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return show


class ShownModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer for output only. Its fields are mapped from the model once per class
    (DRF maps them on every instantiation: field kwargs, choices, validators) and each instance
    gets its own copy, as DRF copies declared fields; its rows are read by plan (above). Only for
    serializers whose fields do not vary with the request."""

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        built = cls.__dict__.get("_fields_mapped_once")
        if built is None:
            built = super().get_fields()
            cls._fields_mapped_once = built
        return copy.deepcopy(built)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        readers = self.__dict__.get("_readers")
        if readers is None:
            readers = [(fd.field_name, _reader(fd), fd) for fd in self._readable_fields]
            self.__dict__["_readers"] = readers
        shown: dict[str, Any] = {}
        for name, read, field in readers:
            if read is not None:
                try:
                    shown[name] = read(instance)
                    continue
                except _DrfWay:
                    pass
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            shown[name] = None if check is None else field.to_representation(attribute)
        return shown
