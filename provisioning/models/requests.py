"""Resource requests and their state machine, with every transition kept for SLA reporting.

The model declares the legal transitions (bodies empty); ``provisioning.services`` performs them
under a row lock, records who and when, and does the side effects.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from portal.choices import ChoiceLabels
from portal.links import object_path
from tenants.access import RestrictedQuerySet
from tenants.models import Allocation


class RequestState(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    PROVISIONING = "provisioning", _("Provisioning")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


#: Requests that hold quota: decided or not, they will consume it unless they end badly.
IN_FLIGHT = (RequestState.PENDING_APPROVAL, RequestState.APPROVED, RequestState.PROVISIONING)
TERMINAL = (
    RequestState.COMPLETED,
    RequestState.FAILED,
    RequestState.REJECTED,
    RequestState.CANCELLED,
)


class Stage(models.TextChoices):
    """An approval stage, in the order a request passes them."""

    TENANT = "tenant", _("Tenant approver")
    SECURITY = "security", _("Security officer")
    MANAGER = "manager", _("Tenant manager")
    OPERATOR = "operator", _("Operator")


class Kind(models.TextChoices):
    SERVER = "server", _("New server(s)")
    NETWORK = "network", _("New network")
    SERVER_START = "server_start", _("Start server")
    SERVER_STOP = "server_stop", _("Stop server")
    SERVER_REBOOT = "server_reboot", _("Reboot server")
    SERVER_DECOMMISSION = "server_decommission", _("Decommission server")
    SERVER_RESIZE = "server_resize", _("Resize server")
    SERVER_ADDRESS_ADD = "server_address_add", _("Add an external address")
    SERVER_ADDRESS_RELEASE = "server_address_release", _("Release the external address")
    SECURITY_GROUP = "security_group", _("New security group")
    SECURITY_GROUP_RULE = "security_group_rule", _("Open a firewall rule")
    SECURITY_GROUP_RULE_REMOVE = "security_group_rule_remove", _("Close a firewall rule")
    SECURITY_GROUP_DECOMMISSION = "security_group_decommission", _("Delete security group")
    NETWORK_DECOMMISSION = "network_decommission", _("Decommission network")
    VOLUME = "volume", _("New volume")
    VOLUME_ATTACH = "volume_attach", _("Attach a volume")
    VOLUME_DETACH = "volume_detach", _("Detach a volume")
    VOLUME_EXTEND = "volume_extend", _("Extend a volume")
    VOLUME_DECOMMISSION = "volume_decommission", _("Decommission volume")
    QUOTA_CHANGE = "quota_change", _("Change quota")
    LEASE_EXTEND = "lease_extend", _("Extend a lease")

    @property
    def is_day2(self) -> bool:
        """A change to a resource that exists (the request names its target)."""
        return self not in (Kind.SERVER, Kind.NETWORK, Kind.SECURITY_GROUP, Kind.VOLUME,
                            Kind.QUOTA_CHANGE)  # fmt: skip

    @property
    def is_capacity(self) -> bool:
        """More capacity or more time: decided by the tenant's manager, then an operator."""
        return self in (Kind.QUOTA_CHANGE, Kind.LEASE_EXTEND)

    @property
    def on_volume(self) -> bool:
        return self.value.startswith("volume_")

    @property
    def on_security_group(self) -> bool:
        return self in (
            Kind.SECURITY_GROUP_RULE,
            Kind.SECURITY_GROUP_RULE_REMOVE,
            Kind.SECURITY_GROUP_DECOMMISSION,
        )

    @property
    def on_server(self) -> bool:
        return self.value.startswith("server_") or self == Kind.LEASE_EXTEND


#: What request list indexes carry besides their order: the access filter's and the filters'.
LIST_FILTERS = ["allocation_id", "state", "kind"]


class QuotaNeeds(models.Model):
    """What an object consumes of its allocation, one field per ``tenants.quotas`` dimension."""

    instances = models.PositiveIntegerField(default=0)
    vcpus = models.PositiveIntegerField(default=0)
    ram_mb = models.PositiveIntegerField(default=0)
    networks = models.PositiveIntegerField(default=0)
    routers = models.PositiveIntegerField(default=0)
    floating_ips = models.PositiveIntegerField(default=0)
    volumes = models.PositiveIntegerField(default=0, db_default=0)
    gigabytes = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        abstract = True


class Placed:
    """What lives in an allocation and is listed by it: its rows show ``allocation_summary``."""

    @property
    def allocation_summary(self) -> dict[str, object]:
        """``Allocation.summary`` of its allocation: as attached to a page of rows by
        ``provisioning.listing`` (read for the page at once, mostly from memory), else read."""
        known = self.__dict__.get("_allocation_summary")
        if known is None:
            known = self.__dict__["_allocation_summary"] = self.allocation.summary
        return known


