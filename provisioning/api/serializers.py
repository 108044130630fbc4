"""REST representations of the catalog, requests, approvals, servers and networks.

Serializers only shape data; choosing objects goes through the access layer in the views and
every change through ``provisioning.services``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.representation import ShownModelSerializer
from portal.inputs import id_serializer_field
from provisioning.models import (
    Approval,
    Flavor,
    Image,
    Incident,
    Kind,
    Network,
    Offering,
    RequestTransition,
    ResourceRequest,
    SecurityGroup,
    SecurityGroupRule,
    Server,
    Stage,
    Volume,
    VolumeType,
)
from tenants.models import Allocation
from tenants.quotas import DIMENSIONS

# --- shared -------------------------------------------------------------------------------


class AllocationSummarySerializer(ShownModelSerializer):
    """Where an object lives, by slugs (the full allocation is at /api/v1/allocations/{id}/)."""

    tenant = serializers.CharField(source="tenant.slug", read_only=True)
    region = serializers.CharField(source="region.slug", read_only=True)
    site = serializers.CharField(source="region.site.slug", read_only=True)
    domain = serializers.CharField(source="region.domain.slug", read_only=True)

    class Meta:
        model = Allocation
        fields = ["id", "tenant", "region", "site", "domain"]


@extend_schema_field(AllocationSummarySerializer)
class AllocationSummaryField(serializers.Field):
    """``AllocationSummarySerializer``'s output, from the row's ``allocation_summary``
    (attached to a whole page by ``provisioning.listing``, else read from its allocation)."""

    shown_as_read = True

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "allocation_summary")
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: dict) -> dict:
        return value


# --- catalog ------------------------------------------------------------------------------


class OfferingSerializer(serializers.ModelSerializer):
    regions = serializers.SerializerMethodField(
        help_text=gettext_lazy("Slugs of the regions you can reach.")
    )

    class Meta:
        model = Offering
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "flavor_name",
            "image_name",
            "default_lease_days",
            "active",
            "regions",
        ]

    def get_regions(self, offering: Offering) -> list[str]:
        return [r.slug for r in getattr(offering, "visible_regions", [])]


class FlavorSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.slug", read_only=True)

    class Meta:
        model = Flavor
        fields = ["id", "region", "backend_id", "name", "vcpus", "ram_mb", "disk_gb", "active"]


class ImageSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.slug", read_only=True)

    class Meta:
        model = Image
        fields = [
            "id",
            "region",
            "backend_id",
            "name",
            "status",
            "min_disk_gb",
            "min_ram_mb",
            "active",
        ]


class VolumeTypeSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.slug", read_only=True)
    max_size_gb = serializers.IntegerField(
        source="size_limit",
        read_only=True,
        help_text=gettext_lazy("The largest volume of it a unit may ask."),
    )

    class Meta:
        model = VolumeType
        fields = ["id", "region", "backend_id", "name", "description", "max_size_gb", "active"]


# --- requests -----------------------------------------------------------------------------


class QuotaNeedsSerializer(serializers.Serializer):
    instances = serializers.IntegerField()
    vcpus = serializers.IntegerField()
    ram_mb = serializers.IntegerField()
    networks = serializers.IntegerField()
    routers = serializers.IntegerField()
    floating_ips = serializers.IntegerField()
    volumes = serializers.IntegerField()
    gigabytes = serializers.IntegerField()


class TransitionSerializer(ShownModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)

    class Meta:
        model = RequestTransition
        fields = ["from_state", "to_state", "actor", "note", "at", "trace_id"]


class ApprovalSerializer(ShownModelSerializer):
    decided_by = serializers.CharField(
        source="decided_by.username",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("Empty when the policy decided."),
    )

    class Meta:
        model = Approval
        fields = ["stage", "decision", "decided_by", "comment", "decided_at"]


class RequestSerializer(ShownModelSerializer):
    allocation = AllocationSummaryField()
    # Empty once no stage waits (decided, or approved by policy): said so in the schema too.
    pending_stage = serializers.ChoiceField(
        choices=Stage.choices, allow_blank=True, read_only=True,
        help_text=gettext_lazy("The approval stage waiting for a decision; empty when none is."),
    )  # fmt: skip
    requester = serializers.CharField(source="requester.username", read_only=True)
    title = serializers.CharField(read_only=True)
    needs = serializers.SerializerMethodField(
        help_text=gettext_lazy("What the request takes of the quota.")
    )

    class Meta:
        model = ResourceRequest
        fields = [
            "id",
            "kind",
            "state",
            "pending_stage",
            "title",
            "allocation",
            "requester",
            "justification",
            "spec",
            "target_server",
            "target_network",
            "needs",
            "failure_reason",
            "status_note",
            "attempts",
            "created_at",
            "state_changed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(QuotaNeedsSerializer)
    def get_needs(self, request: ResourceRequest) -> dict[str, int]:
        return {d.key: getattr(request, d.key) for d in DIMENSIONS}


class RequestDetailSerializer(RequestSerializer):
    """A request with its timeline, its decisions and what it built."""

    transitions = TransitionSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    built_servers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    built_networks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta(RequestSerializer.Meta):
        fields = [
            *RequestSerializer.Meta.fields,
            "transitions",
            "approvals",
            "built_servers",
            "built_networks",
        ]
        read_only_fields = fields


class RequestCreateSerializer(serializers.Serializer):
    """A new request: ``allocation`` + ``spec`` for new resources, ``target`` for day-2 kinds."""

    kind = serializers.ChoiceField(choices=Kind.choices)
    justification = serializers.CharField(
        help_text=gettext_lazy("Why this is needed (at least a sentence): approvers decide on it.")
    )
    allocation = id_serializer_field(
        required=False,
        help_text=gettext_lazy(
            "Allocation id; for the kinds server, network, security_group, volume and quota_change."
        ),
    )
    spec = serializers.JSONField(
        required=False,
        help_text=gettext_lazy(
            "network: name, cidr, gateway?, dns?, router?; server: name, offering or "
            "flavor+image, networks (ids), count?, ssh_key? (id of one of your SSH keys), "
            "security_groups? (ids), boot_volume_gb?, lease_end?; volume: name, size_gb, "
            "volume_type?, description?; security_group: name, description?; quota_change: "
            "the new limits of the quotas to change (instances, vcpus, ram_mb, networks, "
            "routers, floating_ips, volumes, gigabytes); lease_extend: lease_end"
        ),
    )
    target = id_serializer_field(
        required=False,
        help_text=gettext_lazy(
            "Server, network, security group or volume id; for the day-2 kinds."
        ),
    )

    def validate_spec(self, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError(_("Give the spec as a JSON object."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = Kind(attrs["kind"])
        if kind.is_day2 and attrs.get("target") is None:
            raise serializers.ValidationError(
                {"target": [_("Name the object this request acts on.")]}
            )
        if not kind.is_day2 and attrs.get("allocation") is None:
            raise serializers.ValidationError(
                {"allocation": [_("Choose the allocation (tenant and region) to build in.")]}
            )
        return attrs


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RejectSerializer(serializers.Serializer):
    comment = serializers.CharField(
        allow_blank=True, help_text=gettext_lazy("Why; the requester reads it. Required.")
    )


class BulkApproveSerializer(serializers.Serializer):
    ids = serializers.ListField(child=id_serializer_field(), min_length=1, max_length=100)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class BulkOutcomeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    approved = serializers.BooleanField(help_text=gettext_lazy("Whether this decision was taken."))
    outcome = serializers.CharField(
        help_text=gettext_lazy(
            "'approved', 'advanced' (to the next stage) or why it was not approved."
        )
    )


class BulkApproveResultSerializer(serializers.Serializer):
    results = BulkOutcomeSerializer(many=True)


class ActionSerializer(serializers.Serializer):
    """A day-2 action on a server or network: recorded as a request, approved per policy."""

    justification = serializers.CharField(
        help_text=gettext_lazy("Why (at least a sentence): approvers decide on it.")
    )


class ResizeSerializer(ActionSerializer):
    flavor = serializers.CharField(help_text=gettext_lazy("The new flavor's name (see flavors/)."))


class VolumeAttachSerializer(ActionSerializer):
    server = id_serializer_field(
        help_text=gettext_lazy("A server of the volume's tenant and region.")
    )


class ServerAttachVolumeSerializer(ActionSerializer):
    volume = id_serializer_field(
        help_text=gettext_lazy("An available volume of the server's tenant and region.")
    )


class VolumeExtendSerializer(ActionSerializer):
    size_gb = serializers.IntegerField(
        help_text=gettext_lazy("The new size in GB: larger than now.")
    )


class VolumeDecommissionSerializer(ActionSerializer):
    detach = serializers.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Detach it from its server first; without it, an attached volume is refused."
        ),
    )


# --- resources ----------------------------------------------------------------------------


class ServerSerializer(ShownModelSerializer):
    allocation = AllocationSummaryField()
    networks = serializers.ListField(
        child=serializers.IntegerField(),
        source="network_ids",
        read_only=True,
        help_text=gettext_lazy("Ids of the networks it is attached to."),
    )
    addresses = serializers.JSONField(read_only=True)

    class Meta:
        model = Server
        fields = [
            "id",
            "name",
            "status",
            "allocation",
            "backend_id",
            "flavor_name",
            "image_name",
            "vcpus",
            "ram_mb",
            "addresses",
            "networks",
            "fault",
            "boot_volume_gb",
            "lease_end",
            "origin_request",
            "created_at",
            "last_seen_at",
            "deleted_at",
        ]
        read_only_fields = fields


class NetworkSerializer(ShownModelSerializer):
    allocation = AllocationSummaryField()

    class Meta:
        model = Network
        fields = [
            "id",
            "name",
            "cidr",
            "status",
            "allocation",
            "backend_id",
            "subnet_id",
            "router_id",
            "origin_request",
            "created_at",
            "last_seen_at",
            "deleted_at",
        ]
        read_only_fields = fields


class VolumeSerializer(ShownModelSerializer):
    allocation = AllocationSummaryField()

    class Meta:
        model = Volume
        fields = [
            "id",
            "name",
            "size_gb",
            "volume_type",
            "status",
            "server",
            "device",
            "allocation",
            "backend_id",
            "origin_request",
            "created_at",
            "last_seen_at",
            "deleted_at",
        ]
        read_only_fields = fields


class SecurityGroupRuleSerializer(ShownModelSerializer):
    # A method rather than ``source="__str__"``: DRF inspects a callable source's signature on
    # every row before calling it (twice a rule here, 1 ms a page of fifty groups).
    opens = serializers.SerializerMethodField(help_text=gettext_lazy("In plain words."))

    def get_opens(self, rule: SecurityGroupRule) -> str:
        return str(rule)

    class Meta:
        model = SecurityGroupRule
        fields = [
            "id",
            "direction",
            "protocol",
            "port_min",
            "port_max",
            "remote_cidr",
            "remote_group",
            "description",
            "opens",
            "origin_request",
            "backend_id",
            "created_at",
        ]
        read_only_fields = fields


class SecurityGroupSerializer(ShownModelSerializer):
    allocation = AllocationSummaryField()
    rules = SecurityGroupRuleSerializer(many=True, read_only=True, source="live_rules")
    drift = serializers.JSONField(
        read_only=True,
        help_text=gettext_lazy(
            "Rules in the cloud that no request made (`found`) and approved rules "
            "missing there (`missing`), as the reconciler last saw them."
        ),
    )

    class Meta:
        model = SecurityGroup
        fields = [
            "id",
            "name",
            "description",
            "status",
            "allocation",
            "backend_id",
            "rules",
            "drift",
            "drift_checked_at",
            "origin_request",
            "created_at",
            "last_seen_at",
            "deleted_at",
        ]
        read_only_fields = fields


class RuleRequestSerializer(ActionSerializer):
    """A rule to open in the group; the request is reviewed like any other."""

    direction = serializers.ChoiceField(choices=["ingress", "egress"], default="ingress")
    protocol = serializers.ChoiceField(choices=["tcp", "udp", "icmp", "any"], default="tcp")
    port_min = serializers.IntegerField(required=False, allow_null=True)
    port_max = serializers.IntegerField(required=False, allow_null=True)
    remote_cidr = serializers.CharField(required=False, allow_blank=True)
    remote_group = id_serializer_field(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("A security group id of the same allocation."),
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)


class RuleCloseSerializer(ActionSerializer):
    rule = id_serializer_field(help_text=gettext_lazy("The id of one of the group's rules."))


# --- SLA report ---------------------------------------------------------------------------


# --- availability -------------------------------------------------------------------------


class RegionAvailabilitySerializer(serializers.Serializer):
    """A region over the report's period against its target (from ``RegionAvailability``)."""

    region = serializers.CharField(source="region.slug")
    site = serializers.CharField(source="region.site.slug")
    domain = serializers.CharField(source="region.domain.slug")
    availability_percent = serializers.DecimalField(
        max_digits=7, decimal_places=3, source="whole.percent", allow_null=True,
        help_text=gettext_lazy("Share of the probes every service answered; null: none ran."),
    )  # fmt: skip
    target_percent = serializers.DecimalField(max_digits=7, decimal_places=3, source="target")
    met = serializers.BooleanField(source="meets_target", allow_null=True)
    probes = serializers.IntegerField(source="whole.probes")
    failed_probes = serializers.IntegerField(source="whole.failures")
    measured_percent = serializers.DecimalField(
        max_digits=5, decimal_places=1, source="whole.measured_percent", allow_null=True,
        help_text=gettext_lazy("Share of the period the probes covered."),
    )  # fmt: skip
    incidents = serializers.SerializerMethodField(
        help_text=gettext_lazy("Incidents of the whole region in the period.")
    )
    down_seconds = serializers.SerializerMethodField(
        help_text=gettext_lazy("Time in incidents of the whole region within the period.")
    )
    latency_p50_ms = serializers.FloatField(source="whole.p50_ms", allow_null=True)
    latency_p95_ms = serializers.FloatField(source="whole.p95_ms", allow_null=True)

    def get_incidents(self, availability) -> int:
        return len(availability.region_incidents)

    def get_down_seconds(self, availability) -> int:
        return round(availability.downtime.total_seconds())


