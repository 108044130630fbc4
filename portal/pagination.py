"""Keyset pagination and bounded counts: lists that read what they show, at any depth.

A page is "the N rows after this one in this order": the cursor carries the sort key of the row
the page starts after, and the query asks for rows past it with a condition an index can start
from. A deep page costs what the first costs, and rows inserted meanwhile shift nothing (OFFSET
pagination re-reads every skipped row and repeats or skips rows when the list moves).

Counts are exact up to ``PORTAL_LIST_COUNT_CAP`` rows and said as "10,000+" beyond it, so no
list counts a million rows to print a number nobody reads exactly; a long list's count is
counted once for everyone paging through it in the next seconds ("about 9,800").

The API pagination (``portal.api.pagination``) and the pages (``KeysetPageMixin`` users) share
this module.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import F, Model, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import OrderBy
from django.utils.translation import gettext as _


class InvalidCursor(ValueError):
    """A cursor that was not made by this portal for this list (or no longer fits it)."""


def first_rows(queryset: QuerySet, shown: int) -> tuple[list, bool]:
    """The first ``shown`` rows of a list a page shows in part, and whether there are more:
    one more row read, never a count (the rest is a link to the whole list)."""
    rows = list(queryset[: shown + 1])
    return rows[:shown], len(rows) > shown


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(values: Sequence[Any], *, reverse: bool = False) -> str:
    """The cursor of a page that starts after (``reverse``: ends before) the row whose sort key
    is ``values``. No values: the first page (``reverse``: the last)."""
    data = {"k": [_jsonable(v) for v in values], "r": int(reverse)}
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[list[Any], bool]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values, reverse = data["k"], bool(data.get("r"))
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidCursor(_("This cursor is not one the portal made; start from the first page."))
    if not isinstance(values, list):
        raise InvalidCursor(_("This cursor is not one the portal made; start from the first page."))
    return values, reverse


def count_cap() -> int:
    return settings.PORTAL_LIST_COUNT_CAP


@dataclass(frozen=True)
class BoundedCount:
    """How many rows a list holds: exact up to the cap, else "at least the cap"; ``recent`` when
    the figure is one counted in the last seconds (a long list: see ``bounded_count``)."""

    value: int
    exact: bool
    recent: bool = False

    def __str__(self) -> str:
        if not self.exact:
            return f"{self.value:,}+"
        return f"about {self.value:,}" if self.recent else f"{self.value:,}"

    @property
    def counted_now(self) -> bool:
        """Exact, and counted for this answer."""
        return self.exact and not self.recent


def bounded_count(queryset: QuerySet) -> BoundedCount:
    """``COUNT(*)`` over at most cap + 1 rows (one query: ``SELECT COUNT(*) FROM (... LIMIT)``).

    A count of ``PORTAL_LIST_COUNT_REMEMBER_FROM`` rows or more is kept for
    ``PORTAL_LIST_COUNT_MEMORY_SECONDS`` (in the shared cache) under the statement and its
    parameters, so the people and scripts paging through the same long list count it once, not
    on every page: counting 10,000 rows cost a list page three times what reading its rows did.
    Short lists, which are cheap to count, are always counted.
    """
    cap = count_cap()
    # The statement is compiled once, for the memory's key and for the count itself (compiling
    # an inbox's access filter costs more than counting its rows).
    limited = queryset.order_by().values("pk")[: cap + 1]
    try:
        sql, params = limited.query.get_compiler(limited.db).as_sql()
    except EmptyResultSet:  # a filter that matches nothing (an empty id list)
        return BoundedCount(0, True)
    seconds = settings.PORTAL_LIST_COUNT_MEMORY_SECONDS
    key = None
    if seconds > 0:
        digest = hashlib.blake2b(repr((limited.db, sql, params)).encode(), digest_size=20)
        key = f"portal:count:{digest.hexdigest()}"
        remembered = cache.get(key)
        if remembered is not None:
            return BoundedCount(min(remembered, cap), remembered <= cap, recent=True)
    with connections[limited.db].cursor() as cursor:
        # The text is the ORM's own compiled statement; every value in it is a bound parameter.
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS counted", params)  # noqa: S608
        found = cursor.fetchone()[0]
    if key is not None and found >= settings.PORTAL_LIST_COUNT_REMEMBER_FROM:
        cache.set(key, found, seconds)
    return BoundedCount(min(found, cap), found <= cap)


# --- ordering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One column of a list's order: an ORM path and its direction."""

    path: str
    descending: bool

    @classmethod
    def parse(cls, term: str) -> Key:
        return cls(term.removeprefix("-"), term.startswith("-"))


def ordering_of(queryset: QuerySet) -> list[Key]:
    """The queryset's ordering as keys; it must be plain field paths ending with the pk."""
    terms = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    keys = []
    for term in terms:
        if isinstance(term, OrderBy) and isinstance(term.expression, F):
            keys.append(Key(term.expression.name, term.descending))
        elif isinstance(term, str):
            keys.append(Key.parse(term))
        else:
            raise ValueError(f"Keyset pagination needs plain field orderings, not {term!r}.")
    if not keys or keys[-1].path not in ("id", "pk"):  # see ordered_to_the_row
        raise ValueError("Keyset pagination needs an ordering that ends with the primary key.")
    return keys


def _field_at(model: type[Model], path: str):
    field = None
    for part in path.split(LOOKUP_SEP):
        field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return field


def value_at(obj: Any, path: str) -> Any:
    for part in path.split(LOOKUP_SEP):
        obj = getattr(obj, part)
    return obj


