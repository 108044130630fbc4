"""What the access layer remembers between requests is forgotten by every committed change of
access, made in this process or in any other (``tenants.access_memory``).

These tests commit (``transaction=True``): the generation is bumped after a commit, and a test
wrapped in one transaction never commits.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from portal.tokens import token_create, token_revoke
from provisioning.models import Server
from tenants import access_memory, services
from tenants.models import Role
from tests.factories import build_world, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seen():
    """A member of the world's tenant with a token, and a server they can see."""
    world = build_world()
    user = make_user("watcher", domains=tuple(world.domains), sites=tuple(world.sites))
    services.membership_set(tenant=world.tenant, user=user, role=Role.VIEWER)
    server = Server.objects.create(
        allocation=world.allocations[(0, 0)], name="s1", backend_id="b1", tag="t1"
    )
    _token, secret = token_create(user=user, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return world, user, server, client, _token


def _get(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, len(queries)


def test_a_second_request_reads_only_the_generation_and_its_rows(seen):
    _world, _user, server, client, _token = seen
    first, cold = _get(client, f"/api/v1/servers/{server.pk}/")
    again, warm = _get(client, f"/api/v1/servers/{server.pk}/")
    assert first.status_code == again.status_code == 200
    # Cold: generation, token, its first use recorded, 2 x model permissions, grants,
    # allocations, server, its allocation's places, networks. Warm: generation, server (alone,
    # no join: its places are remembered), networks.
    assert (cold, warm) == (10, 3)


def test_a_second_list_request_reads_only_the_generation_and_the_page(seen):
    _world, _user, _server, client, _token = seen
    first, cold = _get(client, "/api/v1/servers/")
    again, warm = _get(client, "/api/v1/servers/")
    assert first.json() == again.json()
    assert again.json()["results"][0]["allocation"]["tenant"] == "blue"
    # Warm: generation, count, the page's ids, its rows, their network links. The caller's
    # grants and allocations and the rows' places (tenant, region, site, domain) are
    # remembered.
    assert (cold, warm) == (12, 5)


def test_a_warm_inbox_reads_no_permission(seen):
    """Whether the caller is an operator (the operator's stage of the inbox) is answered from
    the permissions read with the token's owner and remembered, not by a query per answer."""
    world, user, _server, client, _token = seen
    services.membership_set(tenant=world.tenant, user=user, role=Role.APPROVER)
    asker = make_user("asker", domains=tuple(world.domains), sites=tuple(world.sites))
    from provisioning.models import ResourceRequest

    waiting = ResourceRequest.objects.create(
        kind="network", allocation=world.allocations[(0, 0)], requester=asker,
        justification="Needed.", spec={"name": "n1", "cidr": "10.0.0.0/24"},
        pending_stage="tenant",
    )  # fmt: skip
    first = client.get("/api/v1/approvals/")
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/api/v1/approvals/")
    assert [r["id"] for r in again.json()["results"]] == [waiting.pk]
    assert first.json() == again.json()
    sent = " ".join(q["sql"] for q in queries.captured_queries)
    assert "auth_permission" not in sent and "auth_user_user_permissions" not in sent
    # Warm: generation, count, the page's ids, its rows with their requesters.
    assert len(queries) == 4


def test_a_renamed_tenant_is_shown_at_the_next_request(seen):
    world, _user, _server, client, _token = seen
    assert client.get("/api/v1/servers/").json()["results"][0]["allocation"]["tenant"] == "blue"
    world.tenant.slug = "azure"
    world.tenant.save()
    assert client.get("/api/v1/servers/").json()["results"][0]["allocation"]["tenant"] == "azure"


def test_a_revoked_token_stops_at_the_next_request(seen):
    _world, user, server, client, token = seen
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200
    token_revoke(user=user, token=token)
    response = client.get(f"/api/v1/servers/{server.pk}/")
    assert response.status_code == 401
    assert b"revoked" in response.content


def test_a_disabled_owner_stops_at_the_next_request(seen):
    _world, user, server, client, _token = seen
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 401


def test_a_lost_membership_hides_the_server_at_the_next_request(seen):
    world, user, server, client, _token = seen
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200
    services.membership_remove(membership=world.tenant.memberships.get(user=user))
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 404
    assert client.get("/api/v1/servers/").json()["count"] == 0


def test_a_change_committed_by_another_process_is_seen(seen):
    """Another process's change reaches this one only through the database: change a grant
    with SQL (no signal here) and bump the generation as that process's commit would."""
    _world, user, server, client, _token = seen
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [user.pk])
        cursor.execute(
            "DELETE FROM tenants_tenantuserobjectpermission WHERE user_id = %s", [user.pk]
        )
    # Not bumped yet: this process still answers from memory (what the bump is for).
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_accessgeneration SET value = value + 1")
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 404


def test_an_uncommitted_change_is_neither_read_from_nor_left_in_memory(seen):
    world, user, server, client, _token = seen
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        services.membership_remove(membership=world.tenant.memberships.get(user=user))
        assert access_memory.generation() is None  # memory is off in this transaction
        fresh = type(user).objects.get(pk=user.pk)
        assert not Server.objects.restrict(fresh).exists()
        raise Undo
    # Rolled back: nothing changed, and nothing of the undone change was remembered.
    fresh = type(user).objects.get(pk=user.pk)
    assert Server.objects.restrict(fresh).filter(pk=server.pk).exists()
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200


def test_a_signed_in_person_is_remembered_and_forgotten_the_same_way(seen):
    world, user, server, _client, _token = seen
    user.set_password("pw")
    user.save()
    browser = APIClient()
    assert browser.login(username=user.username, password="pw")
    _response, cold = _get(browser, f"/api/v1/servers/{server.pk}/")
    response, warm = _get(browser, f"/api/v1/servers/{server.pk}/")
    assert response.status_code == 200
    assert warm < cold  # the user, their permissions and grants come from memory
    services.membership_remove(membership=world.tenant.memberships.get(user=user))
    assert browser.get(f"/api/v1/servers/{server.pk}/").status_code == 404
    user.set_password("new")
    user.save()
    # The session's hash no longer matches the remembered user's: signed out.
    assert browser.get(f"/api/v1/servers/{server.pk}/").status_code in (401, 403)


def test_a_detail_checks_the_fetched_rows_allocation_as_restrict_would(seen):
    """Server and network details fetch the row by id and check its allocation against the
    remembered ones (``anchor_check``): another tenant's server, or one in a domain the caller
    lost clearance for, is 404 like anywhere else."""
    world, user, server, client, _token = seen
    secret = Server.objects.create(
        allocation=world.allocations[(0, 1)], name="s2", backend_id="b2", tag="t2"
    )
    foreign = Server.objects.create(
        allocation=world.other_allocations[(0, 0)], name="s3", backend_id="b3", tag="t3"
    )
    assert client.get(f"/api/v1/servers/{secret.pk}/").status_code == 200
    assert client.get(f"/api/v1/servers/{foreign.pk}/").status_code == 404
    stop = client.post(f"/api/v1/servers/{foreign.pk}/stop/", {"justification": "maintenance"})
    assert stop.status_code == 404
    services.domain_access_revoke(grantee=user, domain=world.domains[1])
    assert client.get(f"/api/v1/servers/{secret.pk}/").status_code == 404
    assert client.get(f"/api/v1/servers/{server.pk}/").status_code == 200


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REQUESTER, Role.APPROVER, Role.MANAGER])
def test_can_answers_from_memory_as_restrict_would(role):
    """``can()`` on a row that names its allocation (or on an allocation) checks it against
    the remembered ids: the same answer as ``restrict()`` for every action, another tenant,
    a domain without clearance and a site without entitlement, and no query once warm."""
    from provisioning.models import ResourceRequest
    from tenants.access import Action, can, restrict
    from tenants.models import Allocation

    world = build_world()
    # Cleared for the unclassified domain only, entitled to the first site only.
    user = make_user("asker", domains=(world.domains[0],), sites=(world.sites[0],))
    services.membership_set(tenant=world.tenant, user=user, role=role)
    allocations = [*world.allocations.values(), *world.other_allocations.values()]
    servers = [
        Server.objects.create(allocation=a, name=f"s{a.pk}", backend_id=f"b{a.pk}", tag="t")
        for a in allocations
    ]
    requests = [
        ResourceRequest.objects.create(
            allocation=a, requester=user, kind="network", spec={"name": f"n{a.pk}"}
        )
        for a in allocations
    ]
    user = type(user).objects.get(pk=user.pk)  # as a request would load them
    for action in Action:
        for obj in [*allocations, *servers, *requests]:
            can(user, action, obj)  # warm
        with CaptureQueriesContext(connection) as queries:
            answers = {(type(o), o.pk): can(user, action, o) for o in
                       [*allocations, *servers, *requests]}  # fmt: skip
        assert len(queries) <= 1  # the access generation, at most
        for model, rows in [(Allocation, allocations), (Server, servers),
                            (ResourceRequest, requests)]:  # fmt: skip
            allowed = set(
                restrict(
                    model.objects.filter(pk__in=[r.pk for r in rows]), user, action
                ).values_list("pk", flat=True)
            )
            assert {pk for (m, pk), ok in answers.items() if m is model and ok} == allowed
        if action == Action.VIEW:
            assert sum(answers.values()) == 3  # one allocation reachable, its server, request
    services.membership_remove(membership=world.tenant.memberships.get(user=user))
    assert not any(can(user, action, servers[0]) for action in Action)


