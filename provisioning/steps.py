"""Worker-side steps: move one request as far as the cloud allows now, idempotently.

``advance(request_id, token, polls)`` is the whole protocol (see ``provisioning.services.work``):
claim the lease in a short transaction, run the kind's step against the cloud with no
transaction open, record what it did in another short transaction. Steps here only talk to the
cloud: they take a ``WorkItem`` and fill a ``StepResult``, never touching the database. Every
step finds cloud objects by the request's tag before creating any, so a retry, a redelivered
message or a lost response never builds a second object.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from provisioning import cloud
from provisioning.cloud.base import (
    CloudError,
    CloudNotFound,
    CloudTarget,
    CloudTransientError,
    request_tag,
)
from provisioning.models import Kind
from provisioning.services.work import (
    LeaseKeeper,
    StepResult,
    WorkItem,
    work_claim,
    work_record,
    worker_identity,
)

log = logging.getLogger(__name__)


class StepFailed(Exception):
    """A permanent failure with a reason meant for the requester."""


class StepFenced(Exception):
    """The request was taken over while this step ran: stop calling the cloud."""


def advance(request_id: int, token: int, *, polls: int = 0) -> float | None:
    """Move the request on; seconds until the next poll (already scheduled), or None."""
    item = work_claim(request_id, token=token, owner=worker_identity())
    if item is None:
        return None
    with LeaseKeeper(request_id, item.token) as keeper:
        item.fenced = lambda: keeper.lost
        result = run_step(item)
    return work_record(item, result, polls=polls)


def _before_creating(item: WorkItem, result: StepResult) -> bool:
    """Whether the step may create something new now (see ``WorkItem.settle_until``)."""
    if item.fenced():
        raise StepFenced
    if item.settling():
        result.status_note = (
            "Waiting for the cloud to settle what a stopped worker asked for "
            f"(until {item.settle_until:%H:%M:%S} UTC)"
        )
        return False
    return True


def run_step(item: WorkItem) -> StepResult:
    """The kind's step, with cloud errors turned into a result (never raised to the task)."""
    result = StepResult(progress=item.progress)
    try:
        if item.expired:
            raise StepFailed(item.expired)
        result.finished = STEPS[item.kind](item, result)
    except StepFenced:  # neither finished nor failed: recorded (if at all) as a poll
        result.status_note = "Taken over by another worker"
    except CloudTransientError as err:
        result.status_note = f"The cloud is not answering; retrying. ({err})"[:300]
        log.warning("request %s: transient cloud error: %s", item.request_id, err)
    except (CloudError, StepFailed) as err:
        result.failed = str(err)
        result.failed += _clean_up(item, result)
    return result


def _clean_up(item: WorkItem, result: StepResult) -> str:
    cleanup = CLEANUPS.get(item.kind)
    if cleanup is None:
        return ""
    try:
        text = cleanup(item)
    except CloudError as err:
        return f" Cleaning up failed too ({err}); operators will see what is left as orphans."
    # Only a clean-up that removed something makes the rows of what it removed go; otherwise
    # what the step saw last (a server back as it was, say) is recorded as usual.
    result.cleaned_up = bool(text)
    return text


# --- servers --------------------------------------------------------------------------------


def server_tags(request_id: int, attempt: int, spec: dict) -> list[tuple[str, str]]:
    """(tag, name) per server; the attempt is part of the tag so a retry starts clean."""
    count = spec["count"]
    return [
        (
            request_tag(f"{request_id}.{attempt}.{i}"),
            spec["name"] if count == 1 else f"{spec['name']}-{i}",
        )
        for i in range(1, count + 1)
    ]


def _key_name(item: WorkItem, result: StepResult) -> str | None:
    """The key pair the servers get, made in the cloud once per request (idempotent anyway)."""
    key = item.spec.get("ssh_key")
    if not key:
        return item.spec.get("key_name") or None  # requests filed before keys were in profiles
    if not result.progress.get("keypair"):
        cloud.keypair_ensure(item.target, name=key["keypair"], public_key=key["public_key"])
        result.progress["keypair"] = key["keypair"]
    return key["keypair"]


