"""Worker-side steps: move one request as far as the cloud allows now, idempotently.

``advance(request_id)`` is the whole protocol. It locks the request (skipping it if another
worker holds it), starts provisioning if approved, runs the step of the request's kind, and
returns how long to wait before looking again (``None``: nothing more to do). Every step finds
cloud objects by the request's tag before creating any, so a retry, a redelivered message or a
lost response never builds a second object.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from provisioning import cloud, notifications
from provisioning.cloud.base import (
    CloudError,
    CloudNotFound,
    CloudTarget,
    CloudTransientError,
    request_tag,
)
from provisioning.models import Kind, RequestState, ResourceRequest
from provisioning.services.allocations import allocation_ensure_project
from provisioning.services.resources import network_mirror, resource_mark_deleted, server_mirror
from provisioning.services.transitions import transition
from tenants.models import Allocation

log = logging.getLogger(__name__)


class StepFailed(Exception):
    """A permanent failure with a reason meant for the requester."""


def target_for(allocation: Allocation) -> CloudTarget:
    """Where to act for an allocation: its region's cloud, scoped to its project."""
    allocation_ensure_project(allocation)
    return CloudTarget(cloud=allocation.region.cloud_name, project_id=allocation.project_id)


def poll_delay(polls: int) -> float:
    return min(settings.PORTAL_POLL_FIRST * (2 ** max(polls, 0)), settings.PORTAL_POLL_MAX)


def advance(request_id: int, *, polls: int = 0) -> float | None:
    """Move the request on; seconds until it should be looked at again, or None."""
    with transaction.atomic():
        request = (
            ResourceRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "allocation__region__site",
                "allocation__region__domain",
                "allocation__tenant",
                "target_server",
                "target_network",
            )
            .filter(pk=request_id)
            .first()
        )
        if request is None:
            return None  # gone, or another worker holds it and will carry on
        now = timezone.now()
        if request.state == RequestState.APPROVED:
            deadline = now + timedelta(seconds=settings.PORTAL_PROVISIONING_DEADLINE)
            request.attempts += 1
            request.progress = {}
            transition(
                request,
                "start_provisioning",
                actor=None,
                note=f"Attempt {request.attempts}",
                provisioning_deadline=deadline,
                status_note="Starting",
            )
        if request.state != RequestState.PROVISIONING:
            return None
        request.heartbeat_at = now
        try:
            if request.provisioning_deadline and now > request.provisioning_deadline:
                raise StepFailed(
                    "Provisioning did not finish in time "
                    f"({settings.PORTAL_PROVISIONING_DEADLINE // 60} minutes). "
                    + (f"Last state: {request.status_note}." if request.status_note else "")
                )
            finished = STEPS[request.kind](request)
        except CloudTransientError as err:
            request.status_note = f"The cloud is not answering; retrying. ({err})"[:300]
            request.save(update_fields=["heartbeat_at", "status_note", "progress"])
            log.warning("request %s: transient cloud error: %s", request.pk, err)
            return poll_delay(polls)
        except (CloudError, StepFailed) as err:
            _fail(request, str(err))
            return None
        if finished:
            transition(request, "complete", actor=None, note="Completed", status_note="Done")
            transaction.on_commit(lambda: notifications.requester_outcome(request_id))
            return None
        request.save(update_fields=["heartbeat_at", "status_note", "progress"])
        return poll_delay(polls)


def _fail(request: ResourceRequest, reason: str) -> None:
    try:
        cleanup = CLEANUPS.get(request.kind)
        if cleanup:
            reason += cleanup(request)
    except CloudError as err:
        reason += f" Cleaning up failed too ({err}); operators will see what is left as orphans."
    transition(
        request, "fail", actor=None, note=reason, failure_reason=reason, status_note="Failed"
    )
    transaction.on_commit(lambda: notifications.requester_outcome(request.pk))


# --- servers --------------------------------------------------------------------------------


def _server_tags(request: ResourceRequest) -> list[tuple[str, str]]:
    """(tag, name) per server; the attempt is part of the tag so a retry starts clean."""
    spec, count = request.spec, request.spec["count"]
    return [
        (
            request_tag(f"{request.pk}.{request.attempts}.{i}"),
            spec["name"] if count == 1 else f"{spec['name']}-{i}",
        )
        for i in range(1, count + 1)
    ]


