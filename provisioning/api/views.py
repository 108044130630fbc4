"""Provisioning endpoints: thin configuration on the restricted viewsets, writes via services.

Objects are looked up through the access layer (out of reach: 404); what the caller may do to
an object they can see is the services' decision (refused: 403 with their message).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.viewsets import IdempotentMixin, RestrictedReadOnlyViewSet, RestrictedViewSet
from provisioning import filtersets, selectors, services
from provisioning.api import serializers as s
from provisioning.listing import attach_allocation_summaries, attach_network_ids, live_rules
from provisioning.models import (
    Flavor,
    Image,
    Incident,
    Kind,
    Network,
    Offering,
    ResourceRequest,
    SecurityGroup,
    Server,
    Volume,
    VolumeType,
)
from provisioning.showback import showback_report
from provisioning.sla import Grouping, LateCursor, Period, late_page, sla_report
from tenants.access import Action, is_operator
from tenants.models import Allocation, CloudRegion
from tenants.selectors import allocations_visible_to

ALLOCATION_RELATED = (
    "allocation__tenant",
    "allocation__region__site",
    "allocation__region__domain",
)

# --- catalog ------------------------------------------------------------------------------


class OfferingViewSet(RestrictedReadOnlyViewSet):
    """VM templates (a flavor and an image by name) and the regions you can use them in."""

    queryset = Offering.objects.all()
    serializer_class = s.OfferingSerializer
    ordering_fields = ["id", "name"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet:
        regions = CloudRegion.objects.restrict(self.request.user, Action.VIEW).order_by("slug")
        return (
            super()
            .get_queryset()
            .prefetch_related(Prefetch("regions", queryset=regions, to_attr="visible_regions"))
        )


class FlavorViewSet(RestrictedReadOnlyViewSet):
    """Flavors of the regions you can reach, as last synced from each cloud."""

    queryset = Flavor.objects.select_related("region")
    serializer_class = s.FlavorSerializer
    filterset_class = filtersets.FlavorFilterSet
    ordering_fields = ["id", "name", "vcpus", "ram_mb"]
    ordering = ["region_id", "vcpus", "ram_mb", "name", "id"]


class ImageViewSet(RestrictedReadOnlyViewSet):
    """Images of the regions you can reach, as last synced from each cloud."""

    queryset = Image.objects.select_related("region")
    serializer_class = s.ImageSerializer
    filterset_class = filtersets.ImageFilterSet
    ordering_fields = ["id", "name"]
    ordering = ["region_id", "name", "id"]


class VolumeTypeViewSet(RestrictedReadOnlyViewSet):
    """Volume types of the regions you can reach, as last synced from each cloud."""

    queryset = VolumeType.objects.select_related("region")
    serializer_class = s.VolumeTypeSerializer
    filterset_class = filtersets.VolumeTypeFilterSet
    ordering_fields = ["id", "name"]
    ordering = ["region_id", "name", "id"]


# --- requests -----------------------------------------------------------------------------

NETWORK_EXAMPLE = {
    "kind": "network",
    "allocation": 12,
    "justification": "Back-end network for the exercise planning tool.",
    "spec": {"name": "planning-net", "cidr": "10.20.0.0/24", "router": True},
}
SERVER_EXAMPLE = {
    "kind": "server",
    "allocation": 12,
    "justification": "Application server for the exercise planning tool.",
    "spec": {"name": "planning-app", "offering": "small-debian", "networks": [41], "count": 1},
}
STOP_EXAMPLE = {
    "kind": "server_stop",
    "target": 77,
    "justification": "Maintenance window of the planning tool.",
}
QUOTA_EXAMPLE = {
    "kind": "quota_change",
    "allocation": 3,
    "spec": {"instances": 40, "vcpus": 80, "ram_mb": 163840},
    "justification": "The exercise doubles the analysts' sandboxes from January.",
}
LEASE_EXAMPLE = {
    "kind": "lease_extend",
    "target": 77,
    "spec": {"lease_end": "2027-03-31T18:00:00+02:00"},
    "justification": "The exercise was moved to the end of March.",
}


@extend_schema_view(
    list=extend_schema(summary="Requests you can see, newest first"),
    retrieve=extend_schema(
        summary="One request with its timeline and decisions", responses=s.RequestDetailSerializer
    ),
)
class RequestViewSet(RestrictedViewSet):
    """Resource requests: new servers and networks, and day-2 actions on them."""

    queryset = ResourceRequest.objects.select_related(*selectors.REQUEST_RELATED)
    serializer_class = s.RequestSerializer
    filterset_class = filtersets.RequestFilterSet
    ordering_fields = ["id", "created_at", "state_changed_at", "state"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet:
        queryset = selectors.requests_visible_to(self.request.user)
        if self.action == "list":
            # A page's places come from provisioning.listing, not from joins into every row.
            return queryset.select_related(None).select_related("requester")
        return queryset.select_related("target_server", "target_network").prefetch_related(
            "transitions__actor", "approvals__decided_by", "built_servers", "built_networks"
        )

    def paginate_queryset(self, queryset: QuerySet) -> list[ResourceRequest] | None:
        page = super().paginate_queryset(queryset)
        return attach_allocation_summaries(page, self.request.user) if page is not None else None

    def get_serializer_class(self) -> type[s.RequestSerializer]:
        return s.RequestSerializer if self.action == "list" else s.RequestDetailSerializer

    def _answer(self, request_obj, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=request_obj.pk).first() or request_obj
        return Response(s.RequestDetailSerializer(fresh).data, status=code)

    @extend_schema(
        summary="Submit a request",
        request=s.RequestCreateSerializer,
        responses={201: s.RequestDetailSerializer},
        examples=[
            OpenApiExample("A network", value=NETWORK_EXAMPLE, request_only=True),
            OpenApiExample("A server on it", value=SERVER_EXAMPLE, request_only=True),
            OpenApiExample("Stop a server", value=STOP_EXAMPLE, request_only=True),
            OpenApiExample("More quota", value=QUOTA_EXAMPLE, request_only=True),
            OpenApiExample("A longer lease", value=LEASE_EXAMPLE, request_only=True),
        ],
    )
    def create(self, request, *args, **kwargs) -> Response:
        payload = s.RequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        kind = Kind(data["kind"])
        user = request.user
        allocation = target = None
        if kind.is_day2:
            if kind.on_server:
                visible, missing = selectors.servers_visible_to(user), _("No such server.")
            elif kind.on_security_group:
                visible = selectors.security_groups_visible_to(user)
                missing = _("No such security group.")
            elif kind.on_volume:
                visible, missing = selectors.volumes_visible_to(user), _("No such volume.")
            else:
                visible, missing = selectors.networks_visible_to(user), _("No such network.")
            target = visible.filter(pk=data["target"]).first()
            if target is None:
                raise ValidationError({"target": [missing]})
        else:
            allocation = (
                Allocation.objects.restrict(user, Action.VIEW)
                .select_related("region__site", "region__domain", "tenant")
                .filter(pk=data["allocation"])
                .first()
            )
            if allocation is None:
                raise ValidationError({"allocation": [_("No such allocation.")]})
        created = services.request_submit(
            user=user,
            kind=kind,
            justification=data["justification"],
            allocation=allocation,
            spec=data.get("spec") or {},
            target=target,
        )
        return self._answer(created, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a request not yet built",
        request=s.CancelSerializer,
        responses=s.RequestDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None, **kwargs) -> Response:
        payload = s.CancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        done = services.request_cancel(
            user=request.user, request=self.get_object(), reason=payload.validated_data["reason"]
        )
        return self._answer(done)

    @extend_schema(
        summary="Retry a failed request", request=None, responses=s.RequestDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None, **kwargs) -> Response:
        return self._answer(services.request_retry(user=request.user, request=self.get_object()))

    @extend_schema(
        summary="Approve the stage the request waits at (four-eyes: never your own)",
        request=s.ApproveSerializer,
        responses=s.RequestDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None, **kwargs) -> Response:
        payload = s.ApproveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        done = services.request_approve(
            user=request.user, request=self.get_object(), comment=payload.validated_data["comment"]
        )
        return self._answer(done)

    @extend_schema(
        summary="Reject the request, saying why",
        request=s.RejectSerializer,
        responses=s.RequestDetailSerializer,
        examples=[
            OpenApiExample(
                "Reject", value={"comment": "Use the shared build network."}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None, **kwargs) -> Response:
        payload = s.RejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        done = services.request_reject(
            user=request.user, request=self.get_object(), comment=payload.validated_data["comment"]
        )
        return self._answer(done)


@extend_schema_view(list=extend_schema(summary="Your approvals inbox: requests awaiting you"))
class ApprovalInboxViewSet(IdempotentMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Requests waiting for a decision you may take (never your own), oldest first."""

    queryset = ResourceRequest.objects.none()  # the model, for the schema
    serializer_class = s.RequestSerializer
    filterset_class = filtersets.RequestFilterSet
    ordering_fields = ["id", "created_at"]
    ordering = ["created_at", "id"]

    def get_queryset(self) -> QuerySet:
        # A page's places come from provisioning.listing, not from joins into every row.
        queryset = selectors.requests_awaiting(self.request.user)
        return queryset.select_related(None).select_related("requester")

    def paginate_queryset(self, queryset: QuerySet) -> list[ResourceRequest] | None:
        page = super().paginate_queryset(queryset)
        return attach_allocation_summaries(page, self.request.user) if page is not None else None

    @extend_schema(
        summary="Approve several requests, each on its own",
        request=s.BulkApproveSerializer,
        responses=s.BulkApproveResultSerializer,
        examples=[
            OpenApiExample("Approve three", value={"ids": [3, 5, 8]}, request_only=True),
            OpenApiExample(
                "Outcomes",
                value={
                    "results": [
                        {"id": 3, "approved": True, "outcome": "approved"},
                        {"id": 5, "approved": True, "outcome": "advanced"},
                        {
                            "id": 8,
                            "approved": False,
                            "outcome": "Four-eyes rule: nobody decides on their own request.",
                        },
                    ]
                },
                response_only=True,
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk-approve")
    def bulk_approve(self, request, **kwargs) -> Response:
        payload = s.BulkApproveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(payload.validated_data["ids"]))
        found = selectors.requests_visible_to(request.user).in_bulk(ids)
        outcomes = services.requests_bulk_approve(
            user=request.user,
            requests=[found[i] for i in ids if i in found],
            comment=payload.validated_data["comment"],
        )
        results = [
            {
                "id": i,
                "approved": outcomes.get(i) in ("approved", "advanced"),
                "outcome": outcomes.get(i, _("Not found.")),
            }
            for i in ids
        ]
        return Response({"results": results})


# --- resources ----------------------------------------------------------------------------


class _Day2Mixin:
    """Actions on a server or network: each submits a day-2 request through ``request_submit``."""

    def _submit(self, request, kind: Kind, payload_class=s.ActionSerializer) -> Response:
        target = self.get_object()  # out of reach is a 404 before the body is looked at
        payload = payload_class(data=request.data)
        payload.is_valid(raise_exception=True)
        spec = {k: v for k, v in payload.validated_data.items() if k != "justification"}
        created = services.request_submit(
            user=request.user,
            kind=kind,
            justification=payload.validated_data["justification"],
            target=target,
            spec=spec or None,
        )
        return self._created(request, created)

    def _created(self, request, created: ResourceRequest) -> Response:
        answer = selectors.requests_visible_to(request.user).filter(pk=created.pk).first()
        return Response(
            s.RequestDetailSerializer(answer or created).data, status=status.HTTP_201_CREATED
        )


def _day2_schema(what: str):
    return extend_schema(
        summary=f"{what} (creates a day-2 request, approved per policy)",
        request=s.ActionSerializer,
        responses={201: s.RequestDetailSerializer},
        examples=[
            OpenApiExample(
                what, value={"justification": "Planned maintenance of the tool."}, request_only=True
            )
        ],
    )


class _PlacesFromMemoryMixin:
    """Lists of live rows and details read each row alone; what a row shows of its allocation
    (and, for servers, its network ids) is attached by ``attach`` from ``provisioning.listing``
    rather than joined into every row (docs/architecture.md, "Lists at a million rows"). A
    detail's row is fetched by its key and its allocation checked after
    (``check_row_after_fetch``)."""

    check_row_after_fetch = True

    def attach(self, rows: list) -> list:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if self.action in ("list", "retrieve"):
            queryset = queryset.select_related(None)
        return queryset.live() if self.action == "list" else queryset

    def get_object(self) -> Any:
        row = super().get_object()
        return self.attach([row])[0] if self.action == "retrieve" else row

    def paginate_queryset(self, queryset: QuerySet) -> list | None:
        page = super().paginate_queryset(queryset)
        return self.attach(page) if page is not None else None


class ServerViewSet(_PlacesFromMemoryMixin, _Day2Mixin, RestrictedViewSet):
    """Servers you can see; the list shows live servers, details also decommissioned ones."""

    queryset = Server.objects.select_related(*ALLOCATION_RELATED)
    serializer_class = s.ServerSerializer
    filterset_class = filtersets.ServerFilterSet
    ordering_fields = ["id", "name", "created_at", "status"]
    ordering = ["name", "id"]

    def attach(self, servers: list[Server]) -> list[Server]:
        return attach_network_ids(attach_allocation_summaries(servers, self.request.user))

    @_day2_schema("Start the server")
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SERVER_START)

    @_day2_schema("Stop the server")
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SERVER_STOP)

    @_day2_schema("Reboot the server")
    @action(detail=True, methods=["post"])
    def reboot(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SERVER_REBOOT)

    @_day2_schema("Decommission the server")
    @action(detail=True, methods=["post"])
    def decommission(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SERVER_DECOMMISSION)

    @extend_schema(
        summary="Resize the server to another flavor (creates a day-2 request)",
        request=s.ResizeSerializer,
        responses={201: s.RequestDetailSerializer},
        examples=[
            OpenApiExample(
                "Resize",
                value={"flavor": "m1.large", "justification": "The planning tool needs more RAM."},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def resize(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SERVER_RESIZE, s.ResizeSerializer)

    @_day2_schema("Give the server an address on the external network (a floating IP)")
    @action(detail=True, methods=["post"], url_path="add-address")
    def add_address(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SERVER_ADDRESS_ADD)

    @_day2_schema("Release the server's external address")
    @action(detail=True, methods=["post"], url_path="release-address")
    def release_address(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SERVER_ADDRESS_RELEASE)

    @extend_schema(
        summary="Attach one of the tenant's volumes (creates a request on the volume)",
        request=s.ServerAttachVolumeSerializer,
        responses={201: s.RequestDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="attach-volume")
    def attach_volume(self, request, pk=None, **kwargs) -> Response:
        server = self.get_object()
        # Said before the volume is looked for: the right decides, not which volumes exist.
        services.requests_allowed_check(request.user, server.allocation)
        payload = s.ServerAttachVolumeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        volume = (
            selectors.volumes_visible_to(request.user)
            .filter(pk=payload.validated_data["volume"], allocation_id=server.allocation_id)
            .first()
        )
        if volume is None:
            raise ValidationError({"volume": [_("No such volume of this tenant in this region.")]})
        created = services.request_submit(
            user=request.user,
            kind=Kind.VOLUME_ATTACH,
            justification=payload.validated_data["justification"],
            target=volume,
            spec={"server": server.pk},
        )
        return self._created(request, created)


class SecurityGroupViewSet(_Day2Mixin, RestrictedViewSet):
    """Security groups you can see, with their approved rules and the drift found in the cloud.

    New groups are requested with ``POST requests/`` (kind ``security_group``); rules with
    ``POST security-groups/{id}/rules/``.
    """

    check_row_after_fetch = True

    queryset = SecurityGroup.objects.select_related(*ALLOCATION_RELATED)
    serializer_class = s.SecurityGroupSerializer
    filterset_class = filtersets.SecurityGroupFilterSet
    ordering_fields = ["id", "name", "created_at", "status"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset().prefetch_related(live_rules())
        return queryset.live().select_related(None) if self.action == "list" else queryset

    def paginate_queryset(self, queryset: QuerySet) -> list[SecurityGroup] | None:
        page = super().paginate_queryset(queryset)
        return attach_allocation_summaries(page, self.request.user) if page is not None else None

    @extend_schema(
        summary="Open a rule in the group (creates a request, reviewed per the domain's policy)",
        request=s.RuleRequestSerializer,
        responses={201: s.RequestDetailSerializer},
        examples=[
            OpenApiExample(
                "SSH from the admin network",
                value={
                    "protocol": "tcp", "port_min": 22, "remote_cidr": "10.10.0.0/16",
                    "justification": "Administrators reach the servers from the admin LAN.",
                },
                request_only=True,
            )
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def rules(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SECURITY_GROUP_RULE, s.RuleRequestSerializer)

    @extend_schema(
        summary="Close one of the group's rules (creates a request, approved per policy)",
        request=s.RuleCloseSerializer,
        responses={201: s.RequestDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="close-rule")
    def close_rule(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SECURITY_GROUP_RULE_REMOVE, s.RuleCloseSerializer)

    @_day2_schema("Delete the security group (refused while servers or other rules use it)")
    @action(detail=True, methods=["post"])
    def decommission(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.SECURITY_GROUP_DECOMMISSION)


class NetworkViewSet(_PlacesFromMemoryMixin, _Day2Mixin, RestrictedViewSet):
    """Networks you can see; the list shows live networks, details also decommissioned ones."""

    queryset = Network.objects.select_related(*ALLOCATION_RELATED)
    serializer_class = s.NetworkSerializer
    filterset_class = filtersets.NetworkFilterSet
    ordering_fields = ["id", "name", "created_at", "status"]
    ordering = ["name", "id"]

    def attach(self, networks: list[Network]) -> list[Network]:
        return attach_allocation_summaries(networks, self.request.user)

    @_day2_schema("Decommission the network")
    @action(detail=True, methods=["post"])
    def decommission(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.NETWORK_DECOMMISSION)


class VolumeViewSet(_Day2Mixin, RestrictedViewSet):
    """Volumes you can see; the list shows live volumes, details also decommissioned ones.

    New volumes are requested with ``POST requests/`` (kind ``volume``).
    """

    check_row_after_fetch = True

    queryset = Volume.objects.select_related(*ALLOCATION_RELATED)
    serializer_class = s.VolumeSerializer
    filterset_class = filtersets.VolumeFilterSet
    ordering_fields = ["id", "name", "created_at", "status", "size_gb"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return queryset.live().select_related(None) if self.action == "list" else queryset

    def paginate_queryset(self, queryset: QuerySet) -> list[Volume] | None:
        page = super().paginate_queryset(queryset)
        return attach_allocation_summaries(page, self.request.user) if page is not None else None

    @extend_schema(
        summary="Attach the volume to a server of its tenant and region (creates a request)",
        request=s.VolumeAttachSerializer,
        responses={201: s.RequestDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def attach(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.VOLUME_ATTACH, s.VolumeAttachSerializer)

    @_day2_schema("Detach the volume from its server")
    @action(detail=True, methods=["post"])
    def detach(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.VOLUME_DETACH)

    @extend_schema(
        summary="Extend the volume (creates a request; the growth counts against the quota)",
        request=s.VolumeExtendSerializer,
        responses={201: s.RequestDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.VOLUME_EXTEND, s.VolumeExtendSerializer)

    @extend_schema(
        summary="Decommission the volume and its data (refused while attached unless detach)",
        request=s.VolumeDecommissionSerializer,
        responses={201: s.RequestDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def decommission(self, request, pk=None, **kwargs) -> Response:
        return self._submit(request, Kind.VOLUME_DECOMMISSION, s.VolumeDecommissionSerializer)


# --- reports ------------------------------------------------------------------------------


class ReportViewSet(viewsets.ViewSet):
    """Reports, counted over the requests the caller may see, as on the Reports page."""

    @extend_schema(
        summary="SLA figures by domain, site or tenant, with the first late requests",
        description="Decision and build times against the SLA targets, the number of requests "
        "that missed one (still waiting ones measured up to now) and the first 50 of them, the "
        "most overdue first; `late_next` links to the following page.",
        parameters=[s.SlaQuerySerializer],
        responses=s.SlaReportSerializer,
    )
    @action(detail=False, methods=["get"], url_path="sla")
    def sla(self, request, **kwargs) -> Response:
        query = s.SlaQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = sla_report(
            selectors.sla_facts_visible_to(request.user),
            period=_period(query.validated_data),
            grouping=Grouping(query.validated_data["group_by"]),
            late_limit=LATE_PAGE,
        )
        availability = selectors.availability_report_for(
            request.user, report.period.since, report.period.until
        )
        context = {"request": request, "availability": availability}
        return Response(s.SlaReportSerializer(report, context=context).data)

    @extend_schema(
        summary="The late requests of an SLA report, a page at a time",
        description="The most overdue first (then by request id and target); `next` carries the "
        "report's moment and period, so the pages neither repeat nor skip a request while new "
        "ones arrive. Without a cursor: the first page of the period asked for.",
        parameters=[s.SlaLateQuerySerializer],
        responses=s.SlaLatePageSerializer,
    )
    @action(detail=False, methods=["get"], url_path="sla/late")
    def sla_late(self, request, **kwargs) -> Response:
        query = s.SlaLateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            cursor = (
                LateCursor.decode(query.validated_data["cursor"])
                if "cursor" in query.validated_data
                else None
            )
        except DjangoValidationError as err:
            raise ValidationError(err.message_dict) from None
        page, following = late_page(
            selectors.sla_facts_visible_to(request.user),
            cursor,
            period=None if cursor else _period(query.validated_data),
            limit=LATE_PAGE,
        )
        body = {"next": s.late_url(request, following), "results": page}
        return Response(s.SlaLatePageSerializer(body).data)

    @extend_schema(
        summary="Showback: each group's consumption in a month, priced by the rate card",
        description="Hours of running and stopped vCPUs and RAM, disks and external addresses "
        "of the allocations you may see, per tenant, allocation, site or domain, each day "
        "priced by the rate card valid that day.",
        parameters=[s.ShowbackQuerySerializer],
        responses=s.ShowbackReportSerializer,
    )
    @action(detail=False, methods=["get"], url_path="showback")
    def showback(self, request, **kwargs) -> Response:
        query = s.ShowbackQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = showback_report(
            selectors.showback_days_visible_to(request.user),
            allocations_visible_to(request.user),
            month=query.validated_data.get("month") or timezone.now().strftime("%Y-%m"),
            grouping=query.validated_data["group_by"],
        )
        return Response(s.ShowbackReportSerializer(report).data)


#: Late requests per page of the API (a page stays far below 1 MB).
LATE_PAGE = 50


def _period(validated: dict) -> Period:
    params = {k: str(v) for k, v in validated.items() if k in ("days", "month")}
    try:
        return Period.from_params(params)
    except DjangoValidationError as err:
        raise ValidationError(err.message_dict) from None


# --- availability -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Incidents of the regions you may see, newest first"),
    retrieve=extend_schema(summary="One incident"),
)
class IncidentViewSet(RestrictedReadOnlyViewSet):
    """Runs of failed availability probes of a region's service (``region``: the whole region),
    from the first failure to the first answer after it; ``ended_at`` null while ongoing."""

    queryset = Incident.objects.select_related("region__site", "region__domain")
    serializer_class = s.IncidentSerializer
    filterset_class = filtersets.IncidentFilterSet
    ordering_fields = ["id", "started_at"]
    ordering = ["-started_at", "-id"]

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "shows_errors": is_operator(self.request.user)}


class CloudStatusView(APIView):
    """Each region you may see: its state from the last probe, its availability over the last
    day, week and month against its target, each service's last answer, open incidents."""

    @extend_schema(
        summary="The clouds' status now, as on the Cloud status page",
        responses=s.RegionStatusSerializer(many=True),
    )
    def get(self, request) -> Response:
        regions = selectors.region_status_for(request.user)
        context = {"request": request, "shows_errors": is_operator(request.user)}
        return Response(s.RegionStatusSerializer(regions, many=True, context=context).data)