def build_servers(item: WorkItem, result: StepResult) -> bool:
    spec = item.spec
    known = result.progress.setdefault("servers", {})
    network_ids = [n["backend_id"] for n in spec["networks"]]
    key_name = None
    waiting = False
    for tag, name in server_tags(item.request_id, item.attempt, spec):
        if tag in known:
            info = cloud.server_get(item.target, known[tag])
        elif item.settle_until is not None and (
            found := cloud.server_find_by_tag(item.target, tag)
        ):
            info = found
            known[tag] = info.id
        elif not _before_creating(item, result):
            waiting = True
            continue
        else:
            key_name = key_name or _key_name(item, result)
            info = cloud.server_find_or_create(
                item.target,
                tag=tag,
                name=name,
                flavor_id=spec["flavor_id"],
                image_id=spec["image_id"],
                network_ids=network_ids,
                security_groups=[g["backend_id"] for g in spec.get("security_groups") or ()],
                key_name=key_name,
                boot_volume_gb=spec.get("boot_volume_gb") or 0,
                metadata={"portal_request_id": str(item.request_id)},
                # Fresh attempt: no create was ever sent; taken over: looked up just above.
                known_absent=item.fresh or item.settle_until is not None,
            )
            known[tag] = info.id
        result.servers.append((tag, info))
    broken = [info for _, info in result.servers if info.is_error]
    if broken:
        faults = "; ".join(f"{i.name}: {i.fault_message or 'no fault given'}" for i in broken)
        raise StepFailed(f"The cloud could not build the server ({faults}).")
    if waiting:
        return False
    active = sum(info.is_active for _, info in result.servers)
    result.status_note = f"{active} of {len(result.servers)} servers active"
    return active == len(result.servers)


def cleanup_servers(item: WorkItem) -> str:
    """Delete whatever this attempt built, so a failure never leaves a half-built VM behind."""
    deleted = []
    for tag, _ in server_tags(item.request_id, item.attempt, item.spec):
        info = cloud.server_find_by_tag(item.target, tag)
        if info is not None:
            cloud.server_delete(item.target, info.id)
            deleted.append(info.name)
    return f" The partly built servers were deleted: {', '.join(deleted)}." if deleted else ""


# --- networks -------------------------------------------------------------------------------


def network_tag(request_id: int, attempt: int) -> str:
    return request_tag(f"{request_id}.{attempt}")


def build_network(item: WorkItem, result: StepResult) -> bool:
    spec = item.spec
    tag = network_tag(item.request_id, item.attempt)
    if item.settling() and not cloud.networks_list(item.target, tag=tag):
        _before_creating(item, result)
        return False
    result.network = cloud.network_find_or_create(
        item.target,
        tag=tag,
        name=spec["name"],
        cidr=spec["cidr"],
        gateway_ip=spec.get("gateway"),
        dns_nameservers=spec.get("dns") or (),
        with_router=spec.get("router", False),
    )
    result.progress["network_tag"] = tag
    result.status_note = "Network ready"
    return True


def cleanup_network(item: WorkItem) -> str:
    removed = cloud.network_delete_by_tag(item.target, network_tag(item.request_id, item.attempt))
    return " What was partly built was removed." if removed else ""


# --- day 2 ----------------------------------------------------------------------------------

POWER = {
    Kind.SERVER_START: (cloud.server_start, {"ACTIVE"}),
    Kind.SERVER_STOP: (cloud.server_stop, {"SHUTOFF"}),
    Kind.SERVER_REBOOT: (cloud.server_reboot, {"ACTIVE"}),
}


def power_action(item: WorkItem, result: StepResult) -> bool:
    action, wanted = POWER[item.kind]
    backend_id = item.server_backend_id
    info = cloud.server_get(item.target, backend_id)
    if not result.progress.get("issued"):
        already = info.status in wanted and item.kind != Kind.SERVER_REBOOT
        if not already:
            action(item.target, backend_id)
            info = cloud.server_get(item.target, backend_id)
        result.progress["issued"] = True
    result.servers.append(("", info))
    if info.is_error:
        raise StepFailed(
            f"{item.server_name} went into ERROR: {info.fault_message or 'no fault given'}"
        )
    result.status_note = f"{item.server_name} is {info.status}"
    return info.status in wanted


