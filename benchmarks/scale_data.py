"""A portal of an agency's size, built in minutes by the database itself.

Rows are made with ``INSERT ... SELECT generate_series`` (no Python loop per row), then the
tables are analysed so the planner sees them as they are. The shape follows a real agency:
5 sites x 3 security domains, every tenant with an allocation in every region, servers and
requests spread evenly over the allocations, and a history of requests whose timelines are
mostly prompt, some late, a few still waiting.

The people measured:

* ``scale-member``: approver of ``member_tenants`` tenants, cleared for two domains and
  entitled to every site, so they see ``member_tenants x 10`` allocations (100 by default) and
  every server, network and request in them (10,000 servers of 1,000,000 by default);
* ``scale-operator``: sees everything.

Beside the servers, each allocation holds volumes (one per four servers, three in four
attached to a server of its allocation) and security groups (one per twenty servers, each with
two rules), so their lists are measured at an agency's size too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Kinds of the generated requests, in proportion (the day-2 ones need a target; left out).
REQUEST_KINDS = ("server", "server", "server", "network")


@dataclass
class ScaleWorld:
    member: Any
    operator: Any
    allocations: int
    servers: int
    networks: int
    requests: int
    member_allocations: int
    volumes: int = 0
    security_groups: int = 0


def volumes_for(servers: int) -> int:
    """How many volumes a world of ``servers`` holds."""
    return servers // 4


def security_groups_for(servers: int) -> int:
    """How many security groups a world of ``servers`` holds (two rules each)."""
    return servers // 20


def build(
    *,
    servers: int = 1_000_000,
    requests: int = 1_000_000,
    allocations: int = 10_000,
    networks: int | None = None,
    volumes: int | None = None,
    security_groups: int | None = None,
    days: int = 57,
    member_tenants: int = 10,
    echo=print,
) -> ScaleWorld:
    """Fill an empty (freshly migrated) database; returns the users to measure with.

    ``days``: the requests' history, ending now (57 days puts ~529,000 of 1,000,000 in the last
    30). ``networks`` defaults to one per ten servers, ``volumes`` and ``security_groups`` to
    ``volumes_for`` and ``security_groups_for``.
    """
    import time

    from django.db import connection

    from tenants.models import Allocation, Role, Tenant
    from tests.factories import (
        CloudRegionFactory,
        SecurityDomainFactory,
        SiteFactory,
        make_portal_role,
        make_user,
    )

    started = time.perf_counter()
    networks = servers // 10 if networks is None else networks
    volumes = volumes_for(servers) if volumes is None else volumes
    security_groups = security_groups_for(servers) if security_groups is None else security_groups
    sites = [SiteFactory(name=f"Site {i}", slug=f"site-{i}") for i in range(5)]
    domains = [
        SecurityDomainFactory(
            name=f"Domain {i}", slug=f"domain-{i}", level=i + 1, marking=f"MARKING {i}"
        )
        for i in range(3)
    ]
    regions = [CloudRegionFactory(site=s, domain=d) for s in sites for d in domains]
    n_tenants = max(-(-allocations // len(regions)), member_tenants)
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"Unit {i:05d}", slug=f"unit-{i:05d}") for i in range(n_tenants)
    )
    Allocation.objects.bulk_create(
        (Allocation(tenant=t, region=r, project_id=f"p-{t.pk}-{r.pk}", instances=100_000,
                    vcpus=1_000_000, ram_mb=100_000_000, networks=10_000, volumes=10_000,
                    gigabytes=10_000_000)
         for t in tenants for r in regions),
        batch_size=5000,
    )  # fmt: skip
    # The member's tenants are spread through the alphabet, not the first ones, so a list in
    # name order has to skip other tenants' rows between theirs.
    step = max(n_tenants // member_tenants, 1)
    mine = {tenants[i * step]: Role.APPROVER for i in range(member_tenants)}
    member = make_user("scale-member", memberships=mine, domains=tuple(domains[:2]),
                       sites=tuple(sites))  # fmt: skip
    operator = make_portal_role("scale-operator", "operate_portal")
    requester_ids = [member.pk] + [
        make_user(f"scale-requester-{i}").pk for i in range(20)
    ]  # others' requests, so the member's inbox and "mine" differ from everything they see

    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE scale_alloc AS SELECT row_number() OVER (ORDER BY id) - 1 "
                    "AS n, id FROM tenants_allocation")  # fmt: skip
        cur.execute("CREATE UNIQUE INDEX ON scale_alloc (n)")
        n_alloc = Allocation.objects.count()
        echo(f"  {len(regions)} regions, {n_tenants} tenants, {n_alloc} allocations")

        # Servers: evenly over the allocations, names random (md5), 2 % decommissioned.
        cur.execute(f"""
            INSERT INTO provisioning_server
                (allocation_id, name, backend_id, tag, created_at, last_seen_at, deleted_at,
                 status, flavor_name, image_name, vcpus, ram_mb, addresses, fault)
            SELECT a.id, 'vm-' || substr(md5(g::text), 1, 10), md5('s' || g::text),
                   'portal:bench', now() - (g % 700) * interval '1 day' - g * interval '1 ms',
                   now(), CASE WHEN g % 50 = 0 THEN now() END,
                   (ARRAY['ACTIVE','ACTIVE','ACTIVE','SHUTOFF','ERROR'])[g % 5 + 1],
                   (ARRAY['m1.small','m1.medium','m1.large'])[g % 3 + 1], 'debian-12',
                   2, 4096, '[]'::jsonb, ''
            FROM generate_series(0, {servers - 1}) g
            JOIN scale_alloc a ON a.n = g % {n_alloc}
        """)  # fmt: skip
        echo(f"  {servers} servers ({time.perf_counter() - started:.0f} s)")
        cur.execute(f"""
            INSERT INTO provisioning_network
                (allocation_id, name, backend_id, tag, created_at, last_seen_at, deleted_at,
                 cidr, subnet_id, router_id, status)
            SELECT a.id, 'net-' || substr(md5('n' || g::text), 1, 10), md5('n' || g::text),
                   'portal:bench', now() - (g % 700) * interval '1 day', now(),
                   CASE WHEN g % 50 = 0 THEN now() END,
                   '10.' || (g / 256 % 256) || '.' || (g % 256) || '.0/24', md5('sn' || g::text),
                   CASE WHEN g % 2 = 0 THEN md5('r' || g::text) ELSE '' END, 'ACTIVE'
            FROM generate_series(0, {networks - 1}) g
            JOIN scale_alloc a ON a.n = g % {n_alloc}
        """)  # fmt: skip
        echo(f"  {networks} networks ({time.perf_counter() - started:.0f} s)")
        # Volumes: three in four attached to a server (in its allocation) as its second disk,
        # the others in the allocations in turn; 2 % decommissioned.
        cur.execute(f"""
            INSERT INTO provisioning_volume
                (allocation_id, name, backend_id, tag, created_at, last_seen_at, deleted_at,
                 size_gb, volume_type, status, server_id, device)
            SELECT CASE WHEN g % 4 > 0 THEN s.allocation_id ELSE a.id END,
                   'vol-' || substr(md5('v' || g::text), 1, 10), md5('v' || g::text),
                   'portal:bench', now() - (g % 700) * interval '1 day' - g * interval '1 ms',
                   now(), CASE WHEN g % 50 = 0 THEN now() END,
                   (ARRAY[10, 20, 50, 100, 500])[g % 5 + 1], 'standard',
                   CASE WHEN g % 4 > 0 THEN 'in-use' ELSE 'available' END,
                   CASE WHEN g % 4 > 0 THEN s.id END,
                   CASE WHEN g % 4 > 0 THEN '/dev/vdb' ELSE '' END
            FROM generate_series(0, {volumes - 1}) g
            JOIN scale_alloc a ON a.n = g % {n_alloc}
            JOIN (SELECT id, allocation_id, row_number() OVER (ORDER BY id) - 1 AS n
                  FROM provisioning_server) s ON s.n = g % {servers}
        """)  # fmt: skip
        echo(f"  {volumes} volumes ({time.perf_counter() - started:.0f} s)")
        cur.execute(f"""
            INSERT INTO provisioning_securitygroup
                (allocation_id, name, backend_id, tag, created_at, last_seen_at, deleted_at,
                 description, status, drift)
            SELECT a.id, 'sg-' || substr(md5('g' || g::text), 1, 10), md5('g' || g::text),
                   'portal:bench', now() - (g % 700) * interval '1 day', now(),
                   CASE WHEN g % 50 = 0 THEN now() END, 'Generated group.', 'ACTIVE',
                   '[]'::jsonb
            FROM generate_series(0, {security_groups - 1}) g
            JOIN scale_alloc a ON a.n = g % {n_alloc}
        """)  # fmt: skip
        cur.execute("""
            INSERT INTO provisioning_securitygrouprule
                (group_id, backend_id, direction, ethertype, protocol, port_min, port_max,
                 remote_cidr, description, created_at)
            SELECT id, md5('r' || id::text || p::text), 'ingress', 'IPv4', 'tcp', p, p,
                   '10.0.0.0/8', '', created_at
            FROM provisioning_securitygroup, unnest(ARRAY[22, 443]) p
        """)  # fmt: skip
        echo(f"  {security_groups} security groups ({time.perf_counter() - started:.0f} s)")

        # Requests: evenly over ``days`` up to now; 1 in 20 asked by the member. Timelines:
        # decided after 10 min to 3 days (a few late), built in 2 to 120 min (a few late);
        # the newest 1 % still waiting for a decision, 0.5 % building, 2 % failed, 3 % rejected.
        kinds = "(ARRAY[" + ",".join(f"'{k}'" for k in REQUEST_KINDS) + "])"
        requesters = "(ARRAY[" + ",".join(map(str, requester_ids)) + "])"
        cur.execute(f"""
            CREATE TEMP TABLE scale_req AS
            SELECT g, a.id AS allocation_id,
                   {requesters}[CASE WHEN g % 20 = 0 THEN 1 ELSE g % 20 + 1 END] AS requester_id,
                   {kinds}[g % {len(REQUEST_KINDS)} + 1] AS kind,
                   now() - ({requests} - g) * ({days} * interval '1 day' / {requests}) AS at,
                   CASE WHEN g >= {requests} * 0.99 THEN 'pending_approval'
                        WHEN g >= {requests} * 0.985 THEN 'provisioning'
                        WHEN g % 50 = 1 THEN 'failed'
                        WHEN g % 33 = 2 THEN 'rejected'
                        ELSE 'completed' END AS state,
                   (600 + (g::bigint * 7919) % 259200) * interval '1 second' AS decide,
                   (120 + (g::bigint * 104729) % 7200) * interval '1 second' AS build
            FROM generate_series(0, {requests - 1}) g
            JOIN scale_alloc a ON a.n = (g * 7) % {n_alloc}
        """)  # fmt: skip
        cur.execute("""
            INSERT INTO provisioning_resourcerequest
                (id, kind, allocation_id, requester_id, justification, spec, state,
                 pending_stage, failure_reason, status_note, progress, attempts, created_at,
                 state_changed_at, work_token, lease_owner, instances, vcpus, ram_mb, networks,
                 routers, floating_ips)
            SELECT g + 1, kind, allocation_id, requester_id, 'Generated history.',
                   jsonb_build_object('name', kind || '-' || g), state,
                   CASE WHEN state = 'pending_approval' THEN 'tenant' ELSE '' END,
                   CASE WHEN state = 'failed' THEN 'The cloud refused.' ELSE '' END, '',
                   '{}'::jsonb, 1, at,
                   CASE state WHEN 'pending_approval' THEN at WHEN 'provisioning' THEN at + decide
                              WHEN 'rejected' THEN at + decide ELSE at + decide + build END,
                   0, '', CASE WHEN kind = 'server' THEN 1 ELSE 0 END,
                   CASE WHEN kind = 'server' THEN 2 ELSE 0 END,
                   CASE WHEN kind = 'server' THEN 4096 ELSE 0 END,
                   CASE WHEN kind = 'network' THEN 1 ELSE 0 END, 0, 0
            FROM scale_req
        """)  # fmt: skip
        cur.execute("SELECT setval(pg_get_serial_sequence('provisioning_resourcerequest', 'id'), "
                    "(SELECT max(id) FROM provisioning_resourcerequest))")  # fmt: skip
        echo(f"  {requests} requests ({time.perf_counter() - started:.0f} s)")
        cur.execute("""
            INSERT INTO provisioning_requesttransition (request_id, from_state, to_state, note, at)
            SELECT g + 1, '', 'pending_approval', '', at FROM scale_req
            UNION ALL
            SELECT g + 1, 'pending_approval', CASE WHEN state = 'rejected' THEN 'rejected'
                   ELSE 'approved' END, '', at + decide
            FROM scale_req WHERE state <> 'pending_approval'
            UNION ALL
            SELECT g + 1, 'approved', 'provisioning', '', at + decide FROM scale_req
            WHERE state IN ('provisioning', 'completed', 'failed')
            UNION ALL
            SELECT g + 1, 'provisioning', state, '', at + decide + build FROM scale_req
            WHERE state IN ('completed', 'failed')
        """)  # fmt: skip
        # The tenant approver's decision on every decided request (the member decided the
        # member's tenants' ones: their inbox must leave them out).
        cur.execute(f"""
            INSERT INTO provisioning_approval
                (request_id, stage, decision, decided_by_id, comment, decided_at)
            SELECT g + 1, 'tenant', CASE WHEN state = 'rejected' THEN 'rejected'
                   ELSE 'approved' END,
                   {requesters}[(g % 3) + 1],
                   CASE WHEN state = 'rejected' THEN 'Not this quarter.' ELSE '' END, at + decide
            FROM scale_req WHERE state <> 'pending_approval'
        """)  # fmt: skip
        cur.execute("SELECT count(*) FROM provisioning_requesttransition")
        echo(f"  {cur.fetchone()[0]} transitions ({time.perf_counter() - started:.0f} s)")
        for hook in AFTER_LOAD:
            hook(cur)
        cur.execute("DROP TABLE scale_req")
        cur.execute("DROP TABLE scale_alloc")
        cur.execute("ANALYZE")
    from provisioning.models import Server

    visible = Allocation.objects.restrict(member).count()
    servers_seen = Server.objects.restrict(member).live().count()
    echo(f"  built in {time.perf_counter() - started:.0f} s; the member sees {visible} "
         f"allocations and {servers_seen} live servers")  # fmt: skip
    return ScaleWorld(member, operator, n_alloc, servers, networks, requests, visible, volumes,
                      security_groups)  # fmt: skip


def usage_rollup(cursor) -> None:
    """The dashboard's usage rollup, filled from the rows just inserted (one statement)."""
    from provisioning.usage import usage_rollup_backfill

    usage_rollup_backfill(cursor)


#: Functions called with the cursor after the rows are in (rollups that derive from them),
#: before ANALYZE. The temp table ``scale_req`` is still there.
def _sla_facts(cursor) -> None:
    from provisioning.sla_facts import rebuild

    rebuild(cursor)


def _demand(cursor) -> None:
    from provisioning import demand

    demand.rebuild()


AFTER_LOAD: list = [_sla_facts, usage_rollup, _demand]
