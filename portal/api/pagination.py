"""Pagination shared by every list endpoint: keyset cursors, bounded counts, bounded offsets.

Every list answers ``{"count", "count_exact", "next", "previous", "results"}``. ``next`` and
``previous`` carry a ``cursor`` (see ``portal.pagination``): following them is as fast on page
20,000 as on page 1 and never repeats or skips a row while the list changes. ``?page=N`` is still
answered for clients written against page numbers, up to ``PORTAL_LIST_COUNT_CAP`` rows deep;
past that the answer is a 400 saying to follow the cursors. ``count`` is exact up to the cap;
beyond it ``count`` is the cap and ``count_exact`` is false. A long list's count may be the one
counted for an earlier page in the last seconds (``count_exact`` false as well).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from portal.pagination import (
    InvalidCursor,
    bounded_count,
    count_cap,
    encode_cursor,
    keyset_page,
    ordering_of,
    value_at,
)


class KeysetPagination(BasePagination):
    """Cursor pages by default; bounded page numbers when the client asks for ``page``."""

    page_size = 50
    max_page_size = 500
    cursor_query_param = "cursor"
    page_query_param = "page"
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [_("Give a whole number from 1.")]})
        return min(int(raw), self.max_page_size)

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list[Any]:
        self.request = request
        size = self.get_page_size(request)
        self.count = bounded_count(queryset)
        if self.page_query_param in request.query_params:
            return self._numbered(queryset, request, size)
        try:
            page = keyset_page(queryset, request.query_params.get(self.cursor_query_param), size)
        except InvalidCursor as err:
            raise ValidationError({self.cursor_query_param: [str(err)]}) from None
        url = remove_query_param(request.build_absolute_uri(), self.page_query_param)
        self.next = page.next_cursor and replace_query_param(
            url, self.cursor_query_param, page.next_cursor
        )
        self.previous = page.previous_cursor and replace_query_param(
            url, self.cursor_query_param, page.previous_cursor
        )
        return page.rows

    def _numbered(self, queryset: QuerySet, request: Request, size: int) -> list[Any]:
        raw = request.query_params[self.page_query_param]
        if not raw.isdigit() or int(raw) < 1:
            raise NotFound(_("Invalid page."))
        number = int(raw)
        start = (number - 1) * size
        if start + size > count_cap():
            message = _(
                "Page numbers reach the first %(count)s rows; follow the `next` links "
                "(cursors) to go deeper."
            ) % {"count": f"{count_cap():,}"}
            raise ValidationError({self.page_query_param: [message]})
        rows = list(queryset[start : start + size + 1])
        if not rows and number > 1:
            raise NotFound(_("Invalid page."))
        url = remove_query_param(request.build_absolute_uri(), self.cursor_query_param)
        more = len(rows) > size
        self.next = None
        if more and start + 2 * size <= count_cap():
            self.next = replace_query_param(url, self.page_query_param, number + 1)
        elif more:  # the next page is past the cap: carry on with a cursor
            last = encode_cursor([value_at(rows[size - 1], k.path) for k in ordering_of(queryset)])
            self.next = replace_query_param(
                remove_query_param(url, self.page_query_param), self.cursor_query_param, last
            )
        self.previous = None
        if number > 1:
            self.previous = (
                replace_query_param(url, self.page_query_param, number - 1)
                if number > 2
                else remove_query_param(url, self.page_query_param)
            )
        return rows[:size]

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.count.value,
                "count_exact": self.count.counted_now,
                "next": self.next,
                "previous": self.previous,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "count_exact", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "Rows in the list, exact up to the cap (see count_exact).",
                    "example": 123,
                },
                "count_exact": {
                    "type": "boolean",
                    "description": "False when the list holds more rows than the count cap "
                    "(count is then the cap, and the list is longer), or when a long list's "
                    "count was counted in the last seconds for an earlier page.",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: the cursor in a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, at most "
                f"{self.max_page_size}).",
                "schema": {"type": "integer"},
            },
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number, for clients that page by number: only within "
                "the first rows of the list (the count cap); follow `next` to go deeper.",
                "schema": {"type": "integer"},
            },
        ]