def test_a_page_reads_the_access_generation_once(seen):
    """A session's ``request.user`` is a lazy object (wrapped twice, with the second factor's):
    what the sign-in read is kept on the user inside, where the access rule finds it."""
    from django.test import Client

    _world, user, server, _client, _token = seen
    browser = Client()
    browser.force_login(user)
    assert browser.get(f"/servers/{server.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(f"/servers/{server.pk}/").status_code == 200
    read = [q["sql"] for q in queries if "tenants_accessgeneration" in q["sql"]]
    assert len(read) == 1


def test_a_detail_page_checks_the_fetched_rows_allocation_as_restrict_would(seen):
    """Detail pages fetch their row by id and check its allocation against the remembered ones,
    as the API's details do: another tenant's object, or one in a domain the person lost
    clearance for, is 404; the row's statement joins no place and names no allocation list."""
    from django.test import Client

    from provisioning.models import Network, ResourceRequest

    world, user, server, _client, _token = seen
    secret = Server.objects.create(
        allocation=world.allocations[(0, 1)], name="s2", backend_id="b2", tag="t2"
    )
    foreign = Server.objects.create(
        allocation=world.other_allocations[(0, 0)], name="s3", backend_id="b3", tag="t3"
    )
    foreign_net = Network.objects.create(
        allocation=world.other_allocations[(0, 0)], name="n3", backend_id="nb3", tag="nt3"
    )
    foreign_request = ResourceRequest.objects.create(
        kind="server", allocation=world.other_allocations[(0, 0)], requester=make_user("asker"),
        justification="Capacity for the exercise.", spec={"name": "s4"},
    )  # fmt: skip
    browser = Client()
    browser.force_login(user)
    for path in (f"/servers/{foreign.pk}/", f"/networks/{foreign_net.pk}/",
                 f"/requests/{foreign_request.pk}/",
                 f"/allocations/{world.other_allocations[(0, 0)].pk}/"):  # fmt: skip
        assert browser.get(path).status_code == 404, path
    assert browser.get(f"/servers/{secret.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        page = browser.get(f"/servers/{server.pk}/")
    assert page.status_code == 200 and world.tenant.name in page.content.decode()
    row = next(q["sql"] for q in queries if 'FROM "provisioning_server"' in q["sql"])
    assert "tenants_tenant" not in row and " IN (" not in row
    services.domain_access_revoke(grantee=user, domain=world.domains[1])
    assert browser.get(f"/servers/{secret.pk}/").status_code == 404
    assert browser.get(f"/servers/{server.pk}/").status_code == 200