class IncidentSerializer(ShownModelSerializer):
    region = serializers.CharField(source="region.slug", read_only=True)
    site = serializers.CharField(source="region.site.slug", read_only=True)
    domain = serializers.CharField(source="region.domain.slug", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True)
    last_error = serializers.SerializerMethodField(
        help_text=gettext_lazy("What the cloud last answered; shown to operators only.")
    )

    class Meta:
        model = Incident
        fields = ["id", "region", "site", "domain", "service", "started_at", "ended_at",
                  "failed_probes", "duration_seconds", "last_error"]  # fmt: skip
        read_only_fields = fields

    def get_last_error(self, incident) -> str | None:
        return incident.last_error if self.context.get("shows_errors") else None


class ServiceCheckSerializer(serializers.Serializer):
    service = serializers.CharField()
    ok = serializers.BooleanField(allow_null=True, help_text=gettext_lazy("null: never probed."))
    at = serializers.DateTimeField(allow_null=True)
    latency_ms = serializers.FloatField(allow_null=True)
    failures_in_a_row = serializers.IntegerField()
    day_availability_percent = serializers.DecimalField(
        max_digits=7, decimal_places=3, allow_null=True
    )
    day_latency_p50_ms = serializers.FloatField(allow_null=True)
    day_latency_p95_ms = serializers.FloatField(allow_null=True)
    error = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("Shown to operators only.")
    )


