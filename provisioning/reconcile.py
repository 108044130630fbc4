"""Keeping the portal's view in step with the cloud, region by region.

One paginated server list and one network list per project per run. Resources gone from the
cloud are marked deleted; objects the portal tagged but does not know are recorded as orphans
for operators; requests that stopped moving are re-driven; leases are warned about and ended.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from provisioning import cloud
from provisioning.cloud.base import REQUEST_TAG_PREFIX, CloudError, CloudTarget
from provisioning.models import IN_FLIGHT, Network, RequestState, ResourceRequest, Server
from provisioning.services.resources import (
    orphan_record,
    orphans_resolve_missing,
    resource_mark_deleted,
    server_lease_warned,
    server_mirror,
)
from tenants.models import Allocation, CloudRegion

log = logging.getLogger(__name__)


def regions_to_reconcile() -> list[int]:
    return list(
        CloudRegion.objects.filter(enabled=True, allocations__project_id__gt="")
        .distinct()
        .values_list("pk", flat=True)
    )


def _request_id(tag: str | None) -> int | None:
    """``portal-request-12.1.3`` -> 12."""
    if not tag or not tag.startswith(REQUEST_TAG_PREFIX):
        return None
    head = tag[len(REQUEST_TAG_PREFIX) :].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _in_flight_ids(region: CloudRegion) -> set[int]:
    return set(
        ResourceRequest.objects.filter(allocation__region=region, state__in=IN_FLIGHT).values_list(
            "pk", flat=True
        )
    )


def reconcile_region(region_id: int) -> dict[str, int]:
    """Compare one region's clouds with the portal; returns counts of what changed."""
    region = CloudRegion.objects.select_related("site", "domain").get(pk=region_id)
    counts = {"updated": 0, "vanished": 0, "orphans": 0}
    in_flight = _in_flight_ids(region)
    seen: dict[str, set[str]] = {"server": set(), "network": set()}
    allocations = (
        Allocation.objects.filter(region=region)
        .exclude(project_id="")
        .select_related("tenant", "region__site", "region__domain")
    )
    complete = True
    for allocation in allocations:
        target = CloudTarget(cloud=region.cloud_name, project_id=allocation.project_id)
        try:
            servers = cloud.servers_list(target)
            networks = cloud.networks_list(target)
        except CloudError as err:
            log.warning("reconcile %s / %s: %s", region, allocation.tenant, err)
            complete = False
            continue
        _servers(allocation, servers, in_flight, counts, seen["server"])
        _networks(allocation, networks, in_flight, counts, seen["network"])
    if complete:  # an unread project must not count as "the orphan is gone"
        for kind, ids in seen.items():
            orphans_resolve_missing(region=region, kind=kind, seen_ids=ids)
    return counts


def _servers(allocation, infos, in_flight, counts, seen) -> None:
    by_id = {i.id: i for i in infos}
    for server in (
        Server.objects.live().filter(allocation=allocation).select_related("origin_request")
    ):
        info = by_id.get(server.backend_id)
        if info is not None:
            before = (server.status, server.addresses)
            server = server_mirror(allocation=allocation, info=info)
            counts["updated"] += (server.status, server.addresses) != before
        elif server.origin_request_id not in in_flight:
            resource_mark_deleted(server, reason="Deleted in the cloud outside the portal")
            counts["vanished"] += 1
    tagged = [(i.id, i.name, i.request_tag) for i in infos]
    _orphans(allocation, Server, tagged, in_flight, counts, seen)


def _networks(allocation, infos, in_flight, counts, seen) -> None:
    by_id = {i.id: i for i in infos}
    for network in Network.objects.live().filter(allocation=allocation):
        if network.backend_id not in by_id and network.origin_request_id not in in_flight:
            resource_mark_deleted(network, reason="Deleted in the cloud outside the portal")
            counts["vanished"] += 1
    tagged = [
        (i.id, i.name, next((t for t in i.tags if t.startswith(REQUEST_TAG_PREFIX)), None))
        for i in infos
    ]
    _orphans(allocation, Network, tagged, in_flight, counts, seen)


def _orphans(allocation, model, tagged, in_flight, counts, seen) -> None:
    """Objects with the portal's tag that the portal does not know, and no request is building."""
    known = set(model.objects.filter(allocation=allocation).values_list("backend_id", flat=True))
    for backend_id, name, tag in tagged:
        request_id = _request_id(tag)
        if request_id is None or backend_id in known or request_id in in_flight:
            continue
        orphan_record(
            region=allocation.region,
            kind=model._meta.model_name,
            backend_id=backend_id,
            project_id=allocation.project_id,
            name=name,
            tag=tag,
        )
        seen.add(backend_id)
        counts["orphans"] += 1


def stuck_requests(region_id: int) -> list[int]:
    """Approved or provisioning requests no worker has moved on for a while.

    They lost their message (a broker restart) or their worker; ``advance`` is idempotent, so
    re-driving one that is merely slow costs a cloud read, nothing more.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.PORTAL_STUCK_AFTER)
    quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, state_changed_at__lt=cutoff)
    return list(
        ResourceRequest.objects.filter(
            allocation__region_id=region_id,
            state__in=[RequestState.APPROVED, RequestState.PROVISIONING],
        )
        .filter(quiet)
        .values_list("pk", flat=True)
    )


def leases_run() -> dict[str, int]:
    """Warn owners before a lease ends; decommission servers whose lease has ended."""
    from provisioning.services.requests import lease_expire

    now = timezone.now()
    warn_from = now + timedelta(days=settings.PORTAL_LEASE_WARNING_DAYS)
    warned = 0
    for server in Server.objects.live().filter(
        lease_end__lte=warn_from, lease_end__gt=now, lease_warned_at__isnull=True
    ):
        server_lease_warned(server=server)
        warned += 1
    expired = 0
    for server in (
        Server.objects.live()
        .filter(lease_end__lte=now)
        .select_related("allocation__region", "origin_request__requester")
    ):
        if lease_expire(server=server) is not None:
            expired += 1
    return {"warned": warned, "expired": expired}
