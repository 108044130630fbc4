"""Who was given or lost which right, and who changed an allocation, is in the audit log.

Through every way in: the services, the ``access`` command and the admin's pages (guardian's
object-permission pages included, which would otherwise assign permissions directly).
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from guardian.shortcuts import get_user_perms

from portal.audit import verify_chain
from portal.models import AuditEvent
from provisioning import services as provisioning_services
from provisioning.models import Kind
from tenants import services
from tenants.access import DOMAIN_PERMISSION, OFFICER_PERMISSION, SITE_PERMISSION
from tenants.models import Allocation, Membership, Role
from tests.factories import UserFactory, make_user

pytestmark = pytest.mark.django_db


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


# --- memberships ----------------------------------------------------------------------------


def test_membership_changes_are_recorded_with_who_made_them(world, admin_user):
    alice = UserFactory(username="alice")

    services.membership_set(tenant=world.tenant, user=alice, role=Role.REQUESTER, actor=admin_user)
    services.membership_set(tenant=world.tenant, user=alice, role=Role.REQUESTER, actor=admin_user)
    services.membership_set(tenant=world.tenant, user=alice, role=Role.APPROVER, actor=admin_user)
    services.membership_remove(membership=alice.memberships.get(), actor=admin_user)

    created, changed = events("membership.set")  # setting the same role again changes nothing
    assert created.before is None
    assert created.after == {"user": "alice", "role": "requester"}
    assert changed.before == {"user": "alice", "role": "requester"}
    assert changed.after == {"user": "alice", "role": "approver"}
    (removed,) = events("membership.remove")
    assert removed.before == {"user": "alice", "role": "approver"}
    assert {e.actor_name for e in (created, changed, removed)} == {"root"}
    assert {e.tenant_id for e in (created, changed, removed)} == {world.tenant.pk}
    assert verify_chain().ok


def test_deleting_a_tenant_records_who_belonged_to_it(admin_user):
    from tests.factories import TenantFactory

    tenant = TenantFactory(name="Grey Unit", slug="grey")
    make_user("bob", memberships={tenant: Role.MANAGER})

    services.tenant_delete(tenant=tenant, actor=admin_user)

    (event,) = events("tenant.delete")
    assert event.before == {"name": "Grey Unit", "slug": "grey", "members": [["bob", "manager"]]}
    assert event.actor_name == "root"
    assert not Membership.objects.exists()


# --- clearances and entitlements ------------------------------------------------------------


def test_officer_grant_clears_for_the_domain_in_one_recorded_change(world, admin_user):
    secret = world.domains[1]
    carol = UserFactory(username="carol")

    services.security_officer_grant(grantee=carol, domain=secret, actor=admin_user)

    assert set(get_user_perms(carol, secret)) == {DOMAIN_PERMISSION, OFFICER_PERMISSION}
    (event,) = events("access.change")
    assert event.object_type == "tenants.securitydomain"
    assert event.object_id == str(secret.pk)
    assert event.before == {"grantee": "user:carol", "permissions": []}
    assert event.after == {
        "grantee": "user:carol",
        "permissions": sorted([DOMAIN_PERMISSION, OFFICER_PERMISSION]),
    }
    assert event.actor_name == "root"


def test_revoking_clearance_takes_the_officer_right_too(world):
    secret = world.domains[1]
    carol = UserFactory(username="carol")
    services.security_officer_grant(grantee=carol, domain=secret)

    services.domain_access_revoke(grantee=carol, domain=secret)

    assert get_user_perms(carol, secret).count() == 0
    _granted, revoked = events("access.change")
    assert revoked.after == {"grantee": "user:carol", "permissions": []}
    assert revoked.actor_name == "system"


def test_a_change_that_changes_nothing_records_nothing(world):
    carol = make_user("carol", sites=(world.sites[0],))
    before = AuditEvent.objects.count()

    services.site_access_grant(grantee=carol, site=world.sites[0])
    services.site_access_revoke(grantee=carol, site=world.sites[1])

    assert AuditEvent.objects.count() == before


def test_group_grants_name_the_group(world):
    from django.contrib.auth.models import Group

    analysts = Group.objects.create(name="analysts")

    services.site_access_grant(grantee=analysts, site=world.sites[1])

    (event,) = events("access.change")
    assert event.after == {"grantee": "group:analysts", "permissions": [SITE_PERMISSION]}


def test_the_same_permission_cannot_be_granted_and_revoked_at_once(world):
    with pytest.raises(ValueError, match="Both granted and revoked"):
        services.object_permissions_change(
            grantee=UserFactory(), obj=world.sites[0],
            grant={SITE_PERMISSION}, revoke={SITE_PERMISSION},
        )  # fmt: skip


def test_access_command_grants_revokes_and_names_who_did_it(world, admin_user, capsys):
    dave = UserFactory(username="dave")

    call_command("access", "grant", "--user", "dave", "--domain", "secret", "--officer",
                 "--site", "mons", "--by", "root")  # fmt: skip
    assert set(get_user_perms(dave, world.domains[1])) == {DOMAIN_PERMISSION, OFFICER_PERMISSION}
    assert "mons" in capsys.readouterr().out

    call_command("access", "revoke", "--user", "dave", "--domain", "secret")

    assert get_user_perms(dave, world.domains[1]).count() == 0
    changes = events("access.change")
    assert [e.actor_name for e in changes] == ["root", "root", "system"]
    assert changes[-1].after == {"grantee": "user:dave", "permissions": []}


def test_access_command_refuses_an_unknown_actor(world):
    UserFactory(username="dave")
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("access", "grant", "--user", "dave", "--site", "mons", "--by", "nobody")
    assert not events("access.change")


# --- the admin's object-permission pages ------------------------------------------------------


def test_admin_permission_page_offers_only_the_portal_grants_and_records_the_change(
    client, world, admin_user
):
    secret, erin = world.domains[1], UserFactory(username="erin")
    client.force_login(admin_user)
    url = reverse("admin:tenants_securitydomain_permissions_manage_user", args=[secret.pk, erin.pk])

    page = client.get(url)
    offered = {value for value, _ in page.context["form"].fields["permissions"].choices}
    assert offered == {DOMAIN_PERMISSION, OFFICER_PERMISSION}

    refused = client.post(url, {"permissions": ["change_securitydomain"]})
    assert refused.status_code == 200
    assert "permissions" in refused.context["form"].errors
    assert get_user_perms(erin, secret).count() == 0

    client.post(url, {"permissions": [DOMAIN_PERMISSION]})
    assert list(get_user_perms(erin, secret)) == [DOMAIN_PERMISSION]
    client.post(url, {"permissions": [], "submit": "Save"})  # as a browser posts "none ticked"
    assert get_user_perms(erin, secret).count() == 0

    granted, revoked = events("access.change")
    assert granted.after == {"grantee": "user:erin", "permissions": [DOMAIN_PERMISSION]}
    assert revoked.after == {"grantee": "user:erin", "permissions": []}
    assert {granted.actor_name, revoked.actor_name} == {"root"}


def test_admin_group_permission_page_on_a_site(client, world, admin_user):
    from django.contrib.auth.models import Group

    analysts = Group.objects.create(name="analysts")
    site = world.sites[1]
    client.force_login(admin_user)
    url = reverse("admin:tenants_site_permissions_manage_group", args=[site.pk, analysts.pk])

    client.post(url, {"permissions": [SITE_PERMISSION]})

    (event,) = events("access.change")
    assert event.after == {"grantee": "group:analysts", "permissions": [SITE_PERMISSION]}
    assert event.actor_name == "root"


# --- allocations ------------------------------------------------------------------------------


def test_allocation_changes_are_recorded_only_when_capacity_changes(world, admin_user):
    allocation = world.allocations[(0, 0)]
    allocation.instances = 12
    services.allocation_save(allocation=allocation, actor=admin_user)
    services.allocation_save(allocation=allocation, actor=admin_user)  # nothing changed

    (event,) = events("allocation.change")
    assert event.before["instances"] != 12
    assert event.after["instances"] == 12
    assert (event.tenant_id, event.region_id) == (world.tenant.pk, allocation.region_id)
    assert event.actor_name == "root"


def test_admin_deletes_an_unused_allocation_and_records_it(client, world, admin_user):
    allocation = world.allocations[(1, 1)]
    client.force_login(admin_user)
    url = reverse("admin:tenants_allocation_delete", args=[allocation.pk])

    response = client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Allocation.objects.filter(pk=allocation.pk).exists()
    (event,) = events("allocation.delete")
    assert event.actor_name == "root"
    assert event.before["region_id"] == allocation.region_id


def test_admin_will_not_delete_an_allocation_with_history(client, world, admin_user):
    allocation = world.allocations[(0, 0)]
    requester = make_user(
        "rita", memberships={world.tenant: Role.REQUESTER},
        domains=(allocation.region.domain,), sites=(allocation.region.site,),
    )  # fmt: skip
    provisioning_services.request_submit(
        user=requester, kind=Kind.NETWORK, allocation=allocation,
        spec={"name": "app", "cidr": "10.9.0.0/24", "router": False},
        justification="A network for the exercise.",
    )  # fmt: skip
    client.force_login(admin_user)

    page = client.post(reverse("admin:tenants_allocation_delete", args=[allocation.pk]),
                       {"post": "yes"})  # fmt: skip

    assert page.status_code == 200
    assert b"Cannot delete allocation" in page.content
    assert Allocation.objects.filter(pk=allocation.pk).exists()
    assert not events("allocation.delete")


def test_admin_officer_right_brings_the_clearance_and_goes_with_it(client, world, admin_user):
    secret, sofia = world.domains[1], UserFactory(username="sofia")
    client.force_login(admin_user)
    name = "admin:tenants_securitydomain_permissions_manage_user"
    url = reverse(name, args=[secret.pk, sofia.pk])

    client.post(url, {"permissions": [OFFICER_PERMISSION]})
    assert set(get_user_perms(sofia, secret)) == {DOMAIN_PERMISSION, OFFICER_PERMISSION}

    client.post(url, {"permissions": [OFFICER_PERMISSION], "submit": "Save"})  # unchanged
    assert len(events("access.change")) == 1

    client.post(url, {"permissions": [DOMAIN_PERMISSION]})  # no longer an officer
    assert list(get_user_perms(sofia, secret)) == [DOMAIN_PERMISSION]


# --- configuration changed in the admin -----------------------------------------------------


def test_a_domain_no_longer_requiring_an_officer_is_on_record(world, admin_user):
    from portal.services import audited_save

    secret = world.domains[1]
    secret.requires_security_officer = False
    audited_save(obj=secret, actor=admin_user)
    audited_save(obj=secret, actor=admin_user)  # nothing changed: nothing recorded

    (event,) = events("securitydomain.change")
    assert event.before == {"requires_security_officer": True}
    assert event.after == {"requires_security_officer": False}
    assert event.actor_name == "root"


def test_admin_records_creating_and_deleting_configuration(client, admin_user):
    from tenants.models import Site

    client.force_login(admin_user)
    client.post(reverse("admin:tenants_site_add"),
                {"name": "Glons", "slug": "glons", "location": "Belgium"})  # fmt: skip
    site = Site.objects.get(slug="glons")
    client.post(reverse("admin:tenants_site_delete", args=[site.pk]), {"post": "yes"})

    (created,) = events("site.create")
    (deleted,) = events("site.delete")
    assert created.after["name"] == "Glons" and created.actor_name == "root"
    assert deleted.before["slug"] == "glons"
    assert not Site.objects.filter(slug="glons").exists()
    assert verify_chain().ok