class RegionStatusSerializer(serializers.Serializer):
    region = serializers.CharField(source="region.slug")
    site = serializers.CharField(source="region.site.slug")
    domain = serializers.CharField(source="region.domain.slug")
    state = serializers.ChoiceField(
        choices=["up", "degraded", "down", "unknown"],
        help_text=gettext_lazy(
            "From the last probe: every service answered (up), some (degraded), none (down); "
            "unknown when it is older than three probe periods."
        ),
    )
    last_probe_at = serializers.DateTimeField(allow_null=True)
    target_percent = serializers.DecimalField(
        max_digits=7, decimal_places=3, source="region.availability_target"
    )
    day_percent = serializers.DecimalField(
        max_digits=7, decimal_places=3, source="day.whole.percent", allow_null=True
    )
    week_percent = serializers.DecimalField(
        max_digits=7, decimal_places=3, source="week.whole.percent", allow_null=True
    )
    month_percent = serializers.DecimalField(
        max_digits=7, decimal_places=3, source="month.whole.percent", allow_null=True
    )
    services = serializers.SerializerMethodField()
    open_incidents = serializers.SerializerMethodField()

    @extend_schema_field(ServiceCheckSerializer(many=True))
    def get_services(self, status) -> list[dict[str, Any]]:
        shows_errors = self.context.get("shows_errors")
        shown = []
        for key, _label, check, day in status.services:
            shown.append({
                "service": key,
                "ok": check.ok if check else None,
                "at": check.at if check else None,
                "latency_ms": check.latency_ms if check else None,
                "failures_in_a_row": check.failures_in_a_row if check else 0,
                "day_availability_percent": day.percent if day else None,
                "day_latency_p50_ms": day.p50_ms if day else None,
                "day_latency_p95_ms": day.p95_ms if day else None,
                "error": (check.error or None) if check and shows_errors else None,
            })  # fmt: skip
        return ServiceCheckSerializer(shown, many=True).data

    @extend_schema_field(IncidentSerializer(many=True))
    def get_open_incidents(self, status) -> list[dict[str, Any]]:
        return IncidentSerializer(status.open_incidents, many=True, context=self.context).data


