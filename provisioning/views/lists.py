"""The list pages' shared machinery: access-filtered, narrowed by the API's FilterSet, sorted by a
whitelisted column, counted within bounds and paged by keyset."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

from portal.pagination import bounded_count
from portal.views import RestrictedListView
from provisioning.selectors import allocation_choices


class FilteredListView(RestrictedListView):
    """A restricted list narrowed by the model's FilterSet and sorted by a whitelisted column.

    Columns of the row itself sort at any size (each has an index in the list's order); columns
    of related rows (tenant, site, domain) sort a list of up to ``PORTAL_LIST_COUNT_CAP`` rows,
    and are offered once the filters have narrowed it that far.
    """

    filterset_class: type
    #: ``?sort=`` value -> ORM ordering; a leading ``-`` on the value sorts descending.
    sort_fields: dict[str, str] = {}
    #: The sort values that need the list narrowed first (they order by another table).
    narrow_sorts = frozenset({"tenant", "site", "domain"})
    #: What the status filter offers (the cloud's statuses, not a scan of the list).
    statuses: tuple[str, ...] = ()
    default_sort = "name"
    paginate_by = 25

    def get_queryset(self) -> QuerySet:
        self.unfiltered = super().get_queryset()
        self.given = self.given_filters()
        self.filterset = self.filterset_class(self.given or None, queryset=self.unfiltered)
        queryset = self.filterset.qs if self.filterset.is_bound else self.unfiltered
        self.count = bounded_count(queryset)
        column = self.sort.removeprefix("-")
        order = self.sort_fields[column]
        prefix = "-" if self.sort.startswith("-") else ""
        return queryset.order_by(f"{prefix}{order}", f"{prefix}id")

    def given_filters(self) -> QueryDict:
        """The query string without its empty fields: a filter form sends every field, and
        "any state" (``state=``) is no choice to refuse."""
        data = self.request.GET.copy()
        for key in list(data):
            values = [value for value in data.getlist(key) if value != ""]
            if values:
                data.setlist(key, values)
            else:
                del data[key]
        return data

    @property
    def sort(self) -> str:
        wanted = self.request.GET.get("sort", self.default_sort)
        column = wanted.removeprefix("-")
        if column not in self.sort_fields or column in self.unavailable_sorts:
            return self.default_sort
        return wanted

    @property
    def unavailable_sorts(self) -> frozenset[str]:
        count = getattr(self, "count", None)
        return self.narrow_sorts if count is not None and not count.exact else frozenset()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        choices = allocation_choices(self.request.user)
        choices["statuses"] = self.statuses
        kwargs.update(
            filterset=self.filterset,
            choices=choices,
            # Narrowed by any of the filterset's filters (the empty state says so).
            filtered=any(name in self.filterset.filters for name in self.given),
            sort=self.sort,
            columns=self.sort_columns(),
        )
        return super().get_context_data(**kwargs)

    def sort_columns(self) -> dict[str, dict[str, str]]:
        """Per sortable column: the ``sort`` value its header link sets, and its aria-sort."""
        current, descending = self.sort.removeprefix("-"), self.sort.startswith("-")
        columns = {}
        for column in self.sort_fields:
            if column in self.unavailable_sorts:
                columns[column] = {"next": "", "aria": "none"}
            elif column == current:
                columns[column] = {
                    "next": column if descending else f"-{column}",
                    "aria": "descending" if descending else "ascending",
                }
            else:
                columns[column] = {"next": column, "aria": "none"}
        return columns
