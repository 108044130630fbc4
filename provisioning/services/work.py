"""The worker's side of a request: leases, fencing tokens, and recording what a step did.

A provisioning step is three moves, and no transaction is open across the cloud:

1. ``work_claim``: lock the request, check the message's token, start provisioning if it was
   approved, take the lease (owner, expiry, a new token), commit. What the step needs leaves
   as a plain ``WorkItem``.
2. The step calls the cloud with no transaction open (``provisioning.steps``), while a
   ``LeaseKeeper`` thread renews the lease.
3. ``work_record``: lock the request again, check the token is still ours (nobody re-drove the
   request meanwhile), write the mirror rows, progress, transition and audit events, schedule the
   next poll through the outbox, commit.

The token makes a request's messages a single chain: each message carries the token the request
had when it was sent, and a claim bumps it, so a duplicate, a redelivered or a stale message
finds another token and stops. ``work_redrive_lapsed`` (every few seconds from beat) re-drives
requests whose lease lapsed: a worker killed mid-step stops renewing, a message lost with the
broker never claims.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.audit import audit_record
from portal.outbox import enqueue
from portal.singleflight import single_flight
from provisioning import notifications
from provisioning.cloud.base import (
    CloudTarget,
    FloatingIpInfo,
    NetworkSetup,
    SecurityGroupInfo,
    SecurityRule,
    ServerInfo,
    VolumeInfo,
)
from provisioning.models import Kind, RequestState, ResourceRequest
from provisioning.selectors import lease_lapsed
from provisioning.services.allocations import cloud_limits
from provisioning.services.capacity import capacity_record
from provisioning.services.resources import (
    floating_ip_mirror,
    network_mirror,
    resource_mark_deleted,
    security_group_mirror,
    security_group_rule_closed,
    security_group_rule_record,
    server_mirror,
    volume_mirror,
)
from provisioning.services.transitions import (
    NOTE_COMPLETED,
    attempt_note,
    requests_locked,
    transition,
)
from tenants.quotas import DIMENSIONS

log = logging.getLogger(__name__)

ADVANCE_TASK = "provisioning.tasks.advance_request"
PROJECT_TASK = "provisioning.tasks.allocation_project"
#: Seconds added to the cloud API timeout before a taken-over request creates anything new.
SETTLE_MARGIN = 5


def worker_identity() -> str:
    """Who holds a lease: host and process, as operators find them in ``ps``."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


@dataclass
class WorkItem:
    """What a step needs, read under the lock and carried outside the transaction."""

    request_id: int
    kind: Kind
    token: int
    attempt: int
    spec: dict[str, Any]
    progress: dict[str, Any]
    target: CloudTarget
    server_backend_id: str = ""
    server_name: str = ""
    network_tag: str = ""
    #: The target server's external addresses (cloud ids), released with it or on request.
    floating_ip_ids: tuple[str, ...] = ()
    #: The cloud ids of the target server's networks that have a router to the outside.
    routed_network_ids: tuple[str, ...] = ()
    #: The target security group's cloud id and tag (a rule request, a deletion).
    security_group_backend_id: str = ""
    security_group_tag: str = ""
    #: The target volume's cloud id and name (volume requests).
    volume_backend_id: str = ""
    volume_name: str = ""
    #: A quota change: the project's quotas in the cloud's names, as asked for and as they are
    #: in the portal now (what a failed push is set back to); empty when quotas are not pushed.
    quota_limits: dict[str, int] = field(default_factory=dict)
    quota_previous: dict[str, int] = field(default_factory=dict)
    #: The deadline passed: the reason to fail with (after cleaning up).
    expired: str = ""
    #: A worker that stopped (or was fenced out) may have had a create in flight until then:
    #: nothing new is created before it, so what it asked for can still be found by its tag.
    settle_until: datetime | None = None
    #: The first step of the attempt: no create can have been sent for its tags before.
    fresh: bool = False
    #: True once the request was taken over under this step: stop calling the cloud.
    fenced: Callable[[], bool] = lambda: False

    def settling(self) -> bool:
        return self.settle_until is not None and timezone.now() < self.settle_until


