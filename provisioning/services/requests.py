"""Submitting, cancelling and retrying requests."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from provisioning import notifications
from provisioning.models import (
    IN_FLIGHT,
    Kind,
    Network,
    RequestState,
    ResourceRequest,
    SecurityGroup,
    Server,
    Volume,
)
from provisioning.policy import policy_for, stages_for
from provisioning.services.approvals import approve_by_policy
from provisioning.services.errors import RequestConflict, RequestNotAllowed
from provisioning.services.quotas import allocation_lock, needs_of, quota_check
from provisioning.services.transitions import (
    NOTE_RETRY,
    record_created,
    request_lock,
    transition,
)
from provisioning.services.work import work_start
from provisioning.specs import DAY2_SPEC_FORMS, validate_day2_spec, validate_spec
from tenants.access import Action, can, is_auditor, is_operator
from tenants.models import Allocation, Membership, Role

MIN_JUSTIFICATION = 10
#: What a day-2 request holds of the quota while it is in flight.
DAY2_NEEDS: dict[Kind, dict[str, int]] = {Kind.SERVER_ADDRESS_ADD: {"floating_ips": 1}}


def request_submit(
    *,
    user,
    kind: Kind | str,
    justification: str,
    allocation: Allocation | None = None,
    spec: dict[str, Any] | None = None,
    target: Server | Network | SecurityGroup | Volume | None = None,
) -> ResourceRequest:
    """Record a request after checking rights, the spec and the quota; route it to approval.

    New resources name their ``allocation`` and a ``spec``; day-2 requests name their ``target``
    (the allocation is the target's), and a ``spec`` where the kind says more (a resize: the
    flavor). Raises ValidationError with field messages, QuotaExceeded,
    or RequestNotAllowed.
    """
    kind = Kind(kind)
    errors: dict[str, list[str]] = {}
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        errors["justification"] = [
            _("Say why this is needed (at least a sentence): approvers decide on it.")
        ]
    if kind.is_day2:
        allocation = _check_target(user, kind, target, errors)
    elif allocation is None:
        errors["allocation"] = [_("Choose the allocation (tenant and region) to build in.")]
    if allocation is None or errors.get("target"):
        raise ValidationError(errors)
    requests_allowed_check(user, allocation)
    if not allocation.region.enabled:
        errors["allocation"] = [
            _("Region %(region)s is closed to new requests.") % {"region": allocation.region}
        ]
    if kind == Kind.SERVER_ADDRESS_ADD:
        _check_address_add(target, errors)
    elif kind == Kind.SERVER_ADDRESS_RELEASE and not target.floating_ips.live().exists():
        errors["target"] = [
            _("%(target)s has no external address to release.") % {"target": target}
        ]
    valid = None
    try:
        if not kind.is_day2:
            valid = validate_spec(kind, spec or {}, allocation, requester=user)
        elif kind in DAY2_SPEC_FORMS:
            valid = validate_day2_spec(kind, spec or {}, target)
    except ValidationError as err:
        for field, messages in err.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)

    try:
        with transaction.atomic():
            allocation = allocation_lock(allocation.pk)
            needs = valid.needs if valid else DAY2_NEEDS.get(kind, {})
            volume_type = valid.spec.get("volume_type", "") if valid else ""
            quota_check(allocation=allocation, needs=needs, volume_type=volume_type)
            request = ResourceRequest.objects.create(
                kind=kind,
                allocation=allocation,
                requester=user,
                justification=justification,
                spec=valid.spec if valid else {"target": str(target)},
                target_server=target if isinstance(target, Server) else None,
                target_network=target if isinstance(target, Network) else None,
                target_security_group=target if isinstance(target, SecurityGroup) else None,
                target_volume=target if isinstance(target, Volume) else None,
                **needs,
            )
            record_created(request, actor=user)
            _route(request)
    except IntegrityError as err:
        # The partial unique constraint: another request on the same target won the race
        # between the check above and this insert.
        if kind.is_day2 and "one_in_flight" in str(err):
            raise RequestConflict(
                _("%(target)s already has a request in progress.") % {"target": target}
            ) from None
        raise
    return request


#: The target field of a day-2 request, by the model of its target.
TARGET_FIELDS = {
    Server: "target_server",
    Network: "target_network",
    SecurityGroup: "target_security_group",
    Volume: "target_volume",
}


def _target_model(kind: Kind) -> type:
    if kind.on_server:
        return Server
    if kind.on_volume:
        return Volume
    return SecurityGroup if kind.on_security_group else Network


def request_refusal(user, allocation: Allocation) -> str | None:
    """Why ``user`` may not file requests in ``allocation``, in words that say what to do next
    (None if they may). The pages say it before showing a form; the service says it on submit.
    """
    if can(user, Action.REQUEST, allocation):
        return None
    if is_auditor(user):
        return _("Auditors see everything and change nothing: they file no requests.")
    tenant, region = allocation.tenant, allocation.region
    membership = Membership.objects.filter(tenant_id=allocation.tenant_id, user=user).first()
    if membership is None:
        return _(
            "Requests in %(tenant)s are filed by its members; you are not one. Ask its manager "
            "to add you with the requester role."
        ) % {"tenant": tenant.name}
    if not Role(membership.role).includes(Role.REQUESTER):
        return _(
            "Your role in %(tenant)s does not allow requests; ask its manager for the requester "
            "role."
        ) % {"tenant": tenant.name}
    return _(
        "Requests here need clearance for %(domain)s and an entitlement to %(site)s; ask your "
        "security officer."
    ) % {"domain": region.domain.name, "site": region.site.name}


def requests_allowed_check(user, allocation: Allocation) -> None:
    """Raise RequestNotAllowed unless ``user`` may file requests in ``allocation``."""
    refusal = request_refusal(user, allocation)
    if refusal is not None:
        raise RequestNotAllowed(refusal)


def _check_target(user, kind: Kind, target, errors) -> Allocation | None:
    expected = _target_model(kind)
    if not isinstance(target, expected) or target.pk is None:
        errors["target"] = [
            {
                Server: _("Name the server this request acts on."),
                Network: _("Name the network this request acts on."),
                SecurityGroup: _("Name the security group this request acts on."),
                Volume: _("Name the volume this request acts on."),
            }[expected]
        ]
        return None
    # Out of reach is "not found": the same answer as for an object that does not exist.
    if not expected.objects.restrict(user, Action.VIEW).filter(pk=target.pk).exists():
        errors["target"] = [
            {
                Server: _("No such server."),
                Network: _("No such network."),
                SecurityGroup: _("No such security group."),
                Volume: _("No such volume."),
            }[expected]
        ]
        return None
    if target.is_deleted:
        errors["target"] = [_("%(target)s is already decommissioned.") % {"target": target}]
    if kind == Kind.SECURITY_GROUP_DECOMMISSION:
        _check_group_unused(target, errors)
    elif expected is SecurityGroup:
        return target.allocation  # rules are added side by side: several may be in flight
    busy = (
        ResourceRequest.objects.filter(state__in=IN_FLIGHT)
        .filter(**{TARGET_FIELDS[expected]: target})
        .values_list("pk", flat=True)
        .first()
    )
    if busy is not None:
        raise RequestConflict(
            _("%(target)s already has a request in progress (#%(request)s).")
            % {"target": target, "request": busy}
        )
    if kind == Kind.NETWORK_DECOMMISSION:
        attached = target.servers.filter(deleted_at__isnull=True).values_list("name", flat=True)
        if attached:
            errors["target"] = [
                _("Servers still use %(network)s: %(servers)s. Decommission them first.")
                % {"network": target.name, "servers": ", ".join(attached)}
            ]
    return target.allocation


def _check_group_unused(group: SecurityGroup, errors: dict[str, list[str]]) -> None:
    """A group is deleted only once nothing uses it: no server, no other group's rule."""
    servers = list(group.servers.live().order_by("name").values_list("name", flat=True)[:11])
    if servers:
        more = ", …" if len(servers) > 10 else ""
        errors["target"] = [
            _(
                "Servers are still in %(group)s: %(servers)s. Take them out of it (or "
                "decommission them) first."
            )
            % {"group": group.name, "servers": ", ".join(servers[:10]) + more}
        ]
        return
    peers = (
        SecurityGroup.objects.live()
        .filter(rules__remote_group=group, rules__deleted_at__isnull=True)
        .exclude(pk=group.pk)
        .distinct()
        .values_list("name", flat=True)
    )
    if peers:
        errors["target"] = [
            _("Rules of %(groups)s let in the servers of %(group)s; close them first.")
            % {"groups": ", ".join(peers), "group": group.name}
        ]
        return
    busy = (
        ResourceRequest.objects.filter(state__in=IN_FLIGHT, target_security_group=group)
        .values_list("pk", flat=True)
        .first()
    )
    if busy is not None:
        raise RequestConflict(
            _("%(target)s already has a request in progress (#%(request)s).")
            % {"target": group, "request": busy}
        )


