"""The access-filtered viewset every API endpoint is built on."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from tenants.access import Action


class RestrictedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Lists and details only what the caller may see; anything else answers 404.

    Subclasses name a ``queryset`` whose model declares ``access_paths``; the viewset narrows it
    with the access layer on every request, the same filter the pages use.
    """

    access_action = Action.VIEW
    ordering_fields: list[str] = ["id"]
    ordering = ["id"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return queryset.restrict(self.request.user, self.access_action)