def month_field(help_text) -> serializers.RegexField:
    """A calendar month as YYYY-MM (matched whole: no trailing newline)."""
    return serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])\Z", required=False, trim_whitespace=False, help_text=help_text,
        error_messages={"invalid": gettext_lazy("Give a month as YYYY-MM.")},
    )  # fmt: skip


class SlaQuerySerializer(serializers.Serializer):
    days = serializers.ChoiceField(
        choices=[7, 30, 90],
        required=False,
        help_text=gettext_lazy("The last 7, 30 or 90 days (default 30)."),
    )
    month = month_field(gettext_lazy("A calendar month (UTC), YYYY-MM; overrides days."))
    group_by = serializers.ChoiceField(
        choices=["domain", "site", "tenant"], required=False, default="domain",
        help_text=gettext_lazy("What each row is per."),
    )  # fmt: skip


class SlaStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text=gettext_lazy("How many were measured (finished)."))
    p50 = serializers.FloatField(allow_null=True, help_text=gettext_lazy("Median, seconds."))
    p90 = serializers.FloatField(
        allow_null=True, help_text=gettext_lazy("90th percentile, seconds.")
    )
    worst = serializers.FloatField(allow_null=True, help_text=gettext_lazy("Slowest, seconds."))


class SlaRowSerializer(serializers.Serializer):
    group = serializers.CharField(
        help_text=gettext_lazy("The domain's marking, the site's or tenant's name.")
    )
    kind = serializers.CharField()
    requests = serializers.IntegerField()
    decision = SlaStatsSerializer(source="decision_stats")
    decision_late = serializers.IntegerField(source="decision_breaches")
    build = SlaStatsSerializer(source="build_stats")
    build_late = serializers.IntegerField(source="build_breaches")
    failed = serializers.IntegerField()


