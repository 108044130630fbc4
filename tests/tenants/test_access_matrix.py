"""Membership x domain clearance x site entitlement: exactly the right allocations, everywhere.

Each case grants a user some of the three rights towards one target allocation (Blue Unit at
Mons in the Secret domain) and checks that the set of visible allocations is exactly the one the
rule allows, through the access layer, the pages and the API; invisible objects answer 404.
"""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from tenants.access import Action, can, restrict
from tenants.models import Allocation, Role
from tests.factories import make_portal_role, make_user

CASES = list(itertools.product([True, False], repeat=3))


def _expected(world, member: bool, cleared: bool, entitled: bool) -> set[int]:
    site, domain = world.sites[0], world.domains[1]
    if not (member and cleared and entitled):
        return set()
    return {
        a.pk
        for a in world.allocations.values()
        if a.region.site_id == site.pk and a.region.domain_id == domain.pk
    }


def _user(world, member: bool, cleared: bool, entitled: bool):
    return make_user(
        "subject",
        memberships={world.tenant: Role.REQUESTER} if member else {},
        domains=(world.domains[1],) if cleared else (),
        sites=(world.sites[0],) if entitled else (),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("member", "cleared", "entitled"), CASES)
def test_access_layer(world, member, cleared, entitled):
    user = _user(world, member, cleared, entitled)
    expected = _expected(world, member, cleared, entitled)

    visible = set(
        restrict(Allocation.objects.all(), user, Action.VIEW).values_list("pk", flat=True)
    )

    assert visible == expected
    for allocation in [*world.allocations.values(), *world.other_allocations.values()]:
        assert can(user, Action.VIEW, allocation) is (allocation.pk in expected)


@pytest.mark.django_db
@pytest.mark.parametrize(("member", "cleared", "entitled"), CASES)
def test_pages(client, world, member, cleared, entitled):
    user = _user(world, member, cleared, entitled)
    expected = _expected(world, member, cleared, entitled)
    client.force_login(user)

    listing = client.get(reverse("allocation-list")).content.decode()

    for allocation in [*world.allocations.values(), *world.other_allocations.values()]:
        url = allocation.get_absolute_url()
        if allocation.pk in expected:
            assert f'href="{url}"' in listing
            assert client.get(url).status_code == 200
        else:
            assert f'href="{url}"' not in listing
            response = client.get(url)
            assert response.status_code == 404
            assert allocation.tenant.name.encode() not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("member", "cleared", "entitled"), CASES)
def test_api(api_client, world, member, cleared, entitled):
    user = _user(world, member, cleared, entitled)
    expected = _expected(world, member, cleared, entitled)
    api_client.force_authenticate(user)

    listing = api_client.get("/api/v1/allocations/").json()

    assert {row["id"] for row in listing["results"]} == expected
    for allocation in [*world.allocations.values(), *world.other_allocations.values()]:
        response = api_client.get(f"/api/v1/allocations/{allocation.pk}/")
        if allocation.pk in expected:
            assert response.status_code == 200
        else:
            assert response.status_code == 404
            assert allocation.tenant.name not in response.content.decode()


@pytest.mark.django_db
def test_regions_sites_domains_follow_clearance_and_entitlement(api_client, world):
    user = make_user("partial", domains=(world.domains[0],), sites=(world.sites[1],))
    api_client.force_authenticate(user)

    sites = [s["slug"] for s in api_client.get("/api/v1/sites/").json()["results"]]
    domains = [d["slug"] for d in api_client.get("/api/v1/domains/").json()["results"]]
    regions = [r["slug"] for r in api_client.get("/api/v1/regions/").json()["results"]]

    assert sites == ["oeiras"]
    assert domains == ["unclass"]
    assert regions == [world.regions[(1, 0)].slug]
    assert api_client.get(f"/api/v1/regions/{world.regions[(0, 1)].pk}/").status_code == 404