@dataclass
class StepResult:
    """What a step saw and did in the cloud, for ``work_record`` to write down.

    Neither finished nor failed means "look again later" (still building, or the cloud did not
    answer: ``status_note`` says which).
    """

    progress: dict[str, Any]
    status_note: str = ""
    finished: bool = False
    #: A permanent failure: the reason for the requester (what was cleaned up included).
    failed: str = ""
    #: (tag, info) of servers built or watched.
    servers: list[tuple[str, ServerInfo]] = field(default_factory=list)
    network: NetworkSetup | None = None
    #: The request's target is gone from the cloud: why.
    target_deleted: str = ""
    #: (tag, info) of the floating IP made or given to the server.
    floating_ip: tuple[str, FloatingIpInfo] | None = None
    #: Cloud ids of floating IPs released (the target server's).
    released_ips: list[str] = field(default_factory=list)
    #: (tag, info) of a security group made.
    security_group: tuple[str, SecurityGroupInfo] | None = None
    #: A security group rule made (or found already there) for a rule request.
    rule: SecurityRule | None = None
    #: The portal's id of a rule closed in the cloud.
    removed_rule: int | None = None
    #: (tag, info) of a volume made for a volume request.
    volume: tuple[str, VolumeInfo] | None = None
    #: Volumes watched by a day-2 step (attached, detached, extended): mirrored as seen.
    volumes: list[VolumeInfo] = field(default_factory=list)
    #: Failure clean-up removed what this attempt built.
    cleaned_up: bool = False
    #: A capacity request's change is in place in the cloud (or needs none): record it.
    capacity_done: bool = False


def poll_delay(polls: int) -> float:
    return min(settings.PORTAL_POLL_FIRST * (2 ** max(polls, 0)), settings.PORTAL_POLL_MAX)


def _queued_lease(now: datetime, resent: int = 0) -> datetime:
    """By when a message must have been claimed before the request is re-driven.

    Doubled for each time the same wait was already re-sent: under a long backlog a message is
    late, not lost, and re-sending it ever faster would only add duplicates to the queue.
    """
    return now + timedelta(seconds=settings.PORTAL_LEASE_QUEUE_GRACE * 2 ** min(resent, 6))


def _send(request: ResourceRequest, *, polls: int = 0, countdown: float | None = None) -> None:
    """The next message of the request's chain, carrying its current token (in the outbox)."""
    enqueue(ADVANCE_TASK, request.pk, request.work_token, polls, countdown=countdown)


def work_start(request: ResourceRequest) -> None:
    """Hand a request just approved (or retried) to the workers, in the caller's transaction."""
    request.lease_owner = ""
    request.lease_expires_at = _queued_lease(timezone.now())
    request.save(update_fields=["lease_owner", "lease_expires_at"])
    _send(request)


def work_take_over(request: ResourceRequest, *, actor, reason: str) -> None:
    """Start a new chain for the request and fence out the old one (whatever it is doing).

    For an operator's re-drive and for lapsed leases. Safe at any time: a fenced-out worker's
    results are discarded, and its cloud objects are found by their tag by the new chain.
    """
    before = {"token": request.work_token, "owner": request.lease_owner}
    progress = dict(request.progress or {})
    resent = 0
    if request.lease_owner:
        # The old holder may be inside a cloud call (a create the cloud will still carry out):
        # the new chain creates nothing new until that call has surely ended.
        progress["settle_until"] = _settle_until(request).isoformat()
    else:
        resent = progress.get("resent", 0) + 1
    progress["resent"] = resent
    request.progress = progress
    request.work_token += 1
    request.lease_owner = ""
    request.lease_expires_at = _queued_lease(timezone.now(), resent)
    request.status_note = reason[:300]
    request.save(
        update_fields=["work_token", "lease_owner", "lease_expires_at", "status_note", "progress"]
    )
    audit_record(
        actor=actor,
        action="request.redrive",
        obj=request,
        before=before,
        after={"state": request.state, "token": request.work_token, "reason": reason},
        tenant=request.allocation.tenant,
        region=request.allocation.region,
    )
    _send(request)


