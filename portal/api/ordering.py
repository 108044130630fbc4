"""Ordering that always ends with the primary key, so pages never overlap or skip rows."""

from __future__ import annotations

from rest_framework.filters import OrderingFilter


class StableOrderingFilter(OrderingFilter):
    """``?ordering=`` as DRF's, with the id appended when the ordering does not end uniquely."""

    def get_ordering(self, request, queryset, view) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not any(field.lstrip("-") in ("id", "pk") for field in ordering):
            # The tiebreak runs the way the last column does, so one index serves both.
            ordering.append("-id" if ordering and ordering[-1].startswith("-") else "id")
        return ordering