class SlaBreachSerializer(serializers.Serializer):
    request = serializers.IntegerField(source="request.pk")
    title = serializers.CharField(source="request.title")
    domain = serializers.CharField(source="request.allocation.region.domain.marking")
    target = serializers.ChoiceField(choices=["decision", "build"])
    took_seconds = serializers.FloatField(
        source="took", help_text=gettext_lazy("Up to now if still waiting.")
    )
    allowed_seconds = serializers.FloatField(source="allowed")
    late_by_seconds = serializers.FloatField(source="late_by")
    still_waiting = serializers.BooleanField()


class SlaPeriodSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    label = serializers.CharField()
    days = serializers.IntegerField(allow_null=True)
    month = serializers.CharField(allow_null=True)


class SlaTargetSerializer(serializers.Serializer):
    domain = serializers.CharField(help_text=gettext_lazy("The domain's marking."))
    decision_seconds = serializers.IntegerField()
    build_seconds = serializers.IntegerField()

    def to_representation(self, instance) -> dict[str, Any]:
        domain, decision, build = instance
        return {
            "domain": domain.marking,
            "decision_seconds": int(decision.total_seconds()),
            "build_seconds": int(build.total_seconds()),
        }


def _hours_of(domain) -> dict[str, Any]:
    return {
        "days": sorted(int(d) for d in domain.working_days),
        "from": domain.working_from.strftime("%H:%M"),
        "until": domain.working_until.strftime("%H:%M"),
    }