def decommission_server(item: WorkItem, result: StepResult) -> bool:
    try:
        if not result.progress.get("issued"):
            cloud.server_delete(item.target, item.server_backend_id)
            result.progress["issued"] = True
        info = cloud.server_get(item.target, item.server_backend_id)
    except CloudNotFound:
        # Neutron keeps a floating IP when its port goes: released here, or it would stay
        # allocated (and counted) with nothing behind it.
        _release_addresses(item, result)
        result.target_deleted = f"Decommissioned by request #{item.request_id}"
        return True
    result.status_note = f"Waiting for {item.server_name} to go ({info.status})"
    return False


# --- resize ---------------------------------------------------------------------------------


def resize_server(item: WorkItem, result: StepResult) -> bool:
    """Resize, wait for VERIFY_RESIZE, confirm, wait for the new flavor to run.

    Nova answers a resize at once and does the work later; a resize the cloud cannot do (no
    host with room, say) brings the server back to its old flavor with no fault on it, so
    that outcome is read from the server's recorded actions and becomes the failure reason.
    """
    spec, name = item.spec, item.server_name
    info = cloud.server_get(item.target, item.server_backend_id)
    if not result.progress.get("issued"):
        settled = info.status in ("ACTIVE", "SHUTOFF") and not info.task_state
        if not (settled and info.flavor_name == spec["flavor"]) and info.status != "VERIFY_RESIZE":
            cloud.server_resize(item.target, item.server_backend_id, spec["flavor_id"])
            info = cloud.server_get(item.target, item.server_backend_id)
        result.progress["issued"] = True
    if info.is_error:
        raise StepFailed(f"{name} went into ERROR: {info.fault_message or 'no fault given'}")
    if info.status == "VERIFY_RESIZE":
        cloud.server_confirm_resize(item.target, item.server_backend_id)
        result.progress["confirmed"] = True
        info = cloud.server_get(item.target, item.server_backend_id)
    result.servers.append(("", info))
    if info.status in ("ACTIVE", "SHUTOFF") and not info.task_state:
        if info.flavor_name == spec["flavor"]:
            result.status_note = f"{name} runs as {info.flavor_name}"
            return True
        if not result.progress.get("confirmed"):
            why = _resize_failure_reason(item)
            raise StepFailed(
                f"The cloud did not resize {name}: {why or 'it gave no reason'}. It still "
                f"runs as {info.flavor_name}."
            )
    result.status_note = f"{name} is {info.status}" + (
        f" ({info.task_state})" if info.task_state else ""
    )
    return False


def _resize_failure_reason(item: WorkItem) -> str:
    """Why Nova gave up, read with the region's own account first.

    Nova shows the reason (an action event's details) to admins only by default, and the
    portal acts in a tenant's project with a member's role; its account in its home project is
    usually the cloud's admin. Where it is not, the project's view says at least which step
    failed.
    """
    home = dataclasses.replace(item.target, project_id=None)
    for target in (home, item.target):
        try:
            why = cloud.server_action_failure(target, item.server_backend_id, "resize")
        except CloudError:
            continue
        if why:
            return why
    return ""


def cleanup_resize(item: WorkItem) -> str:
    """A resize waiting to be confirmed when the request fails is reverted, not left half-done."""
    try:
        info = cloud.server_get(item.target, item.server_backend_id)
    except CloudNotFound:
        return ""
    if info.status != "VERIFY_RESIZE":
        return ""
    cloud.server_revert_resize(item.target, item.server_backend_id)
    return f" The resize was reverted: {item.server_name} runs as {item.spec['from_flavor']}."


# --- security groups --------------------------------------------------------------------------


def build_security_group(item: WorkItem, result: StepResult) -> bool:
    tag = request_tag(f"{item.request_id}.{item.attempt}")
    if item.settling() and not _before_creating(item, result):
        return False
    info = cloud.security_group_find_or_create(item.target, tag=tag, name=item.spec["name"])
    result.security_group = (tag, info)
    result.status_note = "Security group ready"
    return True


def cleanup_security_group(item: WorkItem) -> str:
    removed = cloud.security_group_delete_by_tag(
        item.target, request_tag(f"{item.request_id}.{item.attempt}")
    )
    return " What was partly built was removed." if removed else ""