def _check_address_add(server: Server, errors: dict[str, list[str]]) -> None:
    """An external address: allowed by the domain, one per server, reachable through a router."""
    domain = server.allocation.region.domain
    if domain.external_addresses == "forbid":
        raise RequestNotAllowed(
            _(
                "%(domain)s does not allow external addresses: its servers are reached from "
                "inside the domain only."
            )
            % {"domain": domain.name}
        )
    held = server.floating_ips.live().values_list("address", flat=True).first()
    if held:
        errors["target"] = [
            _("%(server)s already has the external address %(address)s.")
            % {"server": server, "address": held}
        ]
    elif not server.networks.filter(deleted_at__isnull=True).exclude(router_id="").exists():
        errors["target"] = [
            _(
                "%(server)s is on no network with a router to the external network, so no "
                "external address can reach it. Attach it to a network requested with a router."
            )
            % {"server": server}
        ]


def _route(request: ResourceRequest) -> None:
    """After submit: approve by policy, or wait for the first stage's approvers."""
    stages = stages_for(request, policy_for(request))
    if not stages:
        approve_by_policy(request)
        return
    request.pending_stage = stages[0]
    request.save(update_fields=["pending_stage"])
    notifications.approvers_new_request(request)


def request_cancel(*, user, request: ResourceRequest, reason: str = "") -> ResourceRequest:
    """The requester (or a tenant manager, or an operator) withdraws a request not yet built."""
    with transaction.atomic():
        request = request_lock(request.pk)
        allowed = (
            request.requester_id == user.pk
            or can(user, Action.MANAGE, request)
            or is_operator(user)
        )
        if not allowed:
            raise RequestNotAllowed(_("Only the requester or a tenant manager can cancel it."))
        if request.state not in (RequestState.PENDING_APPROVAL, RequestState.APPROVED):
            raise ValidationError(
                _(
                    "Request #%(request)s is %(state)s; only pending or approved requests can "
                    "be cancelled."
                )
                % {"request": request.pk, "state": request.get_state_display().lower()}
            )
        transition(request, "cancel", actor=user, note=reason, pending_stage="")
    return request


