"""Tenancy data: where clouds are (sites, security domains, regions) and who holds what."""

from tenants.models.directory import (
    DirectoryAccount,
    DirectoryGrant,
    DirectoryRule,
    DirectorySource,
)
from tenants.models.generation import AccessGeneration
from tenants.models.permissions import (
    SecurityDomainGroupObjectPermission,
    SecurityDomainUserObjectPermission,
    SiteGroupObjectPermission,
    SiteUserObjectPermission,
    TenantGroupObjectPermission,
    TenantUserObjectPermission,
)
from tenants.models.places import CloudRegion, SecurityDomain, Site
from tenants.models.tenancy import Allocation, Delegation, Membership, Role, Tenant
from tenants.models.usage import AllocationUsage

__all__ = [
    "AccessGeneration",
    "Allocation",
    "AllocationUsage",
    "CloudRegion",
    "Delegation",
    "DirectoryAccount",
    "DirectoryGrant",
    "DirectoryRule",
    "DirectorySource",
    "Membership",
    "Role",
    "SecurityDomain",
    "SecurityDomainGroupObjectPermission",
    "SecurityDomainUserObjectPermission",
    "Site",
    "SiteGroupObjectPermission",
    "SiteUserObjectPermission",
    "Tenant",
    "TenantGroupObjectPermission",
    "TenantUserObjectPermission",
]