@pytest.mark.django_db
def test_roles_grant_actions_cumulatively(world):
    everything = {"domains": tuple(world.domains), "sites": tuple(world.sites)}
    allocation = world.allocations[(0, 0)]
    rights = {
        Role.VIEWER: {Action.VIEW},
        Role.REQUESTER: {Action.VIEW, Action.REQUEST},
        Role.APPROVER: {Action.VIEW, Action.REQUEST, Action.APPROVE},
        Role.MANAGER: set(Action),
    }
    for role, allowed in rights.items():
        user = make_user(f"as-{role}", memberships={world.tenant: role}, **everything)
        assert {a for a in Action if can(user, a, allocation)} == allowed, role


@pytest.mark.django_db
def test_rights_through_a_group_count_like_direct_ones(world):
    from django.contrib.auth.models import Group

    from tenants import services

    cleared = Group.objects.create(name="cleared-secret-mons")
    services.domain_access_grant(grantee=cleared, domain=world.domains[1])
    services.site_access_grant(grantee=cleared, site=world.sites[0])
    user = make_user("grouped", memberships={world.tenant: Role.VIEWER})
    assert not can(user, Action.VIEW, world.allocations[(0, 1)])

    user.groups.add(cleared)

    assert can(user, Action.VIEW, world.allocations[(0, 1)])


@pytest.mark.django_db
def test_removing_a_membership_takes_every_right_away(world):
    from tenants import services

    user = make_user(
        "leaver",
        memberships={world.tenant: Role.MANAGER},
        domains=tuple(world.domains),
        sites=tuple(world.sites),
    )
    assert can(user, Action.MANAGE, world.tenant)

    services.membership_remove(membership=user.memberships.get())

    assert not restrict(Allocation.objects.all(), user, Action.VIEW).exists()
    assert not can(user, Action.VIEW, world.tenant)


@pytest.mark.django_db
def test_changing_a_role_replaces_the_rights(world):
    from tenants import services

    user = make_user("mover", memberships={world.tenant: Role.APPROVER})
    services.membership_set(tenant=world.tenant, user=user, role=Role.VIEWER)

    assert can(user, Action.VIEW, world.tenant)
    assert not can(user, Action.REQUEST, world.tenant)
    assert user.memberships.get().role == Role.VIEWER


@pytest.mark.django_db
def test_operator_sees_and_acts_on_everything(world):
    operator = make_portal_role("op", "operate_portal")
    every = Allocation.objects.count()

    assert restrict(Allocation.objects.all(), operator, Action.VIEW).count() == every
    assert restrict(Allocation.objects.all(), operator, Action.MANAGE).count() == every


@pytest.mark.django_db
def test_auditor_sees_everything_and_acts_on_nothing(world):
    auditor = make_portal_role("audit", "audit_portal")

    assert restrict(Allocation.objects.all(), auditor, Action.VIEW).count() == 8
    for action in (Action.REQUEST, Action.APPROVE, Action.MANAGE):
        assert not restrict(Allocation.objects.all(), auditor, action).exists()


@pytest.mark.django_db
def test_anonymous_and_inactive_users_see_nothing(client, api_client, world):
    from django.contrib.auth.models import AnonymousUser

    inactive = make_user(
        "gone",
        memberships={world.tenant: Role.MANAGER},
        domains=tuple(world.domains),
        sites=tuple(world.sites),
    )
    inactive.is_active = False
    inactive.save()

    assert not restrict(Allocation.objects.all(), AnonymousUser(), Action.VIEW).exists()
    assert not restrict(Allocation.objects.all(), inactive, Action.VIEW).exists()
    assert client.get(reverse("allocation-list")).status_code == 302
    assert api_client.get("/api/v1/allocations/").status_code in (401, 403)


