"""factory_boy factories and a small world builder for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from tenants import services
from tenants.models import Allocation, CloudRegion, Role, SecurityDomain, Site, Tenant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Site {n}")
    slug = factory.Sequence(lambda n: f"site-{n}")
    location = "Somewhere"


class SecurityDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecurityDomain

    name = factory.Sequence(lambda n: f"Domain {n}")
    slug = factory.Sequence(lambda n: f"domain-{n}")
    level = factory.Sequence(lambda n: 100 + n)
    marking = factory.LazyAttribute(lambda d: d.name.upper())
    banner_colour = "#007a33"


class CloudRegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloudRegion

    site = factory.SubFactory(SiteFactory)
    domain = factory.SubFactory(SecurityDomainFactory)
    slug = factory.LazyAttribute(lambda r: f"{r.site.slug}-{r.domain.slug}")
    cloud_name = factory.LazyAttribute(lambda r: r.slug)
    region_name = factory.LazyAttribute(lambda r: r.slug)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class AllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allocation

    tenant = factory.SubFactory(TenantFactory)
    region = factory.SubFactory(CloudRegionFactory)


def make_user(
    username: str,
    *,
    memberships: dict[Tenant, Role] | None = None,
    domains: tuple[SecurityDomain, ...] = (),
    sites: tuple[Site, ...] = (),
):
    """A user with the given memberships, clearances and site entitlements, via the services."""
    user = UserFactory(username=username)
    for tenant, role in (memberships or {}).items():
        services.membership_set(tenant=tenant, user=user, role=role)
    for domain in domains:
        services.domain_access_grant(grantee=user, domain=domain)
    for site in sites:
        services.site_access_grant(grantee=user, site=site)
    return user


def make_portal_role(username: str, codename: str):
    """An operator (``operate_portal``) or auditor (``audit_portal``) through a group."""
    user = UserFactory(username=username)
    group, _ = Group.objects.get_or_create(name=codename)
    group.permissions.add(Permission.objects.get(codename=codename))
    user.groups.add(group)
    return user


@dataclass
class World:
    sites: list[Site]
    domains: list[SecurityDomain]
    regions: dict[tuple[int, int], CloudRegion]  # (site index, domain index) -> region
    tenant: Tenant
    other_tenant: Tenant
    allocations: dict[tuple[int, int], Allocation]  # of ``tenant``
    other_allocations: dict[tuple[int, int], Allocation]  # of ``other_tenant``


def build_world() -> World:
    sites = [SiteFactory(name="Mons", slug="mons"), SiteFactory(name="Oeiras", slug="oeiras")]
    domains = [
        SecurityDomainFactory(name="Unclassified", slug="unclass", level=10, marking="UNCLASS"),
        SecurityDomainFactory(
            name="Secret",
            slug="secret",
            level=30,
            marking="SECRET",
            banner_colour="#c8102e",
            requires_security_officer=True,
        ),
    ]
    regions = {
        (s, d): CloudRegionFactory(site=site, domain=domain)
        for s, site in enumerate(sites)
        for d, domain in enumerate(domains)
    }
    tenant = TenantFactory(name="Blue Unit", slug="blue")
    other = TenantFactory(name="Red Unit", slug="red")
    allocations = {key: AllocationFactory(tenant=tenant, region=r) for key, r in regions.items()}
    others = {key: AllocationFactory(tenant=other, region=r) for key, r in regions.items()}
    return World(sites, domains, regions, tenant, other, allocations, others)


# --- provisioning ---------------------------------------------------------------------------


class FlavorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "provisioning.Flavor"

    region = factory.SubFactory(CloudRegionFactory)
    backend_id = factory.Sequence(lambda n: f"flavor-{n}")
    name = "m1.small"
    vcpus = 2
    ram_mb = 2048
    disk_gb = 20


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "provisioning.Image"

    region = factory.SubFactory(CloudRegionFactory)
    backend_id = factory.Sequence(lambda n: f"image-{n}")
    name = "debian-12"


class NetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "provisioning.Network"

    allocation = factory.SubFactory(AllocationFactory)
    name = factory.Sequence(lambda n: f"net-{n}")
    cidr = factory.Sequence(lambda n: f"10.{n % 250}.0.0/24")
    backend_id = factory.Sequence(lambda n: f"network-{n}")
    tag = factory.Sequence(lambda n: f"portal-request-{n}")


def server_spec(network, **overrides) -> dict:
    return {"name": "web", "flavor": "m1.small", "image": "debian-12",
            "networks": [network.pk], "count": 1, **overrides}  # fmt: skip


def age_timeline(request, **minutes_ago: int):
    """Move a submitted request's timeline into the past, for SLA figures.

    ``pending_approval`` says how many minutes ago it was submitted; each further keyword is a
    state it then reached, that many minutes ago, in the order given. The request ends in the last.
    """
    from django.utils import timezone

    from provisioning.models import RequestState, RequestTransition, ResourceRequest
    from provisioning.sla_facts import refresh

    now = timezone.now()
    RequestTransition.objects.filter(request=request).update(
        at=now - timedelta(minutes=minutes_ago.pop("pending_approval"))
    )
    last = RequestState.PENDING_APPROVAL
    for state, minutes in minutes_ago.items():
        RequestTransition.objects.create(request=request, from_state=last, to_state=state,
                                         at=now - timedelta(minutes=minutes))  # fmt: skip
        last = state
    ResourceRequest.objects.filter(pk=request.pk).update(state=last)
    refresh([request.pk])  # the timeline was written around the transition service
    return request


def set_timeline(request, moves: list[tuple[str, int]]):
    """Give a request the timeline ``moves``: (state reached, minutes ago), oldest first.

    States may repeat (a failed build retried). The request ends in the last state; its
    ``created_at`` becomes the first move.
    """
    from django.utils import timezone

    from provisioning.models import RequestTransition, ResourceRequest
    from provisioning.sla_facts import refresh

    now = timezone.now()
    RequestTransition.objects.filter(request=request).delete()
    last = ""
    for state, minutes in moves:
        RequestTransition.objects.create(request=request, from_state=last, to_state=state,
                                         at=now - timedelta(minutes=minutes))  # fmt: skip
        last = state
    ResourceRequest.objects.filter(pk=request.pk).update(
        state=last, created_at=now - timedelta(minutes=moves[0][1])
    )
    refresh([request.pk])
    return request
