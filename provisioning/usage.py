"""The provisioning app's contribution to allocation usage: live resources, requests in flight.

Registered as a usage source of ``tenants.quotas`` when the app starts. Three grouped queries for
any number of allocations.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q, Sum

from provisioning.models import IN_FLIGHT, Network, RequestState, ResourceRequest, Server
from tenants.quotas import DIMENSION_KEYS

#: Requests that will consume quota whatever happens next, short of failing.
COMMITTED = (RequestState.APPROVED, RequestState.PROVISIONING)


def provisioning_usage(
    allocation_ids: list[int], *, include_pending: bool = True
) -> dict[int, dict[str, int]]:
    used: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DIMENSION_KEYS, 0))
    states = IN_FLIGHT if include_pending else COMMITTED
    in_flight = (
        ResourceRequest.objects.filter(allocation_id__in=allocation_ids, state__in=states)
        .values("allocation_id")
        .annotate(**{f"n_{key}": Sum(key) for key in DIMENSION_KEYS})
    )
    for row in in_flight:
        for key in DIMENSION_KEYS:
            used[row["allocation_id"]][key] += row[f"n_{key}"] or 0
    # A resource whose request is still in flight is already counted through the request.
    # (Those requests are few, found by the state index: a join to every origin request read
    # the whole requests table at a million rows.)
    in_flight_ids = ResourceRequest.objects.filter(
        allocation_id__in=allocation_ids, state__in=IN_FLIGHT
    ).values("id")
    settled = Q(origin_request__isnull=True) | ~Q(origin_request_id__in=in_flight_ids)
    servers = (
        Server.objects.live()
        .filter(settled, allocation_id__in=allocation_ids)
        .values("allocation_id")
        .annotate(n=Count("id"), vcpus=Sum("vcpus"), ram_mb=Sum("ram_mb"))
    )
    for row in servers:
        used[row["allocation_id"]]["instances"] += row["n"]
        used[row["allocation_id"]]["vcpus"] += row["vcpus"] or 0
        used[row["allocation_id"]]["ram_mb"] += row["ram_mb"] or 0
    networks = (
        Network.objects.live()
        .filter(settled, allocation_id__in=allocation_ids)
        .values("allocation_id")
        .annotate(n=Count("id"), routers=Count("id", filter=~Q(router_id="")))
    )
    for row in networks:
        used[row["allocation_id"]]["networks"] += row["n"]
        used[row["allocation_id"]]["routers"] += row["routers"]
    return used
