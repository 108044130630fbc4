"""Keeping the rows of cloud objects (servers, networks, floating IPs, security groups, volumes)
in step with what the cloud reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record, audit_record_many
from portal.iterables import batched
from provisioning.cloud import base as cloud
from provisioning.models import (
    FloatingIp,
    Network,
    ResourceRequest,
    SecurityGroup,
    SecurityGroupRule,
    Server,
    UsageSpan,
    Volume,
)
from provisioning.services.showback import spans_observe
from tenants.models import Allocation
from tenants.rollup import usage_rollup_refresh_on_commit


def _addresses(info: cloud.ServerInfo) -> list[dict]:
    return [
        {"network": a.network, "address": a.address, "version": a.version, "type": a.kind}
        for a in info.addresses
    ]


def server_mirror(
    *,
    allocation: Allocation,
    info: cloud.ServerInfo,
    tag: str = "",
    origin: ResourceRequest | None = None,
    image_name: str = "",
    lease_end: datetime | None = None,
    network_ids: list[int] | None = None,
    security_group_ids: list[int] | None = None,
    boot_volume_gb: int = 0,
) -> Server:
    """Create or update the portal's row for a cloud server (keyed by its backend id)."""
    now = timezone.now()
    values = {
        "name": info.name,
        "status": info.status,
        "addresses": _addresses(info),
        "fault": info.fault_message,
        "last_seen_at": now,
        **_flavor(info),
    }
    server = Server.objects.filter(allocation=allocation, backend_id=info.id).first()
    if server is None:
        server = Server.objects.create(
            allocation=allocation,
            backend_id=info.id,
            tag=tag,
            origin_request=origin,
            image_name=image_name,
            lease_end=lease_end,
            boot_volume_gb=boot_volume_gb,
            **{"flavor_name": info.flavor_name, "vcpus": 0, "ram_mb": 0, **values},
        )
        if network_ids:
            server.networks.set(network_ids)
        if security_group_ids:
            server.security_groups.set(security_group_ids)
        usage_rollup_refresh_on_commit(allocation.pk)
        spans_observe(UsageSpan.Kind.SERVER, [server.pk], now=now)
        audit_record(
            actor=None,
            action="server.create",
            obj=server,
            after={"backend_id": info.id, "status": info.status, "request": origin and origin.pk},
            tenant=allocation.tenant,
            region=allocation.region,
        )
        return server
    changed = {k: v for k, v in values.items() if k != "last_seen_at" and getattr(server, k) != v}
    if not changed and server.last_seen_at and server.last_seen_at > now - SEEN_REFRESH:
        return server  # nothing new, and seen lately: no write (a poll of a server still building)
    for key, value in {**changed, "last_seen_at": now}.items():
        setattr(server, key, value)
    server.save(update_fields=[*changed, "last_seen_at"])
    if changed.keys() & {"vcpus", "ram_mb"}:
        usage_rollup_refresh_on_commit(allocation.pk)  # resized
    if changed.keys() & BILLED["server"]:
        spans_observe(UsageSpan.Kind.SERVER, [server.pk], now=now)
    if changed:
        audit_record(
            actor=None,
            action="server.update",
            obj=server,
            after=changed,
            tenant=allocation.tenant,
            region=allocation.region,
        )
    return server


#: Per kind of resource, the fields whose change starts a new usage span (showback).
BILLED = {"server": frozenset({"status", "vcpus", "ram_mb"}), "volume": frozenset({"size_gb"}),
          "floatingip": frozenset()}  # fmt: skip


def _flavor(info: cloud.ServerInfo) -> dict[str, object]:
    """The flavor as the cloud reports it (it changes with a resize); nothing if not reported."""
    if info.vcpus is None:
        return {}
    return {"flavor_name": info.flavor_name, "vcpus": info.vcpus, "ram_mb": info.ram_mb or 0}


