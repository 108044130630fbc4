"""JSON bodies within bounds: nesting and size are refused in the API's error shape."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from portal.api.errors import PayloadTooLarge

#: Deeper than any body the API takes (a spec is three levels); far below the parser's limit.
MAX_DEPTH = 32


def _depth(data: Any) -> int:
    """How deeply lists and objects nest in ``data`` (without recursion)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return deepest


def _too_deep() -> str:
    return _("JSON nested too deeply (at most %(depth)d levels).") % {"depth": MAX_DEPTH}


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) and JSON
    nested deeper than ``MAX_DEPTH`` (400) before they reach a serializer."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        if limit is not None and length and length.isdigit() and int(length) > limit:
            raise PayloadTooLarge()
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_too_deep()) from None
        if _depth(data) > MAX_DEPTH:
            raise ParseError(_too_deep())
        return data
