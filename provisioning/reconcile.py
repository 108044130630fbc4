"""Keeping the portal's view in step with the cloud, region by region.

One paginated server list and one list each of networks, floating IPs, security groups (with
their rules) and volumes per project per run; security groups are checked for drift against the
approved rules, volumes' status, size and attachments are mirrored.
Resources gone from the cloud are marked deleted; objects the portal tagged but does not know
are recorded as orphans for operators; leases are warned about and ended. (Requests that
stopped moving are the lease sweeper's, ``provisioning.services.work.work_redrive_lapsed``.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from portal.singleflight import single_flight
from provisioning import cloud
from provisioning.cloud.base import REQUEST_TAG_PREFIX, CloudError, CloudTarget
from provisioning.models import (
    IN_FLIGHT,
    FloatingIp,
    Network,
    ResourceRequest,
    SecurityGroup,
    Server,
    Volume,
)
from provisioning.services.resources import (
    floating_ip_mirror,
    orphan_record,
    orphans_resolve_missing,
    resource_mark_deleted,
    security_group_drift_record,
    server_lease_warned,
    servers_sync,
    volume_mirror,
)
from tenants.models import Allocation, CloudRegion
from tenants.rollup import usage_rollup_refresh_stale

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
    """Compare one region's clouds with the portal; returns counts of what changed.

    Single-flight per region: a run that finds another one going returns ``{"skipped": 1}``.
    The cloud is read with no transaction open; the portal's rows are then read and written in
    batches (``servers_sync``), so a run costs a constant number of queries per batch of
    servers, not per server. The region's stale usage rollup rows are refreshed at the end.
    """
    counts = {"updated": 0, "vanished": 0, "orphans": 0, "drifted": 0, "skipped": 0}
    with single_flight("reconcile", region_id) as mine:
        if not mine:
            counts["skipped"] = 1
            return counts
        region = CloudRegion.objects.select_related("site", "domain").get(pk=region_id)
        in_flight = _in_flight_ids(region)
        seen: dict[str, set[str]] = {
            "server": set(), "network": set(), "floatingip": set(), "securitygroup": set(),
            "volume": set(),
        }  # fmt: skip
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
                addresses = cloud.floating_ips_list(target)
                groups = cloud.security_groups_list(target)
                volumes = cloud.volumes_list(target)
            except CloudError as err:
                log.warning("reconcile %s / %s: %s", region, allocation.tenant, err)
                complete = False
                continue
            synced = servers_sync(allocation=allocation, infos=servers, keep=in_flight)
            counts["updated"] += synced.updated
            counts["vanished"] += synced.vanished
            counts["vanished"] += _networks(allocation, networks, in_flight)
            tagged = [(i.id, i.name, i.request_tag) for i in servers]
            counts["orphans"] += _orphans(allocation, Server, tagged, in_flight, seen["server"])
            tagged = [
                (i.id, i.name, next((t for t in i.tags if t.startswith(REQUEST_TAG_PREFIX)), None))
                for i in networks
            ]
            counts["orphans"] += _orphans(allocation, Network, tagged, in_flight, seen["network"])
            counts["vanished"] += _floating_ips(allocation, addresses, in_flight)
            tagged = [(i.id, i.address, i.request_tag) for i in addresses]
            counts["orphans"] += _orphans(
                allocation, FloatingIp, tagged, in_flight, seen["floatingip"]
            )
            vanished, drifted = _security_groups(allocation, groups, in_flight)
            counts["vanished"] += vanished
            counts["drifted"] += drifted
            tagged = [(g.id, g.name, _group_tag(g)) for g in groups]
            counts["orphans"] += _orphans(
                allocation, SecurityGroup, tagged, in_flight, seen["securitygroup"]
            )
            vanished, updated = _volumes(allocation, volumes, in_flight)
            counts["vanished"] += vanished
            counts["updated"] += updated
            tagged = [(v.id, v.name, v.request_tag) for v in volumes]
            counts["orphans"] += _orphans(allocation, Volume, tagged, in_flight, seen["volume"])
        if complete:  # an unread project must not count as "the orphan is gone"
            for kind, ids in seen.items():
                orphans_resolve_missing(region=region, kind=kind, seen_ids=ids)
        # The dashboard's usage figures: rows no change refreshed lately are recomputed, so
        # whatever a refresh after commit missed is right again within RECHECK_AFTER.
        usage_rollup_refresh_stale(Allocation.objects.filter(region=region))
    return counts


def _networks(allocation, infos, in_flight) -> int:
    present = {i.id for i in infos}
    vanished = 0
    for network in Network.objects.live().filter(allocation=allocation):
        if network.backend_id not in present and network.origin_request_id not in in_flight:
            resource_mark_deleted(network, reason="Deleted in the cloud outside the portal")
            vanished += 1
    return vanished


def _floating_ips(allocation, infos, in_flight) -> int:
    """Addresses released outside the portal are marked deleted; a changed port is mirrored."""
    by_id = {i.id: i for i in infos}
    vanished = 0
    for address in FloatingIp.objects.live().filter(allocation=allocation):
        info = by_id.get(address.backend_id)
        if info is None:
            if address.origin_request_id not in in_flight:
                resource_mark_deleted(address, reason="Released in the cloud outside the portal")
                vanished += 1
        elif (info.port_id, info.status) != (address.port_id, address.status):
            floating_ip_mirror(allocation=allocation, info=info)
    return vanished


def _volumes(allocation, infos, in_flight) -> tuple[int, int]:
    """Volumes deleted outside the portal are marked deleted; status, size and attachment are
    mirrored (a volume Nova detached when its server went shows no server again)."""
    by_id = {v.id: v for v in infos}
    vanished = updated = 0
    for volume in Volume.objects.live().filter(allocation=allocation).select_related("server"):
        info = by_id.get(volume.backend_id)
        if info is None:
            if volume.origin_request_id not in in_flight:
                resource_mark_deleted(volume, reason="Deleted in the cloud outside the portal")
                vanished += 1
            continue
        server, device = info.attachments[0] if info.attachments else (None, "")
        portal = (volume.status, volume.size_gb, volume.server.backend_id if volume.server
                  else None, volume.device)  # fmt: skip
        if portal != (info.status, info.size_gb, server, device):
            volume_mirror(allocation=allocation, info=info)
            updated += 1
    return vanished, updated


def _group_tag(group) -> str | None:
    return next((t for t in group.tags if t.startswith(REQUEST_TAG_PREFIX)), None)


def _security_groups(allocation, infos, in_flight) -> tuple[int, int]:
    """Groups gone from the cloud are marked deleted; the others' rules are checked for drift."""
    by_id = {g.id: g for g in infos}
    names = {g.id: g.name for g in infos}
    building = {f"{REQUEST_TAG_PREFIX}{request_id}" for request_id in in_flight}
    vanished = drifted = 0
    for group in SecurityGroup.objects.live().filter(allocation=allocation):
        info = by_id.get(group.backend_id)
        if info is None:
            if group.origin_request_id not in in_flight:
                resource_mark_deleted(group, reason="Deleted in the cloud outside the portal")
                vanished += 1
            continue
        drifted += security_group_drift_record(group, info, building=building, names=names)
    return vanished, drifted


def _orphans(allocation, model, tagged, in_flight, seen) -> int:
    """Objects with the portal's tag that the portal does not know, and no request is building."""
    candidates = [t for t in tagged if _request_id(t[2]) is not None]
    if not candidates:
        return 0
    known = set(
        model.objects.filter(
            allocation=allocation, backend_id__in=[backend_id for backend_id, _, _ in candidates]
        ).values_list("backend_id", flat=True)
    )
    found = 0
    for backend_id, name, tag in candidates:
        if backend_id in known or _request_id(tag) in in_flight:
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
        found += 1
    return found


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