def test_access_paths_seen_through_a_relation():
    from tenants.access import AccessPaths

    paths = AccessPaths(tenant="tenant", site="region__site", domain="region__domain")
    assert paths.via("request__allocation") == AccessPaths(
        tenant="request__allocation__tenant",
        site="request__allocation__region__site",
        domain="request__allocation__region__domain",
        anchor="request__allocation",
    )
    assert AccessPaths(site="").via("region") == AccessPaths(site="region", anchor="region")
    # Through two relations, the anchor is the first access-controlled object reached.
    assert paths.via("allocation").via("request").anchor == "request__allocation"


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["membership", "clearance", "group", "allocation"])
def test_what_restrict_remembers_on_a_user_follows_every_change_of_access(world, change):
    """``restrict`` remembers a user's allowed allocations on the user object (one web request
    reads them once); the same object must still see a change made meanwhile."""
    from django.contrib.auth.models import Group

    from provisioning.models import Server
    from tenants import services
    from tests.factories import AllocationFactory, TenantFactory

    user = make_user("watcher", domains=tuple(world.domains), sites=tuple(world.sites))
    allocation = world.allocations[(0, 0)]
    Server.objects.create(allocation=allocation, name="s", backend_id="b", tag="t")
    if change == "membership":
        assert not Server.objects.restrict(user).exists()
        services.membership_set(tenant=world.tenant, user=user, role=Role.VIEWER)
        assert Server.objects.restrict(user).exists()
    elif change == "clearance":
        services.membership_set(tenant=world.tenant, user=user, role=Role.VIEWER)
        assert Server.objects.restrict(user).exists()
        services.domain_access_revoke(grantee=user, domain=allocation.region.domain)
        assert not Server.objects.restrict(user).exists()
    elif change == "group":
        group = Group.objects.create(name="readers")
        services.membership_set(tenant=world.tenant, user=make_user("x"), role=Role.VIEWER)
        role_group = Group.objects.get(name=f"tenant:{world.tenant.pk}:viewer")
        assert not Server.objects.restrict(user).exists()
        user.groups.add(role_group, group)
        assert Server.objects.restrict(user).exists()
    else:
        other = TenantFactory()
        services.membership_set(tenant=other, user=user, role=Role.VIEWER)
        assert not Server.objects.restrict(user).exists()
        moved = AllocationFactory(tenant=other, region=allocation.region)
        Server.objects.create(allocation=moved, name="s2", backend_id="b2", tag="t")
        assert Server.objects.restrict(user).filter(name="s2").exists()


def _ids(rule) -> set[int]:
    """The allocations an ``allocation IN (...)`` rule (or None: none) names."""
    from portal.literals import IdsIn

    if rule is None:
        return set()
    (listed,) = rule.children
    assert isinstance(listed, IdsIn)
    return set(listed.rhs)


@pytest.mark.django_db
@pytest.mark.parametrize(("member", "cleared", "entitled"), CASES)
def test_the_stages_rules_name_what_the_access_layer_allows(world, member, cleared, entitled):
    """The inbox decides the manager's stage over ``managed_allocations`` and the security
    officer's over ``overseen_allocations``: remembered ids, read only where every grant the
    rule needs is held. They name what the access layer's own rules do."""
    from tenants import services as tenancy
    from tenants.access import (
        MANAGING,
        _needed,
        managed_allocations,
        officer_domains_filter,
        overseen_allocations,
        site_access_filter,
    )

    assert tuple(_needed(Allocation.access_paths, Action.MANAGE)) == MANAGING
    manager = make_user(
        "manager",
        memberships={world.tenant: Role.MANAGER} if member else {},
        domains=(world.domains[1],) if cleared else (),
        sites=(world.sites[0],) if entitled else (),
    )
    managed = set(
        restrict(Allocation.objects.all(), manager, Action.MANAGE).values_list("pk", flat=True)
    )
    assert (
        _ids(managed_allocations(manager)) == managed == _expected(world, member, cleared, entitled)
    )

    officer = make_user("officer", sites=(world.sites[0],) if entitled else ())
    if member:
        tenancy.security_officer_grant(grantee=officer, domain=world.domains[1])
    if cleared:
        tenancy.security_officer_grant(grantee=officer, domain=world.domains[0])
    overseen = set(
        Allocation.objects.filter(
            officer_domains_filter(officer, "region__domain")
            & site_access_filter(officer, "region__site")
        ).values_list("pk", flat=True)
    )
    assert _ids(overseen_allocations(officer)) == overseen
    assert bool(overseen) == (entitled and (member or cleared))