def add_rule(item: WorkItem, result: StepResult) -> bool:
    """Open the approved rule in the group (found again by its tag, or adopted if identical)."""
    spec = item.spec
    remote = spec.get("remote_group")
    wanted = cloud.SecurityRule(
        direction=spec["direction"],
        protocol=spec["protocol"] or None,
        port_min=spec.get("port_min"),
        port_max=spec.get("port_max"),
        remote_ip_prefix=None if remote else spec.get("remote_cidr") or None,
        remote_group_id=remote["backend_id"] if remote else None,
    )
    result.rule = cloud.security_group_rule_ensure(
        item.target,
        group_id=item.security_group_backend_id,
        rule=wanted,
        tag=request_tag(str(item.request_id)),
        note=spec.get("description", ""),
    )
    result.status_note = spec.get("sentence", "Rule open")
    return True


def decommission_security_group(item: WorkItem, result: StepResult) -> bool:
    """Delete the group in the cloud (one already gone is deleted as well)."""
    cloud.security_group_delete_by_tag(item.target, item.security_group_tag)
    result.target_deleted = f"Deleted by request #{item.request_id}"
    return True


def remove_rule(item: WorkItem, result: StepResult) -> bool:
    """Close the rule in the cloud; one already gone is closed as well."""
    if item.spec.get("backend_id"):
        cloud.security_group_rule_delete(item.target, item.spec["backend_id"])
    result.removed_rule = item.spec["rule"]
    result.status_note = item.spec.get("sentence", "Rule closed")
    return True


# --- external addresses ---------------------------------------------------------------------


def address_tag(request_id: int, attempt: int) -> str:
    return request_tag(f"{request_id}.{attempt}")


def add_address(item: WorkItem, result: StepResult) -> bool:
    """Allocate a floating IP for the request (once) and give it to the server's routed port."""
    tag = address_tag(item.request_id, item.attempt)
    address = cloud.floating_ip_find_by_tag(item.target, tag)
    if address is None:
        if not _before_creating(item, result):
            return False
        external = cloud.external_network_find(item.target)
        address = cloud.floating_ip_find_or_create(item.target, tag=tag, network_id=external.id)
    port = _routed_port(item)
    if address.port_id != port.id:
        address = cloud.floating_ip_associate(item.target, address.id, port_id=port.id)
    result.floating_ip = (tag, address)
    result.servers.append(("", cloud.server_get(item.target, item.server_backend_id)))
    result.status_note = f"{address.address} given to {item.server_name}"
    return True


def _routed_port(item: WorkItem):
    """The server's port on its first network with a router to the outside."""
    ports = [p for p in cloud.server_ports(item.target, item.server_backend_id) if p.fixed_ips]
    for network_id in item.routed_network_ids:
        for port in ports:
            if port.network_id == network_id:
                return port
    raise StepFailed(
        f"{item.server_name} has no port on a network with a router to the external network."
    )


def cleanup_address(item: WorkItem) -> str:
    released = cloud.floating_ip_delete_by_tag(
        item.target, address_tag(item.request_id, item.attempt)
    )
    return f" The address allocated for it was released: {', '.join(released)}." if released else ""


def release_address(item: WorkItem, result: StepResult) -> bool:
    _release_addresses(item, result)
    result.servers.append(("", cloud.server_get(item.target, item.server_backend_id)))
    result.status_note = "Released"
    return True


def _release_addresses(item: WorkItem, result: StepResult) -> None:
    for ip_id in item.floating_ip_ids:
        cloud.floating_ip_delete(item.target, ip_id)  # False if already gone: fine
        result.released_ips.append(ip_id)


# --- volumes --------------------------------------------------------------------------------


def volume_tag(request_id: int, attempt: int) -> str:
    return request_tag(f"{request_id}.{attempt}")


def build_volume(item: WorkItem, result: StepResult) -> bool:
    """Make the volume once (found again by its tag) and wait for Cinder to make it available."""
    spec, tag = item.spec, volume_tag(item.request_id, item.attempt)
    known = result.progress.get("volume")
    if known:
        info = cloud.volume_get(item.target, known)
    else:
        if item.settling() and not cloud.volumes_list(item.target, tag=tag, name=spec["name"]):
            _before_creating(item, result)
            return False
        info = cloud.volume_find_or_create(
            item.target, tag=tag, name=spec["name"], size_gb=spec["size_gb"],
            volume_type=spec.get("volume_type") or None,
            known_absent=item.fresh,  # the attempt's first step: no create was ever sent
        )  # fmt: skip
        result.progress["volume"] = info.id
    result.volume = (tag, info)
    if info.is_error:
        raise StepFailed(f"The cloud could not make the volume ({info.status}).")
    result.status_note = f"{spec['name']} is {info.status}"
    return info.status == "available"