def resource_mark_deleted(
    resource: Server | Network | FloatingIp | SecurityGroup | Volume, *, actor=None, reason: str
) -> None:
    """The resource is gone from the cloud (decommissioned, or deleted outside the portal).

    A server's volumes stay (Nova detaches them when it deletes the server): they are marked
    detached here, and the reconciler reads their state from Cinder.
    """
    if resource.deleted_at is not None:
        return
    with transaction.atomic():
        resource.deleted_at = timezone.now()
        resource.status = "DELETED"
        resource.save(update_fields=["deleted_at", "status"])
        allocation = resource.allocation
        if isinstance(resource, Server):
            Volume.objects.filter(server=resource).update(server=None, device="")
        usage_rollup_refresh_on_commit(allocation.pk)
        kind = resource._meta.model_name
        if kind in BILLED:
            spans_observe(kind, [resource.pk], now=resource.deleted_at)
        audit_record(
            actor=actor,
            action=f"{resource._meta.model_name}.delete",
            obj=resource,
            after={"reason": reason},
            tenant=allocation.tenant,
            region=allocation.region,
        )


def network_mirror(
    *,
    allocation: Allocation,
    setup: cloud.NetworkSetup,
    tag: str,
    origin: ResourceRequest | None,
) -> Network:
    network, created = Network.objects.update_or_create(
        allocation=allocation,
        backend_id=setup.network.id,
        defaults={
            "name": setup.network.name,
            "cidr": setup.subnet.cidr,
            "subnet_id": setup.subnet.id,
            "router_id": setup.router.id if setup.router else "",
            "tag": tag,
            "origin_request": origin,
            "status": setup.network.status,
            "last_seen_at": timezone.now(),
        },
    )
    usage_rollup_refresh_on_commit(allocation.pk)  # built, or its router changed
    if created:
        audit_record(
            actor=None,
            action="network.create",
            obj=network,
            after={
                "backend_id": network.backend_id,
                "cidr": network.cidr,
                "request": origin and origin.pk,
            },
            tenant=allocation.tenant,
            region=allocation.region,
        )
    return network


def floating_ip_mirror(
    *,
    allocation: Allocation,
    info: cloud.FloatingIpInfo,
    tag: str = "",
    origin: ResourceRequest | None = None,
    server: Server | None = None,
) -> FloatingIp:
    """Create or update the row of a floating IP (keyed by its cloud id), audited.

    An address taken off its port outside the portal is no longer the server's: it stays
    allocated (and counted) until it is released, which operators see in the audit log.
    """
    values = {
        "name": info.address,
        "address": info.address,
        "port_id": info.port_id,
        "status": info.status or "DOWN",
        "last_seen_at": timezone.now(),
    }
    if server is not None:
        values["server"] = server
    elif not info.port_id:
        values["server"] = None
    before = (
        FloatingIp.objects.filter(allocation=allocation, backend_id=info.id)
        .values("port_id", "status", "server_id")
        .first()
    )
    address, created = FloatingIp.objects.update_or_create(
        allocation=allocation,
        backend_id=info.id,
        defaults=values,
        create_defaults={**values, "tag": tag, "origin_request": origin},
    )
    if created:
        usage_rollup_refresh_on_commit(allocation.pk)
        spans_observe(UsageSpan.Kind.FLOATING_IP, [address.pk])
        audit_record(
            actor=None,
            action="floatingip.create",
            obj=address,
            after={
                "backend_id": info.id,
                "address": info.address,
                "server": server and server.pk,
                "request": origin and origin.pk,
            },
            tenant=allocation.tenant,
            region=allocation.region,
        )
    elif before is not None:
        after = {
            "port_id": address.port_id,
            "status": address.status,
            "server_id": address.server_id,
        }
        changed = {k: v for k, v in after.items() if before[k] != v}
        _audit_update(address, before, changed)
    return address


def _audit_update(resource, before: dict, changed: dict) -> None:
    """An audit event of what the cloud changed on a mirrored resource (nothing: none)."""
    if not changed:
        return
    allocation = resource.allocation
    audit_record(
        actor=None,
        action=f"{resource._meta.model_name}.update",
        obj=resource,
        before={k: before[k] for k in changed},
        after=changed,
        tenant=allocation.tenant,
        region=allocation.region,
    )


#: What the portal mirrors of a volume, and audits when it changes.
VOLUME_FIELDS = ("name", "size_gb", "volume_type", "status", "server_id", "device")