def build_servers(request: ResourceRequest) -> bool:
    spec = request.spec
    target = target_for(request.allocation)
    known = request.progress.setdefault("servers", {})
    lease_end = parse_datetime(spec["lease_end"]) if spec.get("lease_end") else None
    network_ids = [n["backend_id"] for n in spec["networks"]]
    from provisioning.models import Network

    networks = list(Network.objects.filter(pk__in=[n["id"] for n in spec["networks"]]))
    infos = []
    for tag, name in _server_tags(request):
        if tag in known:
            info = cloud.server_get(target, known[tag])
        else:
            info = cloud.server_find_or_create(
                target,
                tag=tag,
                name=name,
                flavor_id=spec["flavor_id"],
                image_id=spec["image_id"],
                network_ids=network_ids,
                key_name=spec.get("key_name") or None,
                metadata={"portal_request_id": str(request.pk)},
            )
            known[tag] = info.id
        server_mirror(
            allocation=request.allocation,
            info=info,
            tag=tag,
            origin=request,
            image_name=spec["image"],
            lease_end=lease_end,
            networks=networks,
        )
        infos.append(info)
    broken = [i for i in infos if i.is_error]
    if broken:
        faults = "; ".join(f"{i.name}: {i.fault_message or 'no fault given'}" for i in broken)
        raise StepFailed(f"The cloud could not build the server ({faults}).")
    active = sum(i.is_active for i in infos)
    request.status_note = f"{active} of {len(infos)} servers active"
    return active == len(infos)


def cleanup_servers(request: ResourceRequest) -> str:
    """Delete whatever this attempt built, so a failure never leaves a half-built VM behind."""
    if request.kind != Kind.SERVER or not request.allocation.project_id:
        return ""
    target = target_for(request.allocation)
    deleted = []
    for tag, _ in _server_tags(request):
        info = cloud.server_find_by_tag(target, tag)
        if info is not None:
            cloud.server_delete(target, info.id)
            deleted.append(info.name)
    for server in request.built_servers.filter(deleted_at__isnull=True):
        resource_mark_deleted(server, reason="Its request failed; removed from the cloud.")
    return f" The partly built servers were deleted: {', '.join(deleted)}." if deleted else ""


# --- networks -------------------------------------------------------------------------------


def _network_tag(request: ResourceRequest) -> str:
    return request_tag(f"{request.pk}.{request.attempts}")


def build_network(request: ResourceRequest) -> bool:
    spec = request.spec
    target = target_for(request.allocation)
    setup = cloud.network_find_or_create(
        target,
        tag=_network_tag(request),
        name=spec["name"],
        cidr=spec["cidr"],
        gateway_ip=spec.get("gateway"),
        dns_nameservers=spec.get("dns") or (),
        with_router=spec.get("router", False),
    )
    network_mirror(
        allocation=request.allocation, setup=setup, tag=_network_tag(request), origin=request
    )
    request.status_note = "Network ready"
    return True


def cleanup_network(request: ResourceRequest) -> str:
    if not request.allocation.project_id:
        return ""
    target = target_for(request.allocation)
    removed = cloud.network_delete_by_tag(target, _network_tag(request))
    for network in request.built_networks.filter(deleted_at__isnull=True):
        resource_mark_deleted(network, reason="Its request failed; removed from the cloud.")
    return " What was partly built was removed." if removed else ""


# --- day 2 ----------------------------------------------------------------------------------

POWER = {
    Kind.SERVER_START: (cloud.server_start, {"ACTIVE"}),
    Kind.SERVER_STOP: (cloud.server_stop, {"SHUTOFF"}),
    Kind.SERVER_REBOOT: (cloud.server_reboot, {"ACTIVE"}),
}


def power_action(request: ResourceRequest) -> bool:
    server = request.target_server
    target = target_for(request.allocation)
    action, wanted = POWER[Kind(request.kind)]
    info = cloud.server_get(target, server.backend_id)
    if not request.progress.get("issued"):
        already = info.status in wanted and request.kind != Kind.SERVER_REBOOT
        if not already:
            action(target, server.backend_id)
            info = cloud.server_get(target, server.backend_id)
        request.progress["issued"] = True
    server_mirror(allocation=request.allocation, info=info)
    if info.is_error:
        raise StepFailed(f"{server.name} went into ERROR: {info.fault_message or 'no fault given'}")
    request.status_note = f"{server.name} is {info.status}"
    return info.status in wanted


def decommission_server(request: ResourceRequest) -> bool:
    server = request.target_server
    target = target_for(request.allocation)
    try:
        if not request.progress.get("issued"):
            cloud.server_delete(target, server.backend_id)
            request.progress["issued"] = True
        info = cloud.server_get(target, server.backend_id)
    except CloudNotFound:
        resource_mark_deleted(server, reason=f"Decommissioned by request #{request.pk}")
        return True
    request.status_note = f"Waiting for {server.name} to go ({info.status})"
    return False


def decommission_network(request: ResourceRequest) -> bool:
    network = request.target_network
    target = target_for(request.allocation)
    cloud.network_delete_by_tag(target, network.tag)
    resource_mark_deleted(network, reason=f"Decommissioned by request #{request.pk}")
    return True


STEPS = {
    Kind.SERVER: build_servers,
    Kind.NETWORK: build_network,
    Kind.SERVER_START: power_action,
    Kind.SERVER_STOP: power_action,
    Kind.SERVER_REBOOT: power_action,
    Kind.SERVER_DECOMMISSION: decommission_server,
    Kind.NETWORK_DECOMMISSION: decommission_network,
}
CLEANUPS = {Kind.SERVER: cleanup_servers, Kind.NETWORK: cleanup_network}
