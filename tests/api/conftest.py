"""An API world: the provisioning ``shop`` plus objects the shop's people must never reach.

Forbidden objects come in three kinds, each blocked by one dimension of the access layer only:
another tenant (same site and domain), another security domain (same tenant and site), and
another site (same tenant and domain). Every forbidden name contains "forbidden", so a test can
check that no body mentions one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from portal.audit import audit_record
from portal.ssh_keys import ssh_key_add
from portal.tokens import token_create
from provisioning import sla_facts
from provisioning.cloud.probe import ServiceCheck
from provisioning.models import (
    Incident,
    Offering,
    ResourceRequest,
    SecurityGroup,
    SecurityGroupRule,
    Server,
    Volume,
    VolumeType,
)
from provisioning.services.availability import probe_record
from provisioning.services.showback import spans_reconcile
from tenants.delegations import delegation_create
from tenants.models import Role
from tests.factories import (
    AllocationFactory,
    CloudRegionFactory,
    FlavorFactory,
    ImageFactory,
    NetworkFactory,
    SecurityDomainFactory,
    SiteFactory,
    TenantFactory,
    make_portal_role,
    make_user,
)
from tests.keys import ed25519_key
from tests.provisioning.conftest import Shop, shop  # noqa: F401  (the fixture, re-exported)

QUOTA = {"instances": 10, "vcpus": 20, "ram_mb": 40960, "networks": 5, "routers": 2}


@dataclass
class Forbidden:
    """One object of each model, out of reach through one dimension."""

    label: str
    allocation: object
    region: object
    network: object
    server: object
    request: object
    flavor: object
    image: object
    audit_event: object
    security_group: object = None
    volume: object = None
    volume_type: object = None
    incident: object = None


@dataclass
class ApiWorld:
    shop: Shop
    viewer: object
    stranger: object
    auditor: object
    operator: object
    server: object  # Blue's, in the unclassified region
    pending: ResourceRequest  # rita's network request, waiting for a tenant approver
    forbidden: list[Forbidden] = field(default_factory=list)
    other_site: object = None
    other_domain: object = None
    other_tenant: object = None
    other_token: object = None
    other_key: object = None
    other_delegation: object = None  # between two strangers to every role
    delegation: object = None  # from the shop's approver to its viewer, from tomorrow
    security_group: object = None  # Blue's, in the unclassified region
    volume: object = None  # Blue's, in the unclassified region, not attached

    @property
    def roles(self) -> dict[str, object]:
        """People who see some of Blue's objects but none of the forbidden ones."""
        return {
            "viewer": self.viewer,
            "requester": self.shop.requester,
            "approver": self.shop.approver,
            "officer": self.shop.officer,
            "stranger": self.stranger,
        }


def make_server(allocation, name: str, **extra) -> Server:
    return Server.objects.create(
        allocation=allocation,
        name=name,
        backend_id=f"backend-{name}",
        tag=f"portal-{name}",
        status="ACTIVE",
        flavor_name="m1.small",
        vcpus=2,
        ram_mb=2048,
        **extra,
    )


