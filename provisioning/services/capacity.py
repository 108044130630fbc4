"""More capacity and more time, once decided and (for quotas) set in the cloud: recorded.

A quota change and a lease extension pass the tenant's manager, then an operator
(``provisioning.policy``). The worker sets a quota change in the project first
(``provisioning.steps.change_quota``); only then does the allocation take the new limits, here,
in the transaction that completes the request, so the portal never promises capacity the cloud
refused. A lease needs nothing from the cloud: the new end is the sweeper's to act on, and the
warning it gave is taken back so the owner is told again before the new end.
"""

from __future__ import annotations

from django.utils.dateparse import parse_datetime

from portal.audit import audit_record
from provisioning.models import Kind, ResourceRequest, Server
from provisioning.services.quotas import allocation_lock
from tenants.services import allocation_save


def capacity_record(request: ResourceRequest) -> None:
    """The decided change, in the portal's records (the caller holds the request's lock)."""
    if request.kind == Kind.QUOTA_CHANGE:
        allocation = allocation_lock(request.allocation_id)  # as submits and approvals do
        for key, value in request.spec["limits"].items():
            setattr(allocation, key, value)
        # Audited as an allocation change; the cloud is brought in line again after commit
        # (the same values the worker set: nothing moves).
        allocation_save(allocation=allocation, actor=None)
        return
    if request.kind == Kind.LEASE_EXTEND:
        server = Server.objects.select_for_update(of=("self",), no_key=True).get(
            pk=request.target_server_id
        )
        before = server.lease_end
        server.lease_end = parse_datetime(request.spec["lease_end"])
        server.lease_warned_at = None
        server.save(update_fields=["lease_end", "lease_warned_at"])
        audit_record(
            actor=None, action="server.lease_extend", obj=server,
            before={"lease_end": before.isoformat() if before else None},
            after={"lease_end": request.spec["lease_end"], "request": request.pk},
            tenant=request.allocation.tenant, region=request.allocation.region,
        )  # fmt: skip
