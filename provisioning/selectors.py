"""Reads of provisioning data that pass through the access layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from portal.literals import Literal
from provisioning import demand
from provisioning.availability import RegionAvailability, availability_of
from provisioning.models import (
    FloatingIp,
    Incident,
    Network,
    Notification,
    ProbedService,
    RequestState,
    ResourceRequest,
    SecurityGroup,
    Server,
    ServiceStatus,
    ShowbackDay,
    SlaFact,
    Stage,
    Volume,
)
from tenants import access_memory
from tenants.access import (
    MANAGING,
    OVERSEEING,
    Action,
    access_filter,
    anchor_filter,
    is_operator,
    managed_allocations,
    overseen_allocations,
    sees_everything,
)
from tenants.models import Allocation, CloudRegion

REQUEST_RELATED = (
    "allocation__tenant",
    "allocation__region__site",
    "allocation__region__domain",
    "requester",
)


def requests_visible_to(user, action: Action = Action.VIEW) -> QuerySet[ResourceRequest]:
    return ResourceRequest.objects.restrict(user, action).select_related(*REQUEST_RELATED)


def showback_days_visible_to(user) -> QuerySet[ShowbackDay]:
    """The daily consumption of the allocations ``user`` may see: what their showback sums."""
    return ShowbackDay.objects.restrict(user, Action.VIEW)


def sla_facts_visible_to(user) -> QuerySet[SlaFact]:
    """The SLA facts of the requests ``user`` may see: what their SLA report counts and lists."""
    return SlaFact.objects.restrict(user, Action.VIEW)


def decidable_by(user) -> Q:
    """Pending requests at a stage ``user`` may decide, whoever asked.

    Tenant stage: approvers of the tenant; security stage: officers of the domain; manager stage
    (capacity): managers of the tenant. All must be entitled to the site and cleared for the
    domain. Operators get no shortcut: a decision is a business decision, not an operation,
    except the operator stage of a capacity request (whether the cloud can give it).

    The rules are applied to the allocations (``allocation_id IN (...)``), which is the same
    rule as on the request's own paths: the database then checks each pending request by its
    allocation id alone, instead of joining its allocation and region first (the dashboard
    counts them at every view). The grants are read first and named as ids (see
    tenants.access): as nested permission subqueries this statement took 50 ms to plan.
    """
    approvable, grants = anchor_filter(
        ResourceRequest, user, Action.APPROVE, also=(*OVERSEEING, *MANAGING)
    )
    if approvable is None:
        approvable = Q(allocation__in=Allocation.objects.filter(
            access_filter(Allocation, user, Action.APPROVE)).values("pk"))  # fmt: skip
    stages = Q(pending_stage=Stage.TENANT) & approvable
    # The security officers of the domain, then (capacity: quota, leases) the tenant's managers:
    # their allocations are remembered ids, and a stage the user decides nowhere is left out.
    if (overseen := overseen_allocations(user, grants)) is not None:
        stages |= Q(pending_stage=Stage.SECURITY) & overseen
    if (managed := managed_allocations(user, grants)) is not None:
        stages |= Q(pending_stage=Stage.MANAGER) & managed
    # Whether the user is an operator comes from the permissions read with the user (remembered
    # between requests): as an EXISTS over the permission tables in every inbox statement it
    # cost a member 9 ms an answer to compile, for a clause that is false for them. The stage is
    # written into the statement (portal.literals): a plan kept for any parameters then knows
    # that few requests wait at it.
    if is_operator(user):
        stages |= Q(pending_stage=Literal(Stage.OPERATOR))
    return Q(state=RequestState.PENDING_APPROVAL) & stages


def requests_awaiting(user, decidable: Q | None = None) -> QuerySet[ResourceRequest]:
    """Requests waiting for a decision this user may take, never their own (four-eyes).

    ``decidable``: ``decidable_by(user)`` if the caller already has it (a page showing both
    inbox lists reads the user's grants once)."""
    if not (user.is_authenticated and user.is_active):
        return ResourceRequest.objects.none()
    return (
        ResourceRequest.objects.filter(decidable if decidable is not None else decidable_by(user))
        .exclude(requester=user)
        .exclude(approvals__decided_by=user)
        .select_related(*REQUEST_RELATED)
        .order_by("created_at", "id")
    )


def requests_awaiting_first(user, *, first: int, cap: int) -> tuple[list[ResourceRequest], int]:
    """The ``first`` requests waiting longest for the user's decision, and how many wait,
    counted no further than ``cap + 1`` (a page says "100+" rather than counting a backlog of
    any size on every view).

    One access-filtered read of at most ``cap + 1`` ids, then the few shown by primary key,
    with their requester; their places are the caller's to attach with the rest of its page
    (``provisioning.listing.attach_allocations``), as the dashboard does.
    """
    ids = list(requests_awaiting(user).values_list("pk", flat=True)[: cap + 1])
    shown = ResourceRequest.objects.filter(pk__in=ids[:first]).select_related("requester")
    return sorted(shown, key=lambda r: ids.index(r.pk)), len(ids)


def own_requests_awaiting_others(user, decidable: Q | None = None) -> QuerySet[ResourceRequest]:
    """The user's own pending requests at a stage they could otherwise decide: someone else
    must (the mirror image of ``requests_awaiting``)."""
    if not (user.is_authenticated and user.is_active):
        return ResourceRequest.objects.none()
    return (
        ResourceRequest.objects.filter(
            decidable if decidable is not None else decidable_by(user), requester=user
        )
        .select_related(*REQUEST_RELATED)
        .order_by("created_at", "id")
    )


def lease_lapsed() -> Q:
    """Approved or provisioning, and the work lease lapsed (or was never set): no worker holds
    the request. The one definition the lease sweeper and the operations page share."""
    return Q(state__in=[RequestState.APPROVED, RequestState.PROVISIONING]) & (
        Q(lease_expires_at__lt=timezone.now()) | Q(lease_expires_at__isnull=True)
    )


def requests_stuck(user) -> QuerySet[ResourceRequest]:
    """Requests whose work lease lapsed, as far as ``user`` may see them.

    The lease sweeper re-drives them within seconds; one that stays here is failing to be
    claimed (no worker consumes its queue, the database refuses the worker).
    """
    return requests_visible_to(user).filter(lease_lapsed()).order_by("state_changed_at")


def servers_visible_to(user, action: Action = Action.VIEW) -> QuerySet[Server]:
    return Server.objects.restrict(user, action).select_related(
        "allocation__tenant", "allocation__region__site", "allocation__region__domain"
    )


def networks_visible_to(user, action: Action = Action.VIEW) -> QuerySet[Network]:
    return Network.objects.restrict(user, action).select_related(
        "allocation__tenant", "allocation__region__site", "allocation__region__domain"
    )


def security_groups_visible_to(user, action: Action = Action.VIEW) -> QuerySet[SecurityGroup]:
    return SecurityGroup.objects.restrict(user, action).select_related(
        "allocation__tenant", "allocation__region__site", "allocation__region__domain"
    )


def volumes_visible_to(user, action: Action = Action.VIEW) -> QuerySet[Volume]:
    return Volume.objects.restrict(user, action).select_related(
        "allocation__tenant", "allocation__region__site", "allocation__region__domain"
    )


def recent_requests_of(user, limit: int = 8) -> QuerySet[ResourceRequest]:
    """The user's own latest requests, for the dashboard."""
    return requests_visible_to(user).filter(requester=user).order_by("-created_at", "-id")[:limit]


def recent_failures_of(user, days: int = 7) -> QuerySet[ResourceRequest]:
    """The user's requests that failed lately and were not retried."""
    since = timezone.now() - timedelta(days=days)
    return (
        requests_visible_to(user)
        .filter(requester=user, state=RequestState.FAILED, state_changed_at__gte=since)
        .order_by("-state_changed_at")[:5]
    )


@dataclass(frozen=True)
class Trend:
    """New requests in a region: the last ``days`` against the ``days`` before them."""

    recent: int = 0
    before: int = 0

    @property
    def direction(self) -> str:
        if self.recent == self.before:
            return "flat"
        return "up" if self.recent > self.before else "down"


def request_trend_by_region(user, days: int = 7) -> dict[int, Trend]:
    """Demand per region, week on week, for the dashboard's totals, counted by whole hours (the
    current one included).

    Someone who sees the whole estate reads the kept counts (``provisioning.demand``): at most
    regions x hours rows, where counting the requests read every request of the two weeks.
    Anyone else counts their own allocations' requests, read from the (allocation, created_at)
    index: what they see, not the estate.
    """
    end = demand.hour_of(timezone.now()) + timedelta(hours=1)
    split, since = end - timedelta(days=days), end - timedelta(days=2 * days)
    if sees_everything(user):
        return {
            region: Trend(recent, before)
            for region, (recent, before) in demand.trend_by_region(since, split).items()
        }
    rows = (
        requests_visible_to(user)
        .filter(created_at__gte=since)
        .order_by()
        .values("allocation__region")
        .annotate(
            recent=Count("pk", filter=Q(created_at__gte=split)),
            before=Count("pk", filter=Q(created_at__lt=split)),
        )
    )
    return {row["allocation__region"]: Trend(row["recent"], row["before"]) for row in rows}


def leases_ending_for(user) -> QuerySet[Server]:
    """Live servers the user can see whose lease ends within the warning period."""
    horizon = timezone.now() + timedelta(days=settings.PORTAL_LEASE_WARNING_DAYS)
    return (
        servers_visible_to(user)
        .filter(deleted_at__isnull=True, lease_end__isnull=False, lease_end__lte=horizon)
        .order_by("lease_end")[:10]
    )


def allocation_choices(user) -> dict[str, list[tuple[str, str]]]:
    """Tenants, sites and domains of the allocations ``user`` may see, for the filter selects.

    Read from the allocations (a small table, one query), not from the list being filtered,
    which can hold a million rows; a choice may find nothing, which the list then says.
    Remembered at the access generation (``tenants.access_memory``): for an operator the
    distinct places of 10,000 allocations took 12 ms of every list page.
    """
    return access_memory.recall(
        ("allocation-choices", user.pk), access_memory.generation_for(user), lambda: _read(user)
    )


def _read(user) -> dict[str, list[tuple[str, str]]]:
    rows = (
        Allocation.objects.restrict(user, Action.VIEW)
        .order_by()
        .values_list(
            "tenant__slug",
            "tenant__name",
            "region__site__slug",
            "region__site__name",
            "region__domain__slug",
            "region__domain__name",
        )
    )
    tenants, sites, domains = set(), set(), set()
    for t_slug, t_name, s_slug, s_name, d_slug, d_name in rows.distinct():
        tenants.add((t_slug, t_name))
        sites.add((s_slug, s_name))
        domains.add((d_slug, d_name))
    by_name = lambda pairs: sorted(pairs, key=lambda p: p[1])  # noqa: E731
    return {"tenants": by_name(tenants), "sites": by_name(sites), "domains": by_name(domains)}


def notifications_of(user) -> QuerySet[Notification]:
    """A person's own notifications, newest first: nobody reads another's, operators included."""
    return Notification.objects.filter(user=user)


@dataclass
class SearchResults:
    """What one search found, per kind: at most ``limit`` each, and whether there were more."""

    query: str
    servers: list[Server]
    networks: list[Network]
    volumes: list[Volume]
    requests: list[ResourceRequest]
    more: dict[str, bool]

    @property
    def empty(self) -> bool:
        return not (self.servers or self.networks or self.volumes or self.requests)

    @property
    def domains(self) -> set:
        found = (*self.servers, *self.networks, *self.volumes, *self.requests)
        return {row.allocation.region.domain for row in found}


def _looks_like_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def search_everything(user, query: str, *, limit: int = 10) -> SearchResults:
    """Servers, networks, volumes and requests the user may see, by name, number, cloud id or
    address: four queries whatever the size of the cloud (each kind read once, ``limit + 1``
    rows, through the access layer), five for an address.

    A name matches by "contains" (the lists' trigram indexes); ``#12`` or ``12`` is a request's
    number or a resource's id; an IPv4 address is a server's external address (indexed) or one
    of its own addresses (read from the server's address list, which has no index of its own:
    at a million servers that part of a search scans the visible servers).
    """
    query = query.strip()[:200]
    number = query.removeprefix("#")
    by_number = int(number) if number.isdigit() and len(number) <= 18 else None
    resource_match = Q(name__icontains=query) | Q(backend_id=query)
    if by_number is not None:
        resource_match |= Q(pk=by_number)
    server_match = resource_match
    if _looks_like_ipv4(query):
        external = FloatingIp.objects.live().filter(address=query).values("server_id")
        # The quotes keep 10.0.0.5 from matching 10.0.0.50 inside the stored list.
        server_match |= Q(pk__in=external) | Q(addresses__icontains=f'"{query}"')
    request_match = Q(spec__name__icontains=query)
    if by_number is not None:
        request_match |= Q(pk=by_number)

    def first(queryset: QuerySet, kind: str) -> list:
        rows = list(queryset[: limit + 1])
        more[kind] = len(rows) > limit
        return rows[:limit]

    more: dict[str, bool] = {}
    return SearchResults(
        query=query,
        servers=first(servers_visible_to(user).live().filter(server_match), "servers"),
        networks=first(networks_visible_to(user).live().filter(resource_match), "networks"),
        volumes=first(volumes_visible_to(user).live().filter(resource_match), "volumes"),
        requests=first(
            requests_visible_to(user)
            .select_related(*REQUEST_RELATED)
            .filter(request_match)
            .order_by("-created_at", "-id"),
            "requests",
        ),
        more=more,
    )


# --- availability -------------------------------------------------------------------------

#: The periods the status page shows availability over.
STATUS_WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
#: A region whose last probe is older than this many periods is "not measured lately".
STALE_AFTER_PERIODS = 3
#: Incidents listed on the status page (the API pages them all).
STATUS_INCIDENTS = 50


@dataclass
class RegionStatus:
    """One region as its status page row shows it: now, and over the last day, week, month."""

    region: CloudRegion
    state: str  # up, degraded, down, unknown
    checks: dict[str, ServiceStatus]
    day: RegionAvailability
    week: RegionAvailability
    month: RegionAvailability

    @property
    def open_incidents(self) -> list[Incident]:
        return [i for i in self.month.incidents if i.ended_at is None]

    @property
    def last_probe_at(self):
        whole = self.checks.get(ProbedService.REGION)
        return whole.at if whole else None

    @property
    def services(self) -> list[tuple[str, str, ServiceStatus | None, object]]:
        """(key, label, latest check, day figures) of each service, the region's first."""
        return [
            (key, label, self.checks.get(key), self.day.services.get(key))
            for key, label in ProbedService.choices
            if key == ProbedService.REGION or key in self.checks
        ]


def region_state(checks: dict[str, ServiceStatus], now, every: timedelta) -> str:
    """up: its last probe found every service answering; down: none answered; degraded: some
    did; unknown: not probed within ``STALE_AFTER_PERIODS`` periods."""
    whole = checks.get(ProbedService.REGION)
    if whole is None or now - whole.at > STALE_AFTER_PERIODS * every:
        return "unknown"
    if whole.ok:
        return "up"
    services = [c for key, c in checks.items() if key != ProbedService.REGION and c.at == whole.at]
    return "degraded" if any(c.ok for c in services) else "down"


def region_status_for(user, now=None) -> list[RegionStatus]:
    """The regions ``user`` is entitled to see (site and clearance), each with its state now and
    its availability over the last day, week and month: eight queries for any number."""
    now = now or timezone.now()
    every = timedelta(seconds=settings.PORTAL_PROBE_EVERY)
    regions = regions_visible_to(user)
    ids = [r.pk for r in regions]
    checks: dict[int, dict[str, ServiceStatus]] = {pk: {} for pk in ids}
    for check in ServiceStatus.objects.filter(region_id__in=ids):
        checks[check.region_id][check.service] = check
    day = availability_of(regions, now - STATUS_WINDOWS["day"], now, incidents=False)
    week = availability_of(
        regions, now - STATUS_WINDOWS["week"], now, latency=False, incidents=False
    )
    month = availability_of(regions, now - STATUS_WINDOWS["month"], now, latency=False)
    return [
        RegionStatus(region, region_state(checks[region.pk], now, every), checks[region.pk],
                     d, w, m)
        for region, d, w, m in zip(regions, day, week, month, strict=True)
    ]  # fmt: skip


def incidents_visible_to(user) -> QuerySet[Incident]:
    """Incidents of the regions ``user`` may see, newest first."""
    return Incident.objects.restrict(user).select_related("region__site", "region__domain")


def availability_report_for(user, since, until) -> list[RegionAvailability]:
    """The regions ``user`` may see over [since, until), each against its target: what the SLA
    report adds to its decision and build times. Four queries for any period."""
    return availability_of(regions_visible_to(user), since, until, latency=(ProbedService.REGION,))


def regions_visible_to(user) -> list[CloudRegion]:
    """The regions ``user`` is entitled to (site and clearance), by site, domain level, slug."""
    return list(
        CloudRegion.objects.restrict(user)
        .select_related("site", "domain")
        .order_by("site__name", "domain__level", "slug")
    )
