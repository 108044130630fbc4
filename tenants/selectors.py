"""Reads of tenancy data that pass through the access layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from tenants.access import Action
from tenants.models import Allocation, CloudRegion, Membership, SecurityDomain, Site, Tenant
from tenants.quotas import QuotaUsage, usage_by_allocation


def sites_visible_to(user) -> QuerySet[Site]:
    return Site.objects.restrict(user, Action.VIEW)


def domains_visible_to(user) -> QuerySet[SecurityDomain]:
    return SecurityDomain.objects.restrict(user, Action.VIEW)


def regions_visible_to(user) -> QuerySet[CloudRegion]:
    return CloudRegion.objects.restrict(user, Action.VIEW).select_related("site", "domain")


def tenants_visible_to(user) -> QuerySet[Tenant]:
    return Tenant.objects.restrict(user, Action.VIEW).select_related("parent")


def allocations_visible_to(user, action: Action = Action.VIEW) -> QuerySet[Allocation]:
    return Allocation.objects.restrict(user, action).select_related(
        "tenant", "region__site", "region__domain"
    )


def memberships_of(user) -> QuerySet[Membership]:
    """The user's own memberships: everyone may see which tenants they belong to."""
    return Membership.objects.filter(user=user).select_related("tenant")


@dataclass
class AllocationRow:
    allocation: Allocation
    usage: list[QuotaUsage]


@dataclass
class SiteGroup:
    site: Site
    by_domain: dict[SecurityDomain, list[AllocationRow]] = field(default_factory=dict)


def dashboard_allocations(user) -> list[SiteGroup]:
    """The user's allocations grouped by site, then security domain, with quota usage."""
    allocations = list(allocations_visible_to(user))
    usage = usage_by_allocation(allocations)
    groups: dict[int, SiteGroup] = {}
    for allocation in allocations:
        region = allocation.region
        group = groups.setdefault(region.site_id, SiteGroup(site=region.site))
        bucket = group.by_domain.setdefault(region.domain, [])
        bucket.append(AllocationRow(allocation, usage[allocation.pk]))
    for group in groups.values():
        group.by_domain = dict(sorted(group.by_domain.items(), key=lambda kv: kv[0].level))
    return sorted(groups.values(), key=lambda g: g.site.name)
