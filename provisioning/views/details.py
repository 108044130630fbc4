"""The detail pages' shared machinery: a row read alone, its places from memory."""

from __future__ import annotations

from django.db.models import Model, QuerySet

from portal.views import RestrictedDetailView
from provisioning.listing import attach_allocations


class PlacedDetailView(RestrictedDetailView):
    """A detail page of a row under an allocation. The row is read alone (with what its
    ``queryset`` joins beyond the places) and its allocation, with the tenant, region, site and
    domain the page names, attached from memory (``attach_allocations``), as the lists' rows
    are: joined in, they made the row's statement a seven-table join."""

    def get_object(self, queryset: QuerySet | None = None) -> Model:
        return attach_allocations([super().get_object(queryset)], self.request.user)[0]
