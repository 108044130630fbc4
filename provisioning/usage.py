"""The provisioning app's contribution to allocation usage: live resources, requests in flight.

Registered as a usage source of ``tenants.quotas`` when the app starts: one statement for any
number of allocations.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Count, Q, Sum

from portal.literals import written_ids
from provisioning.models import (
    IN_FLIGHT,
    FloatingIp,
    Kind,
    Network,
    RequestState,
    ResourceRequest,
    Server,
    Volume,
)
from tenants.quotas import DIMENSION_KEYS

#: Requests that will consume quota whatever happens next, short of failing.
COMMITTED = (RequestState.APPROVED, RequestState.PROVISIONING)


def provisioning_usage(
    allocation_ids: list[int], *, include_pending: bool = True
) -> dict[int, dict[str, int]]:
    """What the allocations use: their requests in flight, and their live servers, networks,
    addresses and volumes not already counted through a request in flight.

    One statement of five grouped sums (``UNION ALL``), written out rather than built by the
    ORM: building the five querysets cost 7 ms of Python for every call, more than the
    database spent on them, and this runs for every quota check, every inbox page and every
    allocation shown with its usage. The same text runs on PostgreSQL and SQLite (the demo).
    """
    used: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DIMENSION_KEYS, 0))
    if not allocation_ids:
        return used
    in_flight = [str(state) for state in IN_FLIGHT]
    states = in_flight if include_pending else [str(state) for state in COMMITTED]
    # The ids are written into the text (our own ints: ``portal.literals``). Bound, an inbox
    # page's twenty allocations were 120 parameters, and psycopg parses a statement of more
    # than 50 afresh at every execution (1 of the call's 1.5 ms of CPU).
    ids, in_states = written_ids(allocation_ids), _marks(states)
    # A resource whose request is still in flight is already counted through the request.
    # (Those requests are few, found by the state index: a join to every origin request read
    # the whole requests table at a million rows.)
    settled = "(origin_request_id IS NULL OR origin_request_id NOT IN (SELECT id FROM flight))"
    live = f"deleted_at IS NULL AND allocation_id IN ({ids}) AND {settled}"
    parts = {
        ResourceRequest: (
            {key: f"SUM({key})" for key in DIMENSION_KEYS},
            f"allocation_id IN ({ids}) AND state IN ({in_states})",
        ),
        Server: (
            {
                "instances": "COUNT(*)",
                "vcpus": "SUM(vcpus)",
                "ram_mb": "SUM(ram_mb)",
                # A server booted from a volume holds that volume too (it goes with the server).
                "volumes": "SUM(CASE WHEN boot_volume_gb > 0 THEN 1 ELSE 0 END)",
                "gigabytes": "SUM(boot_volume_gb)",
            },
            live,
        ),
        Network: (
            {"networks": "COUNT(*)", "routers": "SUM(CASE WHEN router_id <> '' THEN 1 ELSE 0 END)"},
            live,
        ),
        FloatingIp: ({"floating_ips": "COUNT(*)"}, live),
        Volume: ({"volumes": "COUNT(*)", "gigabytes": "SUM(size_gb)"}, live),
    }
    requests_table = ResourceRequest._meta.db_table
    selects, params = [], list(in_flight)
    for model, (sums, where) in parts.items():
        assert set(sums) <= set(DIMENSION_KEYS), "a sum of no quota dimension"
        columns = ", ".join(sums.get(key, "0") for key in DIMENSION_KEYS)
        selects.append(
            f"SELECT allocation_id, {columns} FROM {model._meta.db_table} "  # noqa: S608
            f"WHERE {where} GROUP BY allocation_id"
        )
        params += states if model is ResourceRequest else []
    # Only table and column names of our own models and int ids go into the text; the states
    # are parameters.
    sql = (
        f"WITH flight AS (SELECT id FROM {requests_table} "  # noqa: S608
        f"WHERE allocation_id IN ({ids}) AND state IN ({_marks(in_flight)})) "
        + " UNION ALL ".join(selects)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for allocation_id, *amounts in cursor.fetchall():
            row = used[allocation_id]
            for key, amount in zip(DIMENSION_KEYS, amounts, strict=True):
                row[key] += amount or 0
    return used


def _marks(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def volume_type_usage(
    allocation_id: int, volume_type: str, *, include_pending: bool = True
) -> tuple[int, int]:
    """(volumes, gigabytes) of one volume type in an allocation: its live volumes of the type,
    and the volume requests in flight (new volumes, extensions) that name it."""
    states = IN_FLIGHT if include_pending else COMMITTED
    in_flight_ids = ResourceRequest.objects.filter(
        allocation_id=allocation_id, state__in=IN_FLIGHT
    ).values("id")
    settled = Q(origin_request__isnull=True) | ~Q(origin_request_id__in=in_flight_ids)
    live = (
        Volume.objects.live()
        .filter(settled, allocation_id=allocation_id, volume_type=volume_type)
        .aggregate(n=Count("id"), gb=Sum("size_gb"))
    )
    asked = ResourceRequest.objects.filter(
        allocation_id=allocation_id, state__in=states, kind__in=(Kind.VOLUME, Kind.VOLUME_EXTEND),
        spec__volume_type=volume_type,
    ).aggregate(n=Sum("volumes"), gb=Sum("gigabytes"))  # fmt: skip
    return (live["n"] or 0) + (asked["n"] or 0), (live["gb"] or 0) + (asked["gb"] or 0)


def usage_rollup_backfill(cursor) -> None:
    """Fill (or overwrite) every allocation's ``tenants.AllocationUsage`` row in one statement.

    The set-based twin of ``tenants.rollup.usage_rollup_refresh`` for PostgreSQL: the same
    figures as ``provisioning_usage`` (pending requests included), written by the database
    without a Python loop, for a migration or a benchmark's freshly loaded rows.
    """
    # A migration runs this against the tables as they were then: the dimensions whose columns
    # came later (and start at their database default) are left out.
    introspection = cursor.db.introspection

    def columns(table: str) -> set[str]:
        return {c.name for c in introspection.get_table_description(cursor, table)}

    present = (
        columns("provisioning_resourcerequest")
        & columns("tenants_allocationusage")
        & columns("tenants_allocation")
    )
    dims = tuple(key for key in DIMENSION_KEYS if key in present)
    from_requests = ", ".join(f"sum({key}) AS {key}" for key in dims)
    used = {
        "instances": "coalesce(r.instances, 0) + coalesce(s.n, 0)",
        "vcpus": "coalesce(r.vcpus, 0) + coalesce(s.vcpus, 0)",
        "ram_mb": "coalesce(r.ram_mb, 0) + coalesce(s.ram_mb, 0)",
        "networks": "coalesce(r.networks, 0) + coalesce(n.n, 0)",
        "routers": "coalesce(r.routers, 0) + coalesce(n.routers, 0)",
        "floating_ips": "coalesce(r.floating_ips, 0) + coalesce(f.n, 0)",
        "volumes": "coalesce(r.volumes, 0) + coalesce(s.boot_volumes, 0) + coalesce(v.n, 0)",
        "gigabytes": "coalesce(r.gigabytes, 0) + coalesce(s.boot_gb, 0) + coalesce(v.gb, 0)",
    }
    boot = "count(*) FILTER (WHERE s.boot_volume_gb > 0) AS boot_volumes, " \
           "sum(s.boot_volume_gb) AS boot_gb"  # fmt: skip
    volumes_cte = """, v AS (
            SELECT v.allocation_id, count(*) AS n, sum(v.size_gb) AS gb
            FROM provisioning_volume v
            LEFT JOIN provisioning_resourcerequest o ON o.id = v.origin_request_id
            WHERE v.deleted_at IS NULL AND (o.id IS NULL OR o.state <> ALL(%(in_flight)s))
            GROUP BY v.allocation_id
        )"""
    volumes_join = "LEFT JOIN v ON v.allocation_id = a.id"
    # Volumes (and servers booted from one) came with migration 0015, after the dimensions.
    if "boot_volume_gb" not in columns("provisioning_server"):
        boot = "0 AS boot_volumes, 0 AS boot_gb"
        volumes_cte = volumes_join = ""
        used["volumes"] = "coalesce(r.volumes, 0)"
        used["gigabytes"] = "coalesce(r.gigabytes, 0)"
    addresses_cte = """, f AS (
            SELECT f.allocation_id, count(*) AS n
            FROM provisioning_floatingip f
            LEFT JOIN provisioning_resourcerequest o ON o.id = f.origin_request_id
            WHERE f.deleted_at IS NULL AND (o.id IS NULL OR o.state <> ALL(%(in_flight)s))
            GROUP BY f.allocation_id
        )"""
    addresses_join = "LEFT JOIN f ON f.allocation_id = a.id"
    # Migration 0007 runs this before 0009 made the floating IP table (which starts empty).
    if "provisioning_floatingip" not in cursor.db.introspection.table_names(cursor):
        used["floating_ips"] = "coalesce(r.floating_ips, 0)"
        addresses_cte = addresses_join = ""
    assert set(used) == set(DIMENSION_KEYS), "a new quota dimension needs its sum here"
    used = {key: expr for key, expr in used.items() if key in dims}
    fullest = ", ".join(f"u.{key}::float8 / greatest(a.{key}, 1)" for key in dims)
    # Only the names of fields and constants above are spliced in; the states are parameters.
    cursor.execute(
        f"""
        WITH r AS (
            SELECT allocation_id, {from_requests} FROM provisioning_resourcerequest
            WHERE state = ANY(%(in_flight)s) GROUP BY allocation_id
        ), s AS (
            SELECT s.allocation_id, count(*) AS n, sum(s.vcpus) AS vcpus, sum(s.ram_mb) AS ram_mb,
                   {boot}
            FROM provisioning_server s
            LEFT JOIN provisioning_resourcerequest o ON o.id = s.origin_request_id
            WHERE s.deleted_at IS NULL AND (o.id IS NULL OR o.state <> ALL(%(in_flight)s))
            GROUP BY s.allocation_id
        ), n AS (
            SELECT n.allocation_id, count(*) AS n, count(*) FILTER (WHERE n.router_id <> '')
                   AS routers
            FROM provisioning_network n
            LEFT JOIN provisioning_resourcerequest o ON o.id = n.origin_request_id
            WHERE n.deleted_at IS NULL AND (o.id IS NULL OR o.state <> ALL(%(in_flight)s))
            GROUP BY n.allocation_id
        ){addresses_cte}{volumes_cte}, u AS (
            SELECT a.id AS allocation_id,
                   {", ".join(f"{expr} AS {key}" for key, expr in used.items())}
            FROM tenants_allocation a
            LEFT JOIN r ON r.allocation_id = a.id
            LEFT JOIN s ON s.allocation_id = a.id
            LEFT JOIN n ON n.allocation_id = a.id
            {addresses_join}
            {volumes_join}
        )
        INSERT INTO tenants_allocationusage
            (allocation_id, {", ".join(dims)}, fullest, refreshed_at)
        SELECT u.allocation_id, {", ".join(f"u.{key}" for key in dims)},
               greatest({fullest}), now()
        FROM u JOIN tenants_allocation a ON a.id = u.allocation_id
        ON CONFLICT (allocation_id) DO UPDATE SET
            {", ".join(f"{c} = EXCLUDED.{c}" for c in (*dims, "fullest", "refreshed_at"))}
        """,  # noqa: S608
        {"in_flight": [str(s) for s in IN_FLIGHT]},
    )