def volume_mirror(
    *,
    allocation: Allocation,
    info: cloud.VolumeInfo,
    tag: str = "",
    origin: ResourceRequest | None = None,
) -> Volume:
    """Create or update the row of a volume (keyed by its cloud id), audited.

    Its server is the one of the same allocation Cinder shows it attached to; a volume
    attached to a server the portal does not know (or another project's) shows no server.
    """
    server_id, device = None, ""
    if info.attachments:
        backend, device = info.attachments[0]
        server_id = (
            Server.objects.live()
            .filter(allocation=allocation, backend_id=backend)
            .values_list("pk", flat=True)
            .first()
        )
    values = {
        "name": info.name, "size_gb": info.size_gb, "volume_type": info.volume_type,
        "status": info.status, "server_id": server_id, "device": device if server_id else "",
    }  # fmt: skip
    volume = Volume.objects.filter(allocation=allocation, backend_id=info.id).first()
    now = timezone.now()
    if volume is None:
        volume = Volume.objects.create(
            allocation=allocation, backend_id=info.id, tag=tag, origin_request=origin,
            last_seen_at=now, **values,
        )  # fmt: skip
        usage_rollup_refresh_on_commit(allocation.pk)
        spans_observe(UsageSpan.Kind.VOLUME, [volume.pk], now=now)
        audit_record(
            actor=None,
            action="volume.create",
            obj=volume,
            after={"backend_id": info.id, "size_gb": info.size_gb, "request": origin and origin.pk},
            tenant=allocation.tenant,
            region=allocation.region,
        )
        return volume
    before = {k: getattr(volume, k) for k in VOLUME_FIELDS}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if not changed and volume.last_seen_at and volume.last_seen_at > now - SEEN_REFRESH:
        return volume
    for key, value in {**changed, "last_seen_at": now}.items():
        setattr(volume, key, value)
    volume.save(update_fields=[*changed, "last_seen_at"])
    if "size_gb" in changed:
        usage_rollup_refresh_on_commit(allocation.pk)  # extended
        spans_observe(UsageSpan.Kind.VOLUME, [volume.pk], now=now)
    _audit_update(volume, before, changed)
    return volume


def _rule_fields(rule: cloud.SecurityRule) -> dict[str, object]:
    return {
        "backend_id": rule.id,
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol or "",
        "port_min": rule.port_min,
        "port_max": rule.port_max,
        "remote_cidr": rule.remote_ip_prefix or "",
    }


def security_group_mirror(
    *,
    allocation: Allocation,
    info: cloud.SecurityGroupInfo,
    tag: str,
    origin: ResourceRequest | None,
) -> SecurityGroup:
    """The row of a security group the portal made, with the rules the cloud gave it.

    Neutron puts default rules (all outbound traffic) in every new group: they are recorded as
    the group's own, made by its request, so the reconciler does not report them as drift.
    """
    group, created = SecurityGroup.objects.update_or_create(
        allocation=allocation,
        backend_id=info.id,
        defaults={"name": info.name, "last_seen_at": timezone.now()},
        create_defaults={
            "name": info.name,
            "tag": tag,
            "origin_request": origin,
            "description": (origin.spec.get("description", "") if origin else ""),
            "last_seen_at": timezone.now(),
        },
    )
    if created:
        SecurityGroupRule.objects.bulk_create(
            [
                SecurityGroupRule(group=group, origin_request=origin, **_rule_fields(rule))
                for rule in info.rules
                if not rule.remote_group_id
            ]
        )
        audit_record(
            actor=None,
            action="securitygroup.create",
            obj=group,
            after={"backend_id": info.id, "name": info.name, "request": origin and origin.pk},
            tenant=allocation.tenant,
            region=allocation.region,
        )
    return group


