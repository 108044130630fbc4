"""A small provisioning world: one tenant with allocations in an unclassified and a secret region,
a requester, two approvers, a security officer, the catalog and a network to attach to."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from provisioning.models import Network
from tenants import services as tenancy
from tenants.models import Allocation, Role, SecurityDomain, Site, Tenant
from tests.factories import (
    AllocationFactory,
    CloudRegionFactory,
    FlavorFactory,
    ImageFactory,
    NetworkFactory,
    SecurityDomainFactory,
    SiteFactory,
    TenantFactory,
    make_user,
)


@dataclass
class Shop:
    site: Site
    unclass: SecurityDomain
    secret: SecurityDomain
    tenant: Tenant
    low: Allocation  # unclassified
    high: Allocation  # secret: needs a security officer
    low_net: Network
    high_net: Network
    requester: object
    approver: object
    approver2: object
    officer: object


@pytest.fixture
def shop(db) -> Shop:
    site = SiteFactory(name="Mons", slug="mons")
    unclass = SecurityDomainFactory(name="Unclassified", slug="unclass", level=10)
    secret = SecurityDomainFactory(
        name="Secret", slug="secret", level=30, requires_security_officer=True
    )
    tenant = TenantFactory(name="Blue Unit", slug="blue")
    allocations = {}
    for domain in (unclass, secret):
        region = CloudRegionFactory(site=site, domain=domain)
        FlavorFactory(region=region, name="m1.small", vcpus=2, ram_mb=2048)
        FlavorFactory(region=region, name="m1.large", vcpus=8, ram_mb=16384)
        ImageFactory(region=region, name="debian-12")
        allocations[domain.slug] = AllocationFactory(
            tenant=tenant,
            region=region,
            instances=10,
            vcpus=20,
            ram_mb=40960,
            networks=5,
            routers=2,
            project_id=f"project-{domain.slug}",
        )
    everything = {"domains": (unclass, secret), "sites": (site,)}
    requester = make_user("rita", memberships={tenant: Role.REQUESTER}, **everything)
    approver = make_user("arno", memberships={tenant: Role.APPROVER}, **everything)
    approver2 = make_user("anna", memberships={tenant: Role.APPROVER}, **everything)
    officer = make_user("otto", sites=(site,))
    tenancy.security_officer_grant(grantee=officer, domain=secret)
    return Shop(
        site=site, unclass=unclass, secret=secret, tenant=tenant,
        low=allocations["unclass"], high=allocations["secret"],
        low_net=NetworkFactory(allocation=allocations["unclass"], cidr="10.1.0.0/24"),
        high_net=NetworkFactory(allocation=allocations["secret"], cidr="10.2.0.0/24"),
        requester=requester, approver=approver, approver2=approver2, officer=officer,
    )  # fmt: skip