# Declared with type(): "from" is a Python keyword, and the API speaks as the domain's form does.
SlaHoursSerializer = type(
    "SlaHoursSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "A domain's working hours (its targets count working time).",
        "days": serializers.ListField(
            child=serializers.IntegerField(), help_text=gettext_lazy("ISO weekdays: Monday is 1.")
        ),
        "from": serializers.CharField(help_text=gettext_lazy("HH:MM, in each site's time zone.")),
        "until": serializers.CharField(help_text=gettext_lazy("HH:MM, in each site's time zone.")),
        "to_representation": lambda self, domain: _hours_of(domain),
    },
)


class SlaCalendarSerializer(serializers.Serializer):
    """The clock a counted domain's targets run on."""

    domain = serializers.CharField(source="marking")
    counts = serializers.ChoiceField(
        choices=["calendar", "working"],
        source="sla_clock",
        help_text=gettext_lazy(
            "calendar: around the clock; working: the hours below at each site, less its "
            "public holidays."
        ),
    )
    hours = serializers.SerializerMethodField()

    @extend_schema_field(SlaHoursSerializer(allow_null=True))
    def get_hours(self, domain) -> dict[str, Any] | None:
        return SlaHoursSerializer(domain).data if domain.counts_working_time else None


class SlaHolidaySerializer(serializers.Serializer):
    site = serializers.CharField(source="site.name")
    date = serializers.DateField(source="day")
    name = serializers.CharField()


class SlaReportSerializer(serializers.Serializer):
    period = SlaPeriodSerializer()
    group_by = serializers.CharField(source="grouping")
    decision_target_seconds = serializers.SerializerMethodField(
        help_text=gettext_lazy("The default target.")
    )
    build_target_seconds = serializers.SerializerMethodField(
        help_text=gettext_lazy("The default target.")
    )
    targets = SlaTargetSerializer(
        many=True,
        help_text=gettext_lazy(
            "The targets each counted domain is held to (its own or the default)."
        ),
    )
    calendars = serializers.SerializerMethodField(
        help_text=gettext_lazy("Each counted domain's clock: calendar or working time.")
    )
    holidays = SlaHolidaySerializer(
        many=True,
        help_text=gettext_lazy(
            "The period's public holidays at the sites whose working-time targets it counted."
        ),
    )
    rows = SlaRowSerializer(many=True)
    late_count = serializers.IntegerField(help_text=gettext_lazy("Every breach in the period."))
    late_requests = SlaBreachSerializer(
        many=True,
        source="breaches",
        help_text=gettext_lazy("The first page of late requests, most overdue first."),
    )
    late_next = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "The next page of late requests (reports/sla/late/?cursor=...), or null."
        )
    )
    availability = serializers.SerializerMethodField(
        help_text=gettext_lazy("Each region you may see over the period, against its target.")
    )

    @extend_schema_field(RegionAvailabilitySerializer(many=True))
    def get_availability(self, report) -> list[dict[str, Any]]:
        return RegionAvailabilitySerializer(self.context.get("availability", []), many=True).data

    @extend_schema_field(SlaCalendarSerializer(many=True))
    def get_calendars(self, report) -> list[dict[str, Any]]:
        return SlaCalendarSerializer([t[0] for t in report.targets], many=True).data

    def get_decision_target_seconds(self, report) -> int:
        return int(report.decision_target.total_seconds())

    def get_build_target_seconds(self, report) -> int:
        return int(report.build_target.total_seconds())

    def get_late_next(self, report) -> str | None:
        return late_url(self.context["request"], report.late_next)


