"""Values of the portal's own making written into a statement's text instead of bound.

A statement a connection has run a few times is prepared, and PostgreSQL may then keep one plan
for any parameters (``DATABASE_PREPARE_THRESHOLD``). That plan knows a bound stage only as "one
of the values": it guessed that a tenth of a million requests wait at the operator's stage, and
walked every request by its key to find none (0.2 s an operator's inbox newest first). Written
into the text, the constant is known to the plan PostgreSQL keeps: the column's statistics say
how rare it is.

Only a member of a ``TextChoices`` may be written so, and only one whose value is a plain
identifier: no outside input reaches a statement's text.

The ids the access layer lists (``IdsIn``: the allocations a member may see) are written the
same way, for another reason. Bound, a hundred of them are a hundred parameters for Django to
prepare one by one and for psycopg to parse the statement around, every time: it remembers
the parse of statements with at most 50 (1.5 ms of a member's 50-row list page, measured).
Written in, the statement is one text psycopg parses once. Only ``int`` values are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models import F, Lookup
from django.db.models.expressions import Expression

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


class Literal(Expression):
    """``choice`` as a quoted SQL literal: ``Q(pending_stage=Literal(Stage.OPERATOR))``."""

    output_field = models.CharField()

    def __init__(self, choice: models.TextChoices) -> None:
        if not isinstance(choice, models.TextChoices) or not _IDENTIFIER.fullmatch(choice.value):
            raise ValueError(f"only a TextChoices member with a plain value: {choice!r}")
        super().__init__()
        self.value = choice.value

    def __repr__(self) -> str:
        return f"Literal({self.value!r})"

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        return f"'{self.value}'", []

    def get_group_by_cols(self) -> list:
        return []


class IdsIn(Lookup):
    """``column IN (1, 2, 3)`` with the ids in the text: ``Q(IdsIn("allocation", ids))``."""

    lookup_name = "ids_in"
    prepare_rhs = False

    def __init__(self, path: str, ids: Iterable[int]) -> None:
        ids = list(ids)
        written_ids(ids)  # refuses anything but ints now, not when compiled
        super().__init__(F(path), ids)

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        if not self.rhs:
            raise EmptyResultSet
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({written_ids(self.rhs)})", list(params)


def written_ids(ids: list[int]) -> str:
    """``1, 2, 3``: ids for a statement's text (a raw statement's ``IN (...)``); only ``int``
    values are accepted."""
    if any(type(i) is not int for i in ids):
        raise TypeError(f"only int ids are written into a statement: {ids[:5]!r}...")
    return ", ".join(map(str, ids))