def _settle_until(request: ResourceRequest) -> datetime:
    """When every cloud call of the lease's holder has surely ended.

    A holder renews every third of the lease, so one that stopped renewing stopped within a
    third of a lease after its last renewal; a live one taken over notices within a third of a
    lease. Its last call then ends within the API timeout.
    """
    lease = timedelta(seconds=settings.PORTAL_LEASE_SECONDS)
    now = timezone.now()
    renewed = (request.lease_expires_at or now) - lease
    stopped = min(max(renewed, now - lease), now) + lease / 3
    if request.lease_expires_at and request.lease_expires_at > now:
        stopped = now + lease / 3  # alive, as far as anyone knows: it stops at its next renewal
    return stopped + timedelta(seconds=settings.CLOUD_API_TIMEOUT + SETTLE_MARGIN)


def _lock_for_work(request_id: int) -> ResourceRequest | None:
    return (
        requests_locked("target_server", "target_network", "target_volume")
        .filter(pk=request_id)
        .first()
    )


def _release(request: ResourceRequest) -> None:
    request.lease_owner = ""
    request.lease_expires_at = None


def work_claim(request_id: int, *, token: int, owner: str) -> WorkItem | None:
    """Step 1: take the lease if the message is the request's current one; None to stop."""
    with transaction.atomic():
        request = _lock_for_work(request_id)
        if request is None or request.work_token != token:
            return None  # gone, or a stale message of a chain that was replaced
        now = timezone.now()
        fresh = request.state == RequestState.APPROVED
        if fresh:
            request.attempts += 1
            request.progress = {}
            transition(
                request,
                "start_provisioning",
                actor=None,
                note=attempt_note(request.attempts),
                provisioning_deadline=now
                + timedelta(seconds=settings.PORTAL_PROVISIONING_DEADLINE),
                status_note="Starting",
            )
        if request.state != RequestState.PROVISIONING:
            _release(request)
            request.save(update_fields=["lease_owner", "lease_expires_at"])
            return None
        allocation = request.allocation
        if not allocation.project_id:
            # Creating the project is work of its own; this chain looks again shortly.
            enqueue(PROJECT_TASK, allocation.pk)
            request.status_note = "Waiting for the tenant's project in the cloud"
            request.lease_expires_at = _queued_lease(now)
            request.heartbeat_at = now
            request.save(update_fields=["status_note", "lease_expires_at", "heartbeat_at"])
            _send(request, countdown=settings.PORTAL_POLL_FIRST)
            return None
        request.work_token += 1
        request.lease_owner = owner
        request.lease_expires_at = now + timedelta(seconds=settings.PORTAL_LEASE_SECONDS)
        request.heartbeat_at = now
        request.progress = {k: v for k, v in (request.progress or {}).items() if k != "resent"}
        request.save(
            update_fields=[
                "work_token", "lease_owner", "lease_expires_at", "heartbeat_at", "progress",
            ]
        )  # fmt: skip
        expired = ""
        if request.provisioning_deadline and now > request.provisioning_deadline:
            expired = (
                "Provisioning did not finish in time "
                f"({settings.PORTAL_PROVISIONING_DEADLINE // 60} minutes). "
                + (f"Last state: {request.status_note}." if request.status_note else "")
            ).strip()
        server, network = request.target_server, request.target_network
        group, volume = request.target_security_group, request.target_volume
        settle = (request.progress or {}).get("settle_until")
        floating_ip_ids: tuple[str, ...] = ()
        routed: tuple[str, ...] = ()
        if server is not None:
            floating_ip_ids = tuple(server.floating_ips.live().values_list("backend_id", flat=True))
            if request.kind == Kind.SERVER_ADDRESS_ADD:
                routed = tuple(
                    server.networks.filter(deleted_at__isnull=True)
                    .exclude(router_id="")
                    .order_by("name", "id")
                    .values_list("backend_id", flat=True)
                )
        quota_limits, quota_previous = _quota_push(request)
        return WorkItem(
            request_id=request.pk,
            kind=Kind(request.kind),
            token=request.work_token,
            attempt=request.attempts,
            spec=dict(request.spec),
            progress=dict(request.progress or {}),
            target=CloudTarget(
                cloud=allocation.region.cloud_name, project_id=allocation.project_id
            ),
            server_backend_id=server.backend_id if server else "",
            server_name=server.name if server else "",
            network_tag=network.tag if network else "",
            floating_ip_ids=floating_ip_ids,
            routed_network_ids=routed,
            security_group_backend_id=group.backend_id if group else "",
            security_group_tag=group.tag if group else "",
            volume_backend_id=volume.backend_id if volume else "",
            volume_name=volume.name if volume else "",
            quota_limits=quota_limits,
            quota_previous=quota_previous,
            expired=expired,
            settle_until=parse_datetime(settle) if settle else None,
            fresh=fresh,
        )