def late_url(request, cursor) -> str | None:
    """The absolute link to the page of late requests after ``cursor``."""
    if cursor is None:
        return None
    from django.urls import reverse
    from django.utils.http import urlencode

    path = reverse("api:report-sla-late")
    return request.build_absolute_uri(f"{path}?{urlencode({'cursor': cursor.encode()})}")


class SlaLateQuerySerializer(SlaQuerySerializer):
    cursor = serializers.CharField(
        required=False,
        help_text=gettext_lazy("From late_next or next: the page after it (period included)."),
    )


class SlaLatePageSerializer(serializers.Serializer):
    next = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("The following page, or null.")
    )
    results = SlaBreachSerializer(many=True)


# --- showback ----------------------------------------------------------------------------


class ShowbackQuerySerializer(serializers.Serializer):
    month = month_field(gettext_lazy("A calendar month (UTC), YYYY-MM; default: this month."))
    group_by = serializers.ChoiceField(
        choices=["tenant", "allocation", "site", "domain"], required=False, default="tenant",
        help_text=gettext_lazy("What each row is per."),
    )  # fmt: skip


class ShowbackRowSerializer(serializers.Serializer):
    group = serializers.CharField(source="label")
    id = serializers.IntegerField(
        source="key", allow_null=True, help_text=gettext_lazy("The group's id (null: the total).")
    )
    vcpu_hours = serializers.FloatField()
    ram_gib_hours = serializers.FloatField()
    stopped_vcpu_hours = serializers.FloatField()
    stopped_ram_gib_hours = serializers.FloatField()
    volume_gib_hours = serializers.FloatField(
        help_text=gettext_lazy("Volumes and servers' boot disks.")
    )
    floating_ip_hours = serializers.FloatField()
    cost = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    unpriced = serializers.BooleanField(
        help_text=gettext_lazy("Some of its hours fell on days no rate card covers.")
    )

    def to_representation(self, row) -> dict[str, Any]:
        data = {"group": row.label, "id": row.key or None, **{k: round(v, 4)
                for k, v in row.figures.items()}}  # fmt: skip
        data["cost"] = str(row.cost) if self.context.get("priced") else None
        data["unpriced"] = row.unpriced
        return data


class RateCardSerializer(serializers.Serializer):
    name = serializers.CharField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)
    currency = serializers.CharField()
    vcpu_hour = serializers.DecimalField(max_digits=12, decimal_places=6)
    ram_gib_hour = serializers.DecimalField(max_digits=12, decimal_places=6)
    volume_gib_hour = serializers.DecimalField(max_digits=12, decimal_places=6)
    floating_ip_hour = serializers.DecimalField(max_digits=12, decimal_places=6)
    stopped_share = serializers.DecimalField(max_digits=4, decimal_places=3)


class ShowbackReportSerializer(serializers.Serializer):
    month = serializers.CharField(source="period.month")
    group_by = serializers.CharField(source="grouping")
    through = serializers.DateTimeField(
        help_text=gettext_lazy("The figures run to here: the month's end, or now.")
    )
    currency = serializers.CharField()
    rate_cards = RateCardSerializer(many=True, source="cards")
    rows = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()

    @extend_schema_field(ShowbackRowSerializer(many=True))
    def get_rows(self, report) -> list[dict[str, Any]]:
        context = {"priced": report.priced}
        return ShowbackRowSerializer(report.rows, many=True, context=context).data

    @extend_schema_field(ShowbackRowSerializer)
    def get_total(self, report) -> dict[str, Any]:
        return ShowbackRowSerializer(report.total, context={"priced": report.priced}).data
