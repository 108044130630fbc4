"""Serializers that only show objects, with their fields worked out once per class."""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers


class ShownModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer for output, whose fields are mapped from the model once per class.

    DRF maps every model field to a serializer field (kwargs, choices, validators) each time a
    ModelSerializer is instantiated, and a list instantiates one for its rows and one for each
    nested serializer. For a page of 50 servers that mapping was a third of the serializer's
    time. It depends on the class alone, so it is done once and every instance gets its own
    copy, as DRF copies declared fields. Only for serializers whose fields do not depend on the
    request (``get_fields`` is not overridden to vary them).
    """

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        built = cls.__dict__.get("_fields_mapped_once")
        if built is None:
            built = super().get_fields()
            cls._fields_mapped_once = built
        return copy.deepcopy(built)