def cleanup_volume(item: WorkItem) -> str:
    tag = volume_tag(item.request_id, item.attempt)
    deleted = [v.name for v in cloud.volumes_list(item.target, tag=tag)
               if cloud.volume_delete(item.target, v.id)]  # fmt: skip
    return f" The partly made volume was deleted: {', '.join(deleted)}." if deleted else ""


def attach_volume(item: WorkItem, result: StepResult) -> bool:
    """Ask Nova to attach (once), then wait for Cinder to show the volume in use there."""
    server = item.spec["server"]
    info = cloud.volume_get(item.target, item.volume_backend_id)
    on_server = dict(info.attachments).get(server["backend_id"])
    if not result.progress.get("issued") and on_server is None:
        if info.status == "available":
            cloud.volume_attach(
                item.target, server_id=server["backend_id"], volume_id=item.volume_backend_id
            )
            info = cloud.volume_get(item.target, item.volume_backend_id)
        elif info.status not in ("reserved", "attaching"):  # else: sent by a worker that stopped
            raise StepFailed(f"{item.volume_name} is {info.status}; it can only be attached "
                             "when available.")  # fmt: skip
        result.progress["issued"] = True
    result.volumes.append(info)
    if info.is_error:
        raise StepFailed(f"The cloud could not attach {item.volume_name} ({info.status}).")
    if info.status == "in-use" and server["backend_id"] in dict(info.attachments):
        device = dict(info.attachments)[server["backend_id"]]
        result.status_note = f"{item.volume_name} is on {server['name']} as {device}"
        return True
    if info.status == "available" and result.progress.get("issued") and _polled(result) > 5:
        # Nova gave up on the attachment (the hypervisor refused it): its reason is in the
        # server's actions, the volume is simply back.
        raise StepFailed(f"The cloud did not attach {item.volume_name} to {server['name']}.")
    result.status_note = f"{item.volume_name} is {info.status}"
    return False


def _polled(result: StepResult) -> int:
    """How many times this step looked since the action was issued (kept in the progress)."""
    result.progress["polls"] = result.progress.get("polls", 0) + 1
    return result.progress["polls"]


def cleanup_attach(item: WorkItem) -> str:
    """An attachment asked for by a request that failed is undone, not left half-made."""
    server = item.spec["server"]
    if cloud.volume_detach(
        item.target, server_id=server["backend_id"], volume_id=item.volume_backend_id
    ):
        return f" {item.volume_name} was detached from {server['name']} again."
    return ""


def detach_volume(item: WorkItem, result: StepResult) -> bool:
    """Ask Nova to detach (once; already detached is fine), then wait for ``available``."""
    server = item.spec.get("server") or item.spec.get("detach_from")
    if not result.progress.get("issued"):
        if server:
            cloud.volume_detach(
                item.target, server_id=server["backend_id"], volume_id=item.volume_backend_id
            )
        result.progress["issued"] = True
    info = cloud.volume_get(item.target, item.volume_backend_id)
    result.volumes.append(info)
    if info.is_error:
        raise StepFailed(f"The cloud could not detach {item.volume_name} ({info.status}).")
    result.status_note = f"{item.volume_name} is {info.status}"
    return info.status == "available"


def extend_volume(item: WorkItem, result: StepResult) -> bool:
    size = item.spec["size_gb"]
    info = cloud.volume_get(item.target, item.volume_backend_id)
    if not result.progress.get("issued"):
        if info.size_gb < size and info.status == "available":
            cloud.volume_extend(item.target, item.volume_backend_id, size)
            info = cloud.volume_get(item.target, item.volume_backend_id)
        result.progress["issued"] = True
    result.volumes.append(info)
    if info.status == "error_extending":
        raise StepFailed(
            f"The cloud could not extend {item.volume_name}: it reported error_extending. "
            f"The volume keeps its {item.spec['from_size_gb']} GB and its data; operators can "
            "reset its state."
        )
    if info.is_error:
        raise StepFailed(f"{item.volume_name} went into {info.status}.")
    result.status_note = f"{item.volume_name} is {info.status} ({info.size_gb} GB)"
    return info.status == "available" and info.size_gb >= size