def _quota_push(request: ResourceRequest) -> tuple[dict[str, int], dict[str, int]]:
    """For a quota change: the cloud's quotas as asked for, and as the portal holds them now."""
    if request.kind != Kind.QUOTA_CHANGE or not settings.PORTAL_PUSH_QUOTAS:
        return {}, {}
    previous = cloud_limits(request.allocation)
    wanted = dict(previous)
    for dimension in DIMENSIONS:
        if dimension.key in request.spec["limits"]:
            for name in dimension.cloud_quotas:
                wanted[name] = request.spec["limits"][dimension.key]
    return wanted, previous


def lease_renew(request_id: int, *, token: int) -> bool:
    """Push the lease's expiry on; False when the request was taken over (fenced out)."""
    expires = timezone.now() + timedelta(seconds=settings.PORTAL_LEASE_SECONDS)
    return bool(
        ResourceRequest.objects.filter(pk=request_id, work_token=token).update(
            lease_expires_at=expires
        )
    )


class LeaseKeeper:
    """Renews a claimed lease from a thread while the step calls the cloud.

    A worker that dies stops renewing and its lease lapses within ``PORTAL_LEASE_SECONDS``; a
    worker that is merely slow keeps it. ``lost`` turns true when the request was re-driven
    under it: the step's results will be discarded.
    """

    def __init__(self, request_id: int, token: int) -> None:
        self.request_id, self.token = request_id, token
        self.every = max(settings.PORTAL_LEASE_SECONDS / 3, 0.2)
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{request_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    if not lease_renew(self.request_id, token=self.token):
                        self.lost = True
                        return
                except Exception as err:  # the next round tries again; the lease may lapse
                    log.warning("request %s: renewing the lease failed: %s", self.request_id, err)
        finally:
            connections.close_all()  # this thread's own connections


def _mirror(request: ResourceRequest, result: StepResult) -> None:
    allocation = request.allocation
    if request.kind == Kind.SERVER:
        spec = request.spec
        lease_end = parse_datetime(spec["lease_end"]) if spec.get("lease_end") else None
        network_ids = [n["id"] for n in spec["networks"]]
        group_ids = [g["id"] for g in spec.get("security_groups") or ()]
        for tag, info in result.servers:
            server_mirror(
                allocation=allocation, info=info, tag=tag, origin=request,
                image_name=spec["image"], lease_end=lease_end, network_ids=network_ids,
                security_group_ids=group_ids, boot_volume_gb=spec.get("boot_volume_gb") or 0,
            )  # fmt: skip
    else:
        for _, info in result.servers:
            server_mirror(allocation=allocation, info=info)
    if result.network is not None:
        network_mirror(
            allocation=allocation, setup=result.network,
            tag=request.progress.get("network_tag", ""), origin=request,
        )  # fmt: skip
    if result.security_group is not None:
        tag, info = result.security_group
        security_group_mirror(allocation=allocation, info=info, tag=tag, origin=request)
    if result.rule is not None:
        security_group_rule_record(request=request, info=result.rule)
    if result.removed_rule is not None:
        security_group_rule_closed(request=request, rule_id=result.removed_rule)
    if result.floating_ip is not None:
        tag, info = result.floating_ip
        floating_ip_mirror(
            allocation=allocation, info=info, tag=tag, origin=request,
            server=request.target_server,
        )  # fmt: skip
    if result.volume is not None:
        tag, info = result.volume
        volume_mirror(allocation=allocation, info=info, tag=tag, origin=request)
    for info in result.volumes:
        volume_mirror(allocation=allocation, info=info)
    if result.released_ips:
        reason = f"Released by request #{request.pk}"
        for address in allocation.built_floatingips.live().filter(
            backend_id__in=result.released_ips
        ):
            resource_mark_deleted(address, reason=reason)
    if result.capacity_done:
        capacity_record(request)
    if result.target_deleted:
        target = (
            request.target_server
            or request.target_network
            or request.target_volume
            or request.target_security_group
        )
        resource_mark_deleted(target, reason=result.target_deleted)


def work_record(item: WorkItem, result: StepResult, *, polls: int) -> float | None:
    """Step 3: write what the step did if the lease is still ours; seconds to the next poll."""
    with transaction.atomic():
        request = _lock_for_work(item.request_id)
        if (
            request is None
            or request.work_token != item.token
            or request.state != RequestState.PROVISIONING
            or request.attempts != item.attempt
        ):
            log.info("request %s: re-driven meanwhile; discarding this step", item.request_id)
            return None
        now = timezone.now()
        request.progress = result.progress
        request.heartbeat_at = now
        if result.failed:
            if result.cleaned_up:
                reason = "Its request failed; removed from the cloud."
                built_by_it = (
                    *request.built_servers.live(),
                    *request.built_networks.live(),
                    *request.built_floatingips.live(),
                    *request.built_securitygroups.live(),
                    *request.built_volumes.live(),
                )
                for built in built_by_it:
                    resource_mark_deleted(built, reason=reason)
            else:
                _mirror(request, result)
            _release(request)
            transition(
                request, "fail", actor=None, note=result.failed,
                failure_reason=result.failed, status_note="Failed",
            )  # fmt: skip
            notifications.requester_outcome(request)
            return None
        _mirror(request, result)
        if result.finished:
            _release(request)
            transition(request, "complete", actor=None, note=NOTE_COMPLETED, status_note="Done")
            notifications.requester_outcome(request)
            return None
        delay = poll_delay(polls)
        request.status_note = result.status_note[:300]
        request.lease_owner = ""
        request.lease_expires_at = _queued_lease(now) + timedelta(seconds=delay)
        request.save(
            update_fields=[
                "progress", "heartbeat_at", "status_note", "lease_owner", "lease_expires_at",
            ]
        )  # fmt: skip
        _send(request, polls=polls + 1, countdown=delay)
        return delay


def work_redrive_lapsed(*, limit: int = 500) -> list[int]:
    """Re-drive every request whose lease lapsed; single-flight, a short transaction per request.

    A claimed lease that lapsed means its worker died or lost the database: the new chain fences
    it out. An unclaimed one means the message never arrived (lost with the broker, or held by a
    worker that died): a new message is sent. Returns the ids re-driven.
    """
    redriven: list[int] = []
    with single_flight("lease-sweep") as mine:
        if not mine:
            return redriven
        lapsed = ResourceRequest.objects.filter(lease_lapsed()).order_by("lease_expires_at", "id")
        for request_id in list(lapsed.values_list("pk", flat=True)[:limit]):
            with transaction.atomic():
                # Locked only if still lapsed: a worker may have claimed it since the read.
                request = requests_locked().filter(lease_lapsed(), pk=request_id).first()
                if request is None:
                    continue
                reason = (
                    f"Re-driven: the worker {request.lease_owner} stopped renewing its lease."
                    if request.lease_owner
                    else "Re-driven: its message was not picked up in time."
                )
                work_take_over(request, actor=None, reason=reason)
                redriven.append(request_id)
    if redriven:
        log.warning("re-drove %s request(s) whose lease lapsed: %s", len(redriven), redriven)
    return redriven