class ResourceRequest(ChoiceLabels, Placed, ConcurrentTransitionMixin, QuotaNeeds):
    """What someone asked for, in which allocation, why, and where it stands."""

    kind = models.CharField(max_length=30, choices=Kind.choices)
    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="requests")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="resource_requests"
    )
    justification = models.TextField()
    spec = models.JSONField(
        default=dict, help_text=_("Validated per kind; see provisioning.specs.")
    )
    target_server = models.ForeignKey(
        "provisioning.Server", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_network = models.ForeignKey(
        "provisioning.Network", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_security_group = models.ForeignKey(
        "provisioning.SecurityGroup",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_volume = models.ForeignKey(
        "provisioning.Volume", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = FSMField(
        max_length=30,
        choices=RequestState.choices,
        default=RequestState.PENDING_APPROVAL,
        protected=True,
    )
    pending_stage = models.CharField(
        max_length=20,
        blank=True,
        choices=Stage.choices,
        help_text=_("The approval stage waiting for a decision."),
    )
    # Deadlines (provisioning.services.deadlines): how many of the decision target's reminder
    # and escalation steps were taken for the stage now waiting.
    deadline_stage = models.CharField(max_length=20, blank=True, default="", db_default="")
    deadline_step = models.PositiveSmallIntegerField(default=0, db_default=0)
    failure_reason = models.TextField(blank=True)
    status_note = models.CharField(
        max_length=300, blank=True, help_text=_("What provisioning is doing or waiting for now.")
    )
    progress = models.JSONField(
        default=dict, blank=True, help_text=_("Worker-side bookkeeping between polls.")
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Last time a worker moved this request on.")
    )
    # The lease (see provisioning.services.work): which message may move the request on next,
    # who holds it now and until when. A message carrying another token is stale and stops.
    work_token = models.PositiveBigIntegerField(
        default=0, help_text=_("Fencing token: bumped each time a worker claims the request.")
    )
    lease_owner = models.CharField(
        max_length=100, blank=True, help_text=_("The worker process holding the lease, if any.")
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the lease lapses: a worker that stopped renewing it, or a message that "
            "never arrived, is re-driven soon after."
        ),
    )
    attempts = models.PositiveIntegerField(default=0, help_text=_("Provisioning attempts so far."))
    provisioning_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)  # indexed with the id: Meta.indexes
    state_changed_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("allocation")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "state_changed_at"]),
            # The orders the request lists offer, each ending with the id (keyset pages) and
            # covering the access filter and the list filters (see resources.live_index).
            models.Index(
                fields=["created_at", "id"], include=LIST_FILTERS, name="request_created_idx"
            ),
            models.Index(
                fields=["state_changed_at", "id"], include=LIST_FILTERS, name="request_changed_idx"
            ),
            models.Index(fields=["state", "id"], include=LIST_FILTERS, name="request_state_idx"),
            # The inboxes: what waits for a decision, oldest first. The state leads the index
            # rather than being its condition: a statement a connection has run a few times is
            # prepared (DATABASE_PREPARE_THRESHOLD), PostgreSQL then plans it once for any
            # parameters, and a plan with the state as a parameter cannot use a partial index:
            # it walked every request in date order instead (0.6 s an inbox at a million).
            models.Index(
                fields=["state", "created_at", "id"],
                include=["allocation_id", "pending_stage", "requester_id"],
                name="request_waiting_idx",
            ),
            # The inboxes newest first (``?ordering=-id``), for the same reason: under a plan for
            # any parameters, an operator's inbox walked every request by its key (0.2 s) to find
            # the few waiting at the operator's stage. Migration 0028 also tells PostgreSQL that
            # the state and the stage go together (extended statistics).
            models.Index(
                fields=["state", "pending_stage", "id"],
                include=["allocation_id", "requester_id"],
                name="request_waiting_stage_idx",
            ),
            # A member's inbox counted: what waits at a stage in the member's allocations, sought
            # allocation by allocation. Through the stage's index it read what waited at the
            # stage in every allocation (10,000 entries to count 99: 3 ms to 0.8).
            models.Index(
                fields=["state", "pending_stage", "allocation"],
                include=["requester_id", "created_at", "id"],
                name="request_waiting_alloc_idx",
            ),
            # The inbox's "your own requests (someone else must decide)": a requester's waiting
            # requests. Without it, the plan kept for any parameters crossed the state's index
            # with the allocations' (10,000 rows each) to find the one: 8 ms of every inbox page.
            models.Index(
                fields=["state", "requester", "created_at", "id"],
                name="request_waiting_mine_idx",
            ),
            # The dashboard's demand per region, week on week, for someone who sees some
            # allocations: their requests of the two weeks, not every request of the two weeks
            # filtered by allocation (245,000 index entries read to keep 2,450: 68 ms to 5).
            models.Index(fields=["allocation", "created_at"], name="request_alloc_created_idx"),
            # Quota usage (every quota check, the inbox's quota impact): an allocation's requests
            # in flight, sought by state and allocation. Without it PostgreSQL crossed the
            # allocations' index with the state's (15,000 requests in flight at a million): 2 of
            # the statement's 4 ms for an inbox page's twenty allocations.
            models.Index(fields=["state", "allocation"], name="request_flight_alloc_idx"),
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(state__in=[RequestState.APPROVED, RequestState.PROVISIONING]),
                name="request_lease_due_idx",
            ),
            # The dashboard: a user's latest requests, their recent failures, and the oldest
            # requests waiting for a decision, each a short index scan at any size.
            models.Index(
                fields=["requester", "created_at", "id"], name="request_requester_recent_idx"
            ),
            models.Index(
                fields=["requester", "state_changed_at"],
                condition=models.Q(state=RequestState.FAILED),
                name="request_requester_failed_idx",
            ),
        ]
        constraints = [
            # Day 2: one request in flight per target, whatever races the services lose.
            models.UniqueConstraint(
                fields=["target_server"],
                condition=models.Q(state__in=IN_FLIGHT, target_server__isnull=False),
                name="request_one_in_flight_per_server",
                violation_error_message=_("This server already has a request in progress."),
            ),
            models.UniqueConstraint(
                fields=["target_network"],
                condition=models.Q(state__in=IN_FLIGHT, target_network__isnull=False),
                name="request_one_in_flight_per_network",
                violation_error_message=_("This network already has a request in progress."),
            ),
            models.UniqueConstraint(
                fields=["target_volume"],
                condition=models.Q(state__in=IN_FLIGHT, target_volume__isnull=False),
                name="request_one_in_flight_per_volume",
                violation_error_message=_("This volume already has a request in progress."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.title}"

    def get_absolute_url(self) -> str:
        return object_path("request-detail", self.pk)

    @property
    def title(self) -> str:
        # Day-2 specs carry the target's name as submitted: no query per row of a list.
        return (
            self.spec.get("name")
            or self.spec.get("target")
            or (
                str(
                    self.target_server
                    or self.target_network
                    or self.target_security_group
                    or self.target_volume
                    or ""
                )
                if self.pk
                else ""
            )
        )

    @property
    def is_in_flight(self) -> bool:
        return self.state in IN_FLIGHT

    # --- legal transitions (performed by provisioning.services) --------------------------------
    @transition(state, source=RequestState.PENDING_APPROVAL, target=RequestState.APPROVED)
    def approve(self) -> None: ...

    @transition(state, source=RequestState.PENDING_APPROVAL, target=RequestState.REJECTED)
    def reject(self) -> None: ...

    @transition(
        state,
        source=[RequestState.PENDING_APPROVAL, RequestState.APPROVED],
        target=RequestState.CANCELLED,
    )
    def cancel(self) -> None: ...

    @transition(state, source=RequestState.APPROVED, target=RequestState.PROVISIONING)
    def start_provisioning(self) -> None: ...

    @transition(state, source=RequestState.PROVISIONING, target=RequestState.COMPLETED)
    def complete(self) -> None: ...

    @transition(
        state, source=[RequestState.APPROVED, RequestState.PROVISIONING], target=RequestState.FAILED
    )
    def fail(self) -> None: ...

    @transition(state, source=RequestState.FAILED, target=RequestState.APPROVED)
    def retry(self) -> None: ...


class RequestTransition(models.Model):
    """One move of a request's state: the timeline pages show and SLA reports measure."""

    request = models.ForeignKey(
        ResourceRequest, on_delete=models.CASCADE, related_name="transitions"
    )
    from_state = models.CharField(max_length=30, blank=True)
    to_state = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(db_index=True)
    trace_id = models.CharField(
        max_length=64,
        blank=True,
        db_default="",
        help_text=_(
            "The request id of the work that made this move: found in the portal's logs and, "
            "as the global request id, in the cloud's."
        ),
    )

    objects = RestrictedQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("request__allocation")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"#{self.request_id}: {self.from_state or '-'} -> {self.to_state}"

    @property
    def to_state_label(self) -> str:
        return RequestState(self.to_state).label