def security_group_rule_record(*, request: ResourceRequest, info: cloud.SecurityRule):
    """The approved rule of a rule request, once the cloud holds it (recorded once)."""
    group = request.target_security_group
    rule = SecurityGroupRule.objects.filter(origin_request=request).first()
    if rule is not None:
        return rule
    spec = request.spec
    remote = spec.get("remote_group")
    rule = SecurityGroupRule.objects.create(
        group=group,
        origin_request=request,
        description=spec.get("description", ""),
        remote_group_id=remote["id"] if remote else None,
        **{**_rule_fields(info), "remote_cidr": spec.get("remote_cidr", "")},
    )
    audit_record(
        actor=None,
        action="securitygroup.rule_add",
        obj=group,
        after={"rule": rule.pk, "backend_id": info.id, "opens": spec.get("sentence", "")},
        tenant=group.allocation.tenant,
        region=group.allocation.region,
    )
    return rule


def security_group_rule_closed(*, request: ResourceRequest, rule_id: int) -> None:
    """The rule a request closed is no longer one of the group's (kept, marked, audited)."""
    group = request.target_security_group
    closed = group.rules.live().filter(pk=rule_id).update(deleted_at=timezone.now())
    if closed:
        audit_record(
            actor=None,
            action="securitygroup.rule_remove",
            obj=group,
            after={"rule": rule_id, "closed": request.spec.get("opens", "")},
            tenant=group.allocation.tenant,
            region=group.allocation.region,
        )


def _as_cloud_rule(rule: SecurityGroupRule) -> cloud.SecurityRule:
    return cloud.SecurityRule(
        direction=rule.direction,
        protocol=rule.protocol or None,
        port_min=rule.port_min,
        port_max=rule.port_max,
        remote_ip_prefix=None if rule.remote_group_id else rule.remote_cidr or None,
        ethertype=rule.ethertype,
        remote_group_id=rule.remote_group.backend_id if rule.remote_group_id else None,
    )


def _cloud_rule_spec(rule: cloud.SecurityRule, names: dict[str, str]) -> dict[str, object]:
    group = rule.remote_group_id
    return {
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol or "",
        "port_min": rule.port_min,
        "port_max": rule.port_max,
        "remote_cidr": rule.remote_ip_prefix or "",
        "remote_group": {"name": names.get(group, group)} if group else None,
    }


def security_group_drift_record(
    group: SecurityGroup, info: cloud.SecurityGroupInfo, *, building: set[str], names: dict
) -> bool:
    """Compare the group's approved rules with the cloud's; keep and audit the difference.

    ``building``: descriptions' tags of rules whose request is still being worked on (they
    are in the cloud before they are recorded). Returns whether the drift changed.
    """
    from provisioning.firewall import rule_sentence

    approved = list(group.rules.live().select_related("remote_group"))
    wanted = {_as_cloud_rule(r): r for r in approved}
    drift: list[dict[str, object]] = []
    for rule in info.rules:
        if rule in wanted or rule.description.split(" ", 1)[0] in building:
            continue
        text = rule_sentence(_cloud_rule_spec(rule, names))
        drift.append({"kind": "found", "id": rule.id, "opens": text})
    present = set(info.rules)
    for cloud_rule, rule in wanted.items():
        if cloud_rule not in present:
            drift.append({"kind": "missing", "rule": rule.pk, "opens": str(rule)})
    changed = drift != group.drift
    now = timezone.now()
    if not changed and group.drift_checked_at and group.drift_checked_at > now - SEEN_REFRESH:
        return False  # as it was, and said lately: no write (most runs)
    group.drift, group.drift_checked_at = drift, now
    group.save(update_fields=["drift", "drift_checked_at"])
    if changed:
        audit_record(
            actor=None,
            action="securitygroup.drift",
            obj=group,
            after={"drift": drift},
            tenant=group.allocation.tenant,
            region=group.allocation.region,
        )
    return changed


def orphan_record(
    *, region, kind: str, backend_id: str, project_id: str, name: str, tag: str | None
) -> None:
    """Note (or re-note) a cloud object the portal tagged but does not know."""
    from provisioning.models import Orphan

    orphan, created = Orphan.objects.update_or_create(
        region=region,
        kind=kind,
        backend_id=backend_id,
        defaults={"project_id": project_id, "name": name, "tag": tag or "", "resolved_at": None},
    )
    if created:
        audit_record(
            actor=None,
            action="orphan.found",
            obj=orphan,
            after={"kind": kind, "backend_id": backend_id, "tag": tag},
            region=region,
        )