def _typed(model: type[Model], keys: list[Key], values: list[Any]) -> list[Any]:
    if len(values) != len(keys):
        raise InvalidCursor(_("This cursor belongs to another order of the list; start again."))
    typed = []
    for key, value in zip(keys, values, strict=True):
        try:
            field = _field_at(model, key.path)
            if field.is_relation:
                field = field.target_field
            typed.append(field.to_python(value))
        except (FieldDoesNotExist, ValidationError, ValueError, TypeError) as err:
            raise InvalidCursor(_("This cursor does not fit this list; start again.")) from err
    return typed


def after(keys: list[Key], values: list[Any]) -> Q:
    """Rows past ``values`` in the order of ``keys``: (k1 > v1) or (k1 = v1 and k2 > v2)...

    The first key's bound is repeated as a plain ``>=`` so the database can start an index scan
    there instead of filtering from the start.
    """
    *leading, last = zip(keys, values, strict=True)

    def beyond(key: Key, value: Any) -> Q:
        return Q(**{f"{key.path}__{'lt' if key.descending else 'gt'}": value})

    past = beyond(*last)
    for key, value in reversed(leading):
        past = beyond(key, value) | (Q(**{key.path: value}) & past)
    first = keys[0]
    start = Q(**{f"{first.path}__{'lte' if first.descending else 'gte'}": values[0]})
    return start & past


def _reversed(keys: list[Key]) -> list[Key]:
    return [Key(k.path, not k.descending) for k in keys]


def _order(keys: list[Key]) -> list[str]:
    return [f"{'-' if k.descending else ''}{k.path}" for k in keys]


def ordered_to_the_row(queryset: QuerySet) -> QuerySet:
    """``queryset`` in its order (or its model's), with the pk appended if it is not last."""
    terms = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if terms and isinstance(terms[-1], str) and terms[-1].lstrip("-") in ("id", "pk"):
        return queryset.order_by(*terms)
    last = terms[-1] if terms else "pk"
    descending = isinstance(last, str) and last.startswith("-")
    return queryset.order_by(*terms, "-pk" if descending else "pk")


@dataclass
class KeysetPage:
    """One page of a list, and the cursors of its neighbours (None: there is none)."""

    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    #: The whole list's size, when the caller counted it (pages show it).
    count: BoundedCount | None = None

    @property
    def has_other_pages(self) -> bool:
        return self.next_cursor is not None or self.previous_cursor is not None

    @property
    def last_cursor(self) -> str:
        return LAST_PAGE


def paged_by_sorting(queryset: QuerySet) -> QuerySet:
    """``queryset``, known to hold at most the count cap of rows, to be paged by sorting its rows
    rather than by walking the order's index.

    Asked for a page (a LIMIT), the planner walks the order's index hoping to meet the rows
    early; when they sit together far down it (names sharing a prefix) it reads hundreds of
    thousands of entries. Without the LIMIT it finds the few rows by their own index and sorts
    them.
    """
    queryset = queryset.all()
    queryset.query.keyset_sorts_rows = True  # kept by every clone of the query
    return queryset


def keyset_page(queryset: QuerySet, cursor: str | None, size: int) -> KeysetPage:
    """The page of ``queryset`` (ordered, the pk last) that ``cursor`` points at.

    ``size + 1`` rows past the cursor tell whether there is more beyond. The page's ids are
    chosen first, by a query that reads only the order's index (which covers the filters), then
    only those rows are read whole and joined to what they show: a narrow view of a wide table
    skips thousands of index entries, not thousands of table rows.
    """
    keys = ordering_of(queryset)
    values, backwards = decode_cursor(cursor) if cursor else ([], False)
    walk = _reversed(keys) if backwards else keys
    chosen = queryset.order_by(*_order(walk))
    if values:
        chosen = chosen.filter(after(walk, _typed(queryset.model, keys, values)))
    # Two statements, not ``pk IN (subquery)``: inside one statement the planner may estimate
    # the outer rows at one and run the LIMIT subquery once per candidate row (measured: 60 ms
    # for an inbox page that takes 2 ms this way).
    if getattr(queryset.query, "keyset_sorts_rows", False):
        ids = list(chosen.values_list("pk", flat=True))[: size + 1]
    else:
        ids = list(chosen.values_list("pk", flat=True)[: size + 1])
    more = len(ids) > size
    rows = list(queryset.filter(pk__in=ids[:size]).order_by(*_order(walk))) if ids else []
    if backwards:
        rows.reverse()

    def key_of(obj: Any) -> list[Any]:
        return [value_at(obj, k.path) for k in keys]

    if not rows:
        return KeysetPage([], None, None)
    if backwards:
        has_next, has_previous = bool(values), more
    else:
        has_next, has_previous = more, bool(values)
    return KeysetPage(
        rows,
        encode_cursor(key_of(rows[-1])) if has_next else None,
        encode_cursor(key_of(rows[0]), reverse=True) if has_previous else None,
    )


def page_for_people(
    queryset: QuerySet, cursor: str | None, size: int, *, count: BoundedCount | None = None
) -> KeysetPage:
    """The page a list page shows: as ``keyset_page``, with the list's bounded count (``count``
    if the caller has it), and the first page for a cursor that does not fit the list (an
    edited URL, a sort changed under it) where the API answers 400."""
    try:
        page = keyset_page(queryset, cursor, size)
    except InvalidCursor:
        page = keyset_page(queryset, None, size)
    page.count = count or bounded_count(queryset)
    return page


#: The cursor of a list's last page (no key: start from the end).
LAST_PAGE = encode_cursor([], reverse=True)