def request_retry(*, user, request: ResourceRequest) -> ResourceRequest:
    """Send a failed request back to provisioning (the quota must still allow it)."""
    with transaction.atomic():
        request = request_lock(request.pk)
        allowed = (
            request.requester_id == user.pk
            or can(user, Action.APPROVE, request)
            or is_operator(user)
        )
        if not allowed:
            raise RequestNotAllowed(_("Only the requester, an approver or an operator can retry."))
        if request.state != RequestState.FAILED:
            raise ValidationError(
                _("Request #%(request)s has not failed; nothing to retry.")
                % {"request": request.pk}
            )
        allocation_lock(request.allocation_id)
        quota_check(allocation=request.allocation, needs=needs_of(request),
                    volume_type=request.spec.get("volume_type", ""))  # fmt: skip
        transition(request, "retry", actor=user, note=NOTE_RETRY, failure_reason="")
        work_start(request)
    return request


def lease_expire(*, server: Server) -> ResourceRequest | None:
    """The lease ended: the portal itself asks to decommission the server, approved by policy.

    Returns None when a request is already in progress for the server.
    """
    with transaction.atomic():
        allocation_lock(server.allocation_id)
        if ResourceRequest.objects.filter(target_server=server, state__in=IN_FLIGHT).exists():
            return None
        owner = server.origin_request.requester if server.origin_request else None
        if owner is None:
            return None
        request = ResourceRequest.objects.create(
            kind=Kind.SERVER_DECOMMISSION,
            allocation=server.allocation,
            requester=owner,
            justification=f"Lease ended on {server.lease_end:%Y-%m-%d %H:%M} UTC.",
            spec={"target": server.name, "reason": "lease"},
            target_server=server,
        )
        record_created(request, actor=None)
        approve_by_policy(request)
    return request
