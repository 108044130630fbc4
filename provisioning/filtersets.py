"""Filters shared by the pages and the API for requests, servers, networks, volumes and the
catalog.

Plain django-filter FilterSets: a page passes ``request.GET`` and its restricted queryset, the
API's filter backend does the same. They only narrow what the access layer already allowed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.inputs import IdFilter
from portal.pagination import bounded_count, paged_by_sorting
from provisioning.models import (
    Flavor,
    Image,
    Incident,
    Kind,
    Network,
    RequestState,
    ResourceRequest,
    SecurityGroup,
    Server,
    Volume,
    VolumeType,
)

#: Dates a period filter takes: far enough out for any question, near enough that midnight in
#: any zone (and the day after) is a datetime the database can hold.
DATE_BOUNDS = [MinValueValidator(date(1970, 1, 1)), MaxValueValidator(date(9000, 12, 31))]


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class RequestFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(
        choices=RequestState.choices, help_text=_("One or more states (repeat the parameter).")
    )
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices)
    tenant = django_filters.CharFilter(
        field_name="allocation__tenant__slug", label=_("Tenant (slug)")
    )
    site = django_filters.CharFilter(field_name="allocation__region__site__slug", label=_("Site"))
    domain = django_filters.CharFilter(
        field_name="allocation__region__domain__slug", label=_("Security domain (slug)")
    )
    allocation = IdFilter(field_name="allocation_id", label=_("Allocation id"))
    requester = django_filters.CharFilter(
        field_name="requester__username", label=_("Requester (username)")
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    created_from = django_filters.DateFilter(
        method="filter_created_from", label=_("Requested on or after (date, YYYY-MM-DD)"),
        validators=DATE_BOUNDS,
    )  # fmt: skip
    created_to = django_filters.DateFilter(
        method="filter_created_to", label=_("Requested on or before (date, YYYY-MM-DD)"),
        validators=DATE_BOUNDS,
    )  # fmt: skip
    q = django_filters.CharFilter(
        method="filter_q", label=_("The request's number (#123), or its name contains")
    )

    class Meta:
        model = ResourceRequest
        fields = [
            "state",
            "kind",
            "tenant",
            "site",
            "domain",
            "allocation",
            "requester",
            "created_after",
            "created_before",
            "created_from",
            "created_to",
            "q",
        ]

    def filter_created_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        # Midnight in the portal's zone: the created_at index serves the range (a __date
        # lookup would read every row).
        return queryset.filter(created_at__gte=_midnight(value))

    def filter_created_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__lt=_midnight(value + timedelta(days=1)))

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        number = value.removeprefix("#")
        if number.isdigit() and len(number) <= 18:
            return queryset.filter(pk=int(number))
        return queryset.filter(spec__name__icontains=value)


class _ResourceFilterSet(django_filters.FilterSet):
    tenant = django_filters.CharFilter(
        field_name="allocation__tenant__slug", label=_("Tenant (slug)")
    )
    site = django_filters.CharFilter(field_name="allocation__region__site__slug", label=_("Site"))
    domain = django_filters.CharFilter(
        field_name="allocation__region__domain__slug", label=_("Security domain (slug)")
    )
    allocation = IdFilter(field_name="allocation_id", label=_("Allocation id"))
    status = django_filters.CharFilter(method="filter_status", label=_("Status, e.g. ACTIVE"))
    q = django_filters.CharFilter(method="filter_q", label=_("Name contains"))

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The clouds spell statuses in capitals; comparing as stored lets the indexes that
        # carry the status answer (a case-blind comparison would read every row).
        return queryset.filter(status=value.upper())

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Name contains ``value``, or the cloud id is ``value``.

        A search matching fewer rows than a list counts is paged by sorting its matches
        (``portal.pagination.paged_by_sorting``), found by their own indexes (trigram on the
        name, the cloud id): asked for a page, the planner walked 615,000 entries of the name
        index to meet an operator's 51 matches sitting together (1.1 s). A search matching more
        is left to that walk, which then meets matches often.
        """
        matching = queryset.filter(Q(name__icontains=value) | Q(backend_id=value))
        return paged_by_sorting(matching) if bounded_count(matching).exact else matching


class ServerFilterSet(_ResourceFilterSet):
    class Meta:
        model = Server
        fields = ["tenant", "site", "domain", "allocation", "status", "q"]


class NetworkFilterSet(_ResourceFilterSet):
    class Meta:
        model = Network
        fields = ["tenant", "site", "domain", "allocation", "status", "q"]


class SecurityGroupFilterSet(_ResourceFilterSet):
    class Meta:
        model = SecurityGroup
        fields = ["tenant", "site", "domain", "allocation", "status", "q"]


class VolumeFilterSet(_ResourceFilterSet):
    server = IdFilter(field_name="server_id", label=_("Attached to (server id)"))

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Cinder spells its statuses in small letters (available, in-use).
        return queryset.filter(status=value.lower())

    class Meta:
        model = Volume
        fields = ["tenant", "site", "domain", "allocation", "status", "server", "q"]


class _CatalogFilterSet(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__slug", label=_("Region (slug)"))
    site = django_filters.CharFilter(field_name="region__site__slug", label=_("Site (slug)"))
    domain = django_filters.CharFilter(field_name="region__domain__slug", label=_("Domain (slug)"))
    active = django_filters.BooleanFilter()


class FlavorFilterSet(_CatalogFilterSet):
    class Meta:
        model = Flavor
        fields = ["region", "site", "domain", "active"]


class ImageFilterSet(_CatalogFilterSet):
    class Meta:
        model = Image
        fields = ["region", "site", "domain", "active"]


class VolumeTypeFilterSet(_CatalogFilterSet):
    class Meta:
        model = VolumeType
        fields = ["region", "site", "domain", "active"]


class IncidentFilterSet(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__slug")
    site = django_filters.CharFilter(field_name="region__site__slug")
    domain = django_filters.CharFilter(field_name="region__domain__slug")
    service = django_filters.CharFilter()
    open = django_filters.BooleanFilter(
        field_name="ended_at",
        lookup_expr="isnull",
        label=_("Only ongoing (true) or ended (false)."),
    )

    class Meta:
        model = Incident
        fields = ["region", "site", "domain", "service", "open"]
