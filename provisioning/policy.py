"""Approval policy: which stages a request must pass, and when the policy itself approves."""

from __future__ import annotations

from dataclasses import dataclass

from provisioning.firewall import needs_officer
from provisioning.models import ApprovalPolicy, Kind, ResourceRequest, Stage

POWER_ACTIONS = (Kind.SERVER_START, Kind.SERVER_STOP, Kind.SERVER_REBOOT)


@dataclass(frozen=True)
class EffectivePolicy:
    security_officer_required: bool
    auto_approve: bool = False
    auto_max_instances: int = 0
    auto_max_vcpus: int = 0
    auto_max_ram_mb: int = 0
    auto_approve_power_actions: bool = True


def policy_for(request: ResourceRequest) -> EffectivePolicy:
    """The allocation's own policy, else its domain's, else the domain's defaults."""
    allocation = request.allocation
    domain = allocation.region.domain
    policy = (
        ApprovalPolicy.objects.filter(allocation=allocation).first()
        or ApprovalPolicy.objects.filter(domain=domain, allocation__isnull=True).first()
    )
    # A domain that demands a security officer always gets one, whatever a policy says.
    officer = domain.requires_security_officer
    if policy is None:
        return EffectivePolicy(security_officer_required=officer)
    if policy.security_officer_required is not None:
        officer = officer or policy.security_officer_required
    return EffectivePolicy(
        security_officer_required=officer,
        auto_approve=policy.auto_approve and not officer,
        auto_max_instances=policy.auto_max_instances,
        auto_max_vcpus=policy.auto_max_vcpus,
        auto_max_ram_mb=policy.auto_max_ram_mb,
        auto_approve_power_actions=policy.auto_approve_power_actions,
    )


def stages_for(request: ResourceRequest, policy: EffectivePolicy) -> list[Stage]:
    """The stages a person must pass, in order; empty when the policy approves by itself."""
    if Kind(request.kind).is_capacity:
        # Capacity is the tenant's budget, then the cloud's: never approved by policy.
        return [Stage.MANAGER, Stage.OPERATOR]
    if request.kind in POWER_ACTIONS and policy.auto_approve_power_actions:
        return []
    if (
        policy.auto_approve
        and request.kind in (Kind.SERVER, Kind.NETWORK)
        and request.instances <= policy.auto_max_instances
        and request.vcpus <= policy.auto_max_vcpus
        and request.ram_mb <= policy.auto_max_ram_mb
    ):
        return []
    stages = [Stage.TENANT]
    if policy.security_officer_required or _officer_reviews(request):
        stages.append(Stage.SECURITY)
    return stages


def _officer_reviews(request: ResourceRequest) -> bool:
    """Changes a domain wants its security officer to see, whatever the approval policy says."""
    domain = request.allocation.region.domain
    if request.kind == Kind.SERVER_ADDRESS_ADD:
        return domain.external_addresses == "officer"
    if request.kind == Kind.SECURITY_GROUP_RULE:
        return needs_officer(request.spec, domain)
    return False
