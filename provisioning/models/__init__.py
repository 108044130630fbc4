"""Provisioning data: the catalog, requests and their approvals, and what exists in the cloud."""

from provisioning.models.approvals import Approval, ApprovalPolicy
from provisioning.models.availability import (
    AvailabilityHour,
    Incident,
    ProbeCheck,
    ProbedService,
    ServiceStatus,
)
from provisioning.models.catalog import (
    CatalogPolicy,
    Flavor,
    Image,
    Offering,
    VolumeType,
    VolumeTypeQuota,
)
from provisioning.models.demand import DemandHour
from provisioning.models.notifications import Notification
from provisioning.models.requests import (
    IN_FLIGHT,
    TERMINAL,
    Kind,
    QuotaNeeds,
    RequestState,
    RequestTransition,
    ResourceRequest,
    Stage,
)
from provisioning.models.resources import (
    FloatingIp,
    Network,
    Orphan,
    SecurityGroup,
    SecurityGroupRule,
    Server,
    Volume,
)
from provisioning.models.showback import RateCard, ShowbackDay, UsageSpan
from provisioning.models.sla import MonthlyReport, SlaFact

__all__ = [
    "IN_FLIGHT",
    "TERMINAL",
    "Approval",
    "ApprovalPolicy",
    "AvailabilityHour",
    "CatalogPolicy",
    "DemandHour",
    "Flavor",
    "FloatingIp",
    "Image",
    "Incident",
    "Kind",
    "MonthlyReport",
    "Network",
    "Notification",
    "Offering",
    "Orphan",
    "ProbeCheck",
    "ProbedService",
    "QuotaNeeds",
    "RateCard",
    "RequestState",
    "RequestTransition",
    "ResourceRequest",
    "SecurityGroup",
    "SecurityGroupRule",
    "Server",
    "ServiceStatus",
    "ShowbackDay",
    "SlaFact",
    "Stage",
    "UsageSpan",
    "Volume",
    "VolumeType",
    "VolumeTypeQuota",
]