def orphans_resolve_missing(*, region, kind: str, seen_ids: set[str]) -> int:
    """Orphans no longer in the cloud are resolved (someone cleaned them up)."""
    from provisioning.models import Orphan

    return (
        Orphan.objects.filter(region=region, kind=kind, resolved_at__isnull=True)
        .exclude(backend_id__in=seen_ids)
        .update(resolved_at=timezone.now())
    )


def server_lease_warned(*, server: Server) -> None:
    """The owner is told, once, that the lease ends soon (the mail leaves after commit)."""
    from provisioning import notifications

    with transaction.atomic():
        if Server.objects.filter(pk=server.pk, lease_warned_at__isnull=True).update(
            lease_warned_at=timezone.now()
        ):
            notifications.lease_ending(server)


@dataclass(frozen=True)
class SyncCounts:
    updated: int
    vanished: int


#: Rows read and written per statement by ``servers_sync``.
SYNC_BATCH = 1000
#: ``last_seen_at`` is written again only when older than this: most runs write nothing for a
#: server that did not change, which is what keeps a run at 10,000 servers cheap.
SEEN_REFRESH = timedelta(minutes=5)
_MIRRORED = ("name", "status", "addresses", "fault", "flavor_name", "vcpus", "ram_mb")


def servers_sync(
    *, allocation: Allocation, infos: list[cloud.ServerInfo], keep: set[int]
) -> SyncCounts:
    """Bring an allocation's live servers in line with a full server list from its project.

    Servers whose status, name, addresses or fault changed are updated and audited; servers
    missing from the list are marked deleted (unless their request, in ``keep``, is still being
    built). A fixed number of statements per batch of ``SYNC_BATCH`` servers, each batch in a
    short transaction of its own.
    """
    by_id = {info.id: info for info in infos}
    now = timezone.now()
    updated = vanished = 0
    live = (
        Server.objects.live()
        .filter(allocation=allocation)
        .only("id", "backend_id", "origin_request_id", "last_seen_at", *_MIRRORED)
        .order_by("id")
    )
    for batch in batched(live.iterator(chunk_size=SYNC_BATCH), SYNC_BATCH):
        changed, gone, seen = [], [], []
        for server in batch:
            info = by_id.get(server.backend_id)
            if info is None:
                if server.origin_request_id not in keep:
                    gone.append(server)
                continue
            values = {
                "name": info.name, "status": info.status,
                "addresses": _addresses(info), "fault": info.fault_message, **_flavor(info),
            }  # fmt: skip
            diff = {k: v for k, v in values.items() if getattr(server, k) != v}
            if diff:
                for key, value in diff.items():
                    setattr(server, key, value)
                server.last_seen_at = now
                changed.append((server, diff))
            elif server.last_seen_at is None or server.last_seen_at < now - SEEN_REFRESH:
                seen.append(server.pk)
        with transaction.atomic():
            if changed:
                Server.objects.bulk_update(
                    [s for s, _ in changed], [*_MIRRORED, "last_seen_at"], batch_size=SYNC_BATCH
                )
            if seen:
                Server.objects.filter(pk__in=seen).update(last_seen_at=now)
            if gone:
                Server.objects.filter(pk__in=[s.pk for s in gone]).update(
                    deleted_at=now, status="DELETED"
                )
            if gone or any(diff.keys() & {"vcpus", "ram_mb"} for _, diff in changed):
                usage_rollup_refresh_on_commit(allocation.pk)
            billed = [s.pk for s, diff in changed if diff.keys() & BILLED["server"]]
            spans_observe(UsageSpan.Kind.SERVER, [*billed, *(s.pk for s in gone)], now=now)
            where = {"actor": None, "tenant": allocation.tenant, "region": allocation.region}
            reason = {"reason": "Deleted in the cloud outside the portal"}
            events = [
                {"action": "server.update", "obj": server, "after": diff, **where}
                for server, diff in changed
            ]
            events += [
                {"action": "server.delete", "obj": server, "after": reason, **where}
                for server in gone
            ]
            if events:
                audit_record_many(events)
        updated += len(changed)
        vanished += len(gone)
    return SyncCounts(updated, vanished)