def _forbidden(label: str, allocation, requester) -> Forbidden:
    region = allocation.region
    name = f"forbidden-{label}"
    network = NetworkFactory(allocation=allocation, name=f"{name}-net")
    server = make_server(allocation, f"{name}-vm")
    request = ResourceRequest.objects.create(
        kind="network",
        allocation=allocation,
        requester=requester,
        justification=f"{name} justification",
        spec={"name": f"{name}-request", "cidr": "10.99.0.0/24"},
        pending_stage="tenant",
        networks=1,
    )
    # Waiting for a decision for a day: late, so the SLA report's late list has it to leak.
    request.transitions.create(to_state="pending_approval", at=timezone.now() - timedelta(days=1))
    sla_facts.refresh([request.pk])  # made around the services: its SLA fact too
    event = audit_record(
        actor=None,
        action="test.forbidden",
        object_type="network",
        object_id=network.pk,
        object_repr=f"{name}-event",
        tenant=allocation.tenant,
        region=region,
    )
    flavor = image = None
    if label != "tenant":  # the other tenant shares the shop's region and its catalog
        flavor = FlavorFactory(region=region, name=f"{name}-flavor")
        image = ImageFactory(region=region, name=f"{name}-image")
    group = SecurityGroup.objects.create(
        allocation=allocation, name=f"{name}-sg", backend_id=f"sg-{name}", tag=f"portal-{name}"
    )
    SecurityGroupRule.objects.create(
        group=group, direction="ingress", protocol="tcp", port_min=22, port_max=22,
        remote_cidr="10.0.0.0/8", description=f"{name} rule",
    )  # fmt: skip
    volume = Volume.objects.create(
        allocation=allocation, name=f"{name}-vol", backend_id=f"vol-{name}", tag=f"portal-{name}",
        size_gb=5, status="in-use", server=server, device="/dev/vdb",
    )  # fmt: skip
    volume_type = (
        VolumeType.objects.create(region=region, backend_id=f"type-{name}", name=f"{name}-type")
        if label != "tenant"
        else None
    )
    incident = None
    if label != "tenant":  # the other tenant shares the shop's region: its state is not secret
        failed = [ServiceCheck("compute", False, 9.0, f"{name} outage")]
        for minutes in (2, 1):
            probe_record(region, timezone.now() - timedelta(minutes=minutes), failed)
        incident = Incident.objects.get(region=region, service="compute")
    return Forbidden(
        label, allocation, region, network, server, request, flavor, image, event, group,
        volume, volume_type, incident,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_world(shop) -> ApiWorld:  # noqa: F811
    viewer = make_user(
        "vera",
        memberships={shop.tenant: Role.VIEWER},
        domains=(shop.unclass, shop.secret),
        sites=(shop.site,),
    )
    stranger = make_user("sam", domains=(shop.unclass, shop.secret), sites=(shop.site,))
    auditor = make_portal_role("audrey", "audit_portal")
    operator = make_portal_role("olga", "operate_portal")

    other_tenant = TenantFactory(name="Forbidden Crimson Unit", slug="forbidden-crimson")
    other_site = SiteFactory(name="Forbidden Oeiras", slug="forbidden-oeiras")
    other_domain = SecurityDomainFactory(
        name="Forbidden Cosmic", slug="forbidden-cosmic", level=90, marking="FORBIDDEN COSMIC"
    )
    crimson_user = make_user(
        "forbidden-crimson-user",
        memberships={other_tenant: Role.REQUESTER},
        domains=(shop.unclass,),
        sites=(shop.site,),
    )
    cosmic_region = CloudRegionFactory(site=shop.site, domain=other_domain)
    oeiras_region = CloudRegionFactory(site=other_site, domain=shop.unclass)
    forbidden = [
        _forbidden(
            "tenant",
            AllocationFactory(tenant=other_tenant, region=shop.low.region, **QUOTA),
            crimson_user,
        ),
        _forbidden(
            "domain",
            AllocationFactory(tenant=shop.tenant, region=cosmic_region, **QUOTA),
            shop.requester,
        ),
        _forbidden(
            "site",
            AllocationFactory(tenant=shop.tenant, region=oeiras_region, **QUOTA),
            shop.requester,
        ),
    ]
    from provisioning import services

    pending = services.request_submit(
        user=shop.requester,
        kind="network",
        allocation=shop.low,
        justification="A network for the planning tool, please.",
        spec={"name": "plan-net", "cidr": "10.40.0.0/24"},
    )
    other_token, _secret = token_create(user=crimson_user, name="forbidden-token")
    # Hand-overs are personal: one between two strangers to every role, and one from the
    # shop's approver to its viewer (from tomorrow: it changes nobody's access today).
    crimson_approver = make_user("forbidden-crimson-approver",
                                 memberships={other_tenant: Role.APPROVER})  # fmt: skip
    now = timezone.now()
    other_delegation = delegation_create(
        delegator=crimson_approver, delegate=crimson_user, starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2), reason="forbidden hand-over",
    )  # fmt: skip
    delegation = delegation_create(
        delegator=shop.approver, delegate=viewer, starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2), reason="Leave",
    )  # fmt: skip
    other_key = ssh_key_add(user=crimson_user, name="forbidden-key", public_key=ed25519_key())
    offering = Offering.objects.create(
        name="Small Debian", slug="small-debian", flavor_name="m1.small", image_name="debian-12"
    )
    offering.regions.set([shop.low.region, shop.high.region, cosmic_region, oeiras_region])
    world = ApiWorld(
        shop=shop,
        viewer=viewer,
        stranger=stranger,
        auditor=auditor,
        operator=operator,
        server=make_server(shop.low, "blue-vm"),
        pending=pending,
        forbidden=forbidden,
        other_site=other_site,
        other_domain=other_domain,
        other_tenant=other_tenant,
        other_token=other_token,
        other_key=other_key,
        other_delegation=other_delegation,
        delegation=delegation,
        security_group=SecurityGroup.objects.create(
            allocation=shop.low, name="blue-sg", backend_id="sg-blue", tag="portal-blue-sg"
        ),
        volume=Volume.objects.create(
            allocation=shop.low,
            name="blue-vol",
            backend_id="vol-blue",
            tag="portal-blue-vol",
            size_gb=5,
            status="available",
        ),
    )  # What every resource held this month, as the showback reads it (made around the services).
    spans_reconcile()
    return world


@pytest.fixture
def client_for():
    """An API client authenticated as a user (forced: the token path has its own tests)."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def make_token_client(user, **token_options) -> APIClient:
    """A client that authenticates like a script: with a personal token in the header."""
    _token, secret = token_create(user=user, name="test", **token_options)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client