def decommission_volume(item: WorkItem, result: StepResult) -> bool:
    """Detach first where asked, then delete, and wait for the volume to be gone."""
    progress = result.progress
    try:
        if not progress.get("detached"):
            if item.spec.get("detach_from") and not detach_volume(item, result):
                return False
            progress["detached"] = True
            progress.pop("issued", None)
            result.volumes.clear()
        if not progress.get("deleting"):
            cloud.volume_delete(item.target, item.volume_backend_id)
            progress["deleting"] = True
        info = cloud.volume_get(item.target, item.volume_backend_id)
    except CloudNotFound:
        result.target_deleted = f"Decommissioned by request #{item.request_id}"
        return True
    if info.status == "error_deleting":
        raise StepFailed(f"The cloud could not delete {item.volume_name} (error_deleting); "
                         "operators can reset its state and retry.")  # fmt: skip
    result.volumes.append(info)
    result.status_note = f"Waiting for {item.volume_name} to go ({info.status})"
    return False


# --- capacity ---------------------------------------------------------------------------------


def change_quota(item: WorkItem, result: StepResult) -> bool:
    """Set the project's quotas to those asked for (idempotent: the same values again); the
    allocation's limits follow when this is recorded. Nothing to do in the cloud where quotas
    are not pushed (``PORTAL_PUSH_QUOTAS``)."""
    if item.quota_limits:
        cloud.quota_set(CloudTarget(cloud=item.target.cloud), item.target.project_id,
                        **item.quota_limits)  # fmt: skip
    result.capacity_done = True
    result.status_note = "Quotas set in the cloud" if item.quota_limits else "Quotas recorded"
    return True


def restore_quota(item: WorkItem) -> str:
    """A refused or half-done push: the project's quotas back to the allocation's."""
    if not item.quota_previous:
        return ""
    cloud.quota_set(CloudTarget(cloud=item.target.cloud), item.target.project_id,
                    **item.quota_previous)  # fmt: skip
    return " The project's quotas in the cloud were set back to the allocation's."


def extend_lease(item: WorkItem, result: StepResult) -> bool:
    """A lease is the portal's own promise (the sweeper acts on it): nothing to ask the cloud."""
    result.capacity_done = True
    result.status_note = "Lease extended"
    return True


def decommission_network(item: WorkItem, result: StepResult) -> bool:
    cloud.network_delete_by_tag(item.target, item.network_tag)
    result.target_deleted = f"Decommissioned by request #{item.request_id}"
    return True


STEPS: dict[Kind, Callable[[WorkItem, StepResult], bool]] = {
    Kind.SERVER: build_servers,
    Kind.NETWORK: build_network,
    Kind.SERVER_START: power_action,
    Kind.SERVER_STOP: power_action,
    Kind.SERVER_REBOOT: power_action,
    Kind.SERVER_DECOMMISSION: decommission_server,
    Kind.SERVER_RESIZE: resize_server,
    Kind.SERVER_ADDRESS_ADD: add_address,
    Kind.SERVER_ADDRESS_RELEASE: release_address,
    Kind.SECURITY_GROUP: build_security_group,
    Kind.SECURITY_GROUP_RULE: add_rule,
    Kind.SECURITY_GROUP_RULE_REMOVE: remove_rule,
    Kind.SECURITY_GROUP_DECOMMISSION: decommission_security_group,
    Kind.NETWORK_DECOMMISSION: decommission_network,
    Kind.VOLUME: build_volume,
    Kind.VOLUME_ATTACH: attach_volume,
    Kind.VOLUME_DETACH: detach_volume,
    Kind.VOLUME_EXTEND: extend_volume,
    Kind.VOLUME_DECOMMISSION: decommission_volume,
    Kind.QUOTA_CHANGE: change_quota,
    Kind.LEASE_EXTEND: extend_lease,
}
CLEANUPS: dict[Kind, Callable[[WorkItem], str]] = {
    Kind.SERVER: cleanup_servers,
    Kind.NETWORK: cleanup_network,
    Kind.SERVER_ADDRESS_ADD: cleanup_address,
    Kind.SERVER_RESIZE: cleanup_resize,
    Kind.SECURITY_GROUP: cleanup_security_group,
    Kind.VOLUME: cleanup_volume,
    Kind.VOLUME_ATTACH: cleanup_attach,
    Kind.QUOTA_CHANGE: restore_quota,
}
