"""What the scale benchmark asks of the portal, and the hand-written SQL each answer is held to.

Every list and detail comes with a baseline: the same rows fetched by one hand-written query
(the access filter spelled ``allocation_id = ANY(<the person's visible allocation ids>)``, the
displayed columns joined, the same order, LIMIT the page size; a deep page continues from the
row before it by keyset). The baseline is what the database must do anyway; the portal's
answer divided by it says what the portal's own machinery costs on top.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

#: (column, descending) pairs: the whole order, ending with a unique column.
Order = tuple[tuple[str, bool], ...]
Baseline = Callable[[Any], object]

API_PAGE = 50

ALLOCATION_JOINS = """
    JOIN tenants_allocation a ON a.id = x.allocation_id
    JOIN tenants_tenant t ON t.id = a.tenant_id
    JOIN tenants_cloudregion r ON r.id = a.region_id
    JOIN tenants_site st ON st.id = r.site_id
    JOIN tenants_securitydomain d ON d.id = r.domain_id"""
PLACE = "t.slug, t.name, r.slug, st.slug, st.name, d.slug, d.name, d.level, d.marking"
PLACE_FILTERS = {"tenant": "t.slug = %s", "site": "st.slug = %s", "domain": "d.slug = %s"}
RESOURCE_FILTERS = {
    **PLACE_FILTERS,
    "status": "x.status = %s",
    "q": "(x.name ILIKE '%%' || %s || '%%' OR x.backend_id = %s)",
}
REQUEST_COLUMNS = (
    "x.id, x.kind, x.state, x.pending_stage, x.justification, x.spec, x.target_server_id, "
    "x.target_network_id, x.instances, x.vcpus, x.ram_mb, x.networks, x.routers, "
    "x.floating_ips, x.failure_reason, x.status_note, x.attempts, x.created_at, "
    "x.state_changed_at, u.username, a.id, " + PLACE
)
REQUEST_FILTERS = {**PLACE_FILTERS, "state": "x.state = %s", "kind": "x.kind = %s"}


@dataclass(frozen=True)
class Listing:
    """How one list's rows are fetched by hand."""

    columns: str
    source: str
    #: Conditions every row of the list meets (live rows, pending requests), with their params.
    where: tuple[str, ...] = ()
    params: tuple = ()
    #: The column compared with the person's visible allocation ids.
    access: str = "x.allocation_id"
    filters: dict[str, str] = field(default_factory=dict)
    #: Run after the rows with their ids, for what the page adds per row (quota usage).
    then: Callable[[Any, list[int]], object] | None = None

    def query(
        self,
        visible: list[int] | None,
        order: Order,
        *,
        filters: dict[str, str] | None = None,
        after: list | None = None,
        columns: str | None = None,
        limit: int = API_PAGE,
        offset: int = 0,
    ) -> tuple[str, list]:
        where, params = list(self.where), list(self.params)
        if visible is not None:
            where.append(f"{self.access} = ANY(%s)")
            params.append(visible)
        for name, value in (filters or {}).items():
            where.append(self.filters[name])
            params.extend([value] * self.filters[name].count("%s"))
        if after is not None:
            condition, values = keyset(order, after)
            where.append(condition)
            params.extend(values)
        sql = f"SELECT {columns or self.columns} FROM {self.source}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if order:
            sql += " ORDER BY " + ", ".join(f"{c} DESC" if d else c for c, d in order)
        if limit:
            sql += f" LIMIT {limit}"
        if offset:
            sql += f" OFFSET {offset}"
        return sql, params

    def baseline(self, visible: list[int] | None, order: Order, **kwargs: Any) -> Baseline:
        sql, params = self.query(visible, order, **kwargs)

        def run(cursor) -> object:
            rows = cursor.execute(sql, params).fetchall()
            if self.then is not None:
                self.then(cursor, [row[0] for row in rows])
            return rows

        return run

    def count(self, cursor, visible: list[int] | None) -> int:
        sql, params = self.query(visible, (), columns="count(*)", limit=0)
        return cursor.execute(sql, params).fetchone()[0]

    def sort_key_at(self, cursor, visible: list[int] | None, order: Order, index: int) -> list:
        """The sort key of the ``index``-th row (0-based) in ``order``: what a cursor encodes."""
        sql, params = self.query(
            visible, order, columns=", ".join(c for c, _ in order), limit=1, offset=index
        )
        row = cursor.execute(sql, params).fetchone()
        return [v.isoformat() if isinstance(v, datetime) else v for v in row]


def keyset(order: Order, values: list) -> tuple[str, list]:
    """Rows strictly after ``values`` in ``order``; a row comparison when every column goes
    the same way (an index on those columns answers it directly)."""
    columns = [c for c, _ in order]
    if len({d for _, d in order}) == 1:
        op = "<" if order[0][1] else ">"
        marks = ", ".join(["%s"] * len(values))
        return f"({', '.join(columns)}) {op} ({marks})", list(values)
    parts, params = [], []
    for i, (column, descending) in enumerate(order):
        equal = [f"{c} = %s" for c in columns[:i]]
        parts.append(
            "(" + " AND ".join([*equal, f"{column} {'<' if descending else '>'} %s"]) + ")"
        )
        params.extend([*values[:i], values[i]])
    return "(" + " OR ".join(parts) + ")", params


def _allocation_usage(cursor, ids: list[int]) -> None:
    """What the allocations list shows per row: live servers and networks, requests in flight."""
    cursor.execute(
        "SELECT allocation_id, count(*), sum(vcpus), sum(ram_mb) FROM provisioning_server "
        "WHERE deleted_at IS NULL AND allocation_id = ANY(%s) GROUP BY 1", [ids]
    ).fetchall()  # fmt: skip
    cursor.execute(
        "SELECT allocation_id, count(*) FROM provisioning_network "
        "WHERE deleted_at IS NULL AND allocation_id = ANY(%s) GROUP BY 1", [ids]
    ).fetchall()  # fmt: skip
    cursor.execute(
        "SELECT allocation_id, sum(instances), sum(vcpus) FROM provisioning_resourcerequest "
        "WHERE state IN ('pending_approval', 'approved', 'provisioning') "
        "AND allocation_id = ANY(%s) GROUP BY 1", [ids]
    ).fetchall()  # fmt: skip


SERVERS = Listing(
    columns="x.id, x.name, x.status, x.backend_id, x.flavor_name, x.image_name, x.vcpus, "
    "x.ram_mb, x.addresses, x.fault, x.lease_end, x.origin_request_id, x.created_at, "
    "x.last_seen_at, x.deleted_at, a.id, " + PLACE,
    source="provisioning_server x" + ALLOCATION_JOINS,
    where=("x.deleted_at IS NULL",),
    filters=RESOURCE_FILTERS,
)
NETWORKS = Listing(
    columns="x.id, x.name, x.cidr, x.status, x.backend_id, x.subnet_id, x.router_id, "
    "x.origin_request_id, x.created_at, x.last_seen_at, x.deleted_at, a.id, " + PLACE,
    source="provisioning_network x" + ALLOCATION_JOINS,
    where=("x.deleted_at IS NULL",),
    filters=RESOURCE_FILTERS,
)
VOLUMES = Listing(
    columns="x.id, x.name, x.size_gb, x.volume_type, x.status, x.server_id, x.device, "
    "x.backend_id, x.origin_request_id, x.created_at, x.last_seen_at, x.deleted_at, a.id, " + PLACE,
    source="provisioning_volume x" + ALLOCATION_JOINS,
    where=("x.deleted_at IS NULL",),
    filters={**RESOURCE_FILTERS, "server": "x.server_id = %s"},
)


def _live_rules(cursor, ids: list[int]) -> None:
    """What a page of security groups shows per row: its live rules."""
    cursor.execute(
        "SELECT r.id, r.group_id, r.direction, r.protocol, r.port_min, r.port_max, "
        "r.remote_cidr, r.remote_group_id, g.name, r.description FROM "
        "provisioning_securitygrouprule r LEFT JOIN provisioning_securitygroup g "
        "ON g.id = r.remote_group_id WHERE r.deleted_at IS NULL AND r.group_id = ANY(%s) "
        "ORDER BY r.direction, r.port_min, r.id", [ids],
    ).fetchall()  # fmt: skip


SECURITY_GROUPS = Listing(
    columns="x.id, x.name, x.description, x.status, x.backend_id, x.drift, "
    "x.drift_checked_at, x.origin_request_id, x.created_at, x.last_seen_at, x.deleted_at, "
    "a.id, " + PLACE,
    source="provisioning_securitygroup x" + ALLOCATION_JOINS,
    where=("x.deleted_at IS NULL",),
    filters=RESOURCE_FILTERS,
    then=_live_rules,
)
REQUESTS = Listing(
    columns=REQUEST_COLUMNS,
    source="provisioning_resourcerequest x JOIN auth_user u ON u.id = x.requester_id"
    + ALLOCATION_JOINS,
    filters=REQUEST_FILTERS,
)
ALLOCATIONS = Listing(
    columns="a.id, a.project_id, a.instances, a.vcpus, a.ram_mb, a.networks, a.routers, "
    "a.floating_ips, " + PLACE,
    source="""tenants_allocation a
        JOIN tenants_tenant t ON t.id = a.tenant_id
        JOIN tenants_cloudregion r ON r.id = a.region_id
        JOIN tenants_site st ON st.id = r.site_id
        JOIN tenants_securitydomain d ON d.id = r.domain_id""",
    access="a.id",
    filters=PLACE_FILTERS,
    then=_allocation_usage,
)
AUDIT = Listing(
    columns="x.id, x.occurred_at, x.actor_name, x.action, x.object_type, x.object_id, "
    "x.object_repr, x.before, x.after, x.seq, x.hash, x.sealed_at, t.slug, r.slug",
    source="portal_auditevent x LEFT JOIN tenants_tenant t ON t.id = x.tenant_id "
    "LEFT JOIN tenants_cloudregion r ON r.id = x.region_id",
    access="x.id",  # events reach a person by tenant and region: see audit_listing
)


def inbox_listing(user_id: int) -> Listing:
    """Requests waiting at the tenant stage for ``user_id``, never their own or decided by them;
    the visible ids are the allocations the person may approve in."""
    return Listing(
        columns=REQUEST_COLUMNS,
        source=REQUESTS.source,
        where=(
            "x.state = 'pending_approval'",
            "x.pending_stage = 'tenant'",
            "x.requester_id <> %s",
            "NOT EXISTS (SELECT 1 FROM provisioning_approval p WHERE p.request_id = x.id "
            "AND p.decided_by_id = %s)",
        ),
        params=(user_id, user_id),
        filters=REQUEST_FILTERS,
    )


def audit_listing(tenants: list[int] | None, regions: list[int] | None) -> Listing:
    """Audit events of the person's tenants in the regions they reach (all for an operator)."""
    if tenants is None:
        return AUDIT
    return Listing(
        columns=AUDIT.columns,
        source=AUDIT.source,
        where=("x.tenant_id = ANY(%s)", "x.region_id = ANY(%s)"),
        params=(tenants, regions),
        access="x.id",
    )


def asc(*columns: str) -> Order:
    return tuple((c, False) for c in columns)


def desc(*columns: str) -> Order:
    return tuple((c, True) for c in columns)


#: ``?ordering=`` values the API offers, per list, as SQL orders (the API appends ``id``
#: ascending to an ordering that does not end with the key).
RESOURCE_SORTS = {
    "-created_at": (("x.created_at", True), ("x.id", False)),
    "name": asc("x.name", "x.id"),
    "status": asc("x.status", "x.id"),
    "-id": desc("x.id"),
}
REQUEST_SORTS = {"-created_at": RESOURCE_SORTS["-created_at"], "-id": desc("x.id")}


def server_detail(server_id: int, visible: list[int] | None) -> Baseline:
    sql, params = SERVERS.query(visible, (), limit=0)
    sql = sql.replace("x.deleted_at IS NULL", "x.id = %s", 1)
    params.insert(0, server_id)

    def run(cursor) -> object:
        row = cursor.execute(sql, params).fetchone()
        cursor.execute(
            "SELECT network_id FROM provisioning_server_networks WHERE server_id = %s",
            [server_id],
        ).fetchall()
        return row

    return run


def volume_detail(volume_id: int, visible: list[int] | None) -> Baseline:
    sql, params = VOLUMES.query(visible, (), limit=0)
    sql = sql.replace("x.deleted_at IS NULL", "x.id = %s", 1)
    params.insert(0, volume_id)
    return lambda cursor: cursor.execute(sql, params).fetchone()


def request_detail(request_id: int, visible: list[int] | None) -> Baseline:
    sql, params = REQUESTS.query(visible, (), limit=0)
    sql += (" AND " if " WHERE " in sql else " WHERE ") + "x.id = %s"
    params.append(request_id)

    def run(cursor) -> object:
        row = cursor.execute(sql, params).fetchone()
        cursor.execute(
            "SELECT tr.from_state, tr.to_state, u.username, tr.note, tr.at "
            "FROM provisioning_requesttransition tr LEFT JOIN auth_user u ON u.id = tr.actor_id "
            "WHERE tr.request_id = %s ORDER BY tr.at, tr.id", [request_id],
        ).fetchall()  # fmt: skip
        cursor.execute(
            "SELECT p.stage, p.decision, u.username, p.comment, p.decided_at "
            "FROM provisioning_approval p LEFT JOIN auth_user u ON u.id = p.decided_by_id "
            "WHERE p.request_id = %s ORDER BY p.decided_at, p.id", [request_id],
        ).fetchall()  # fmt: skip
        cursor.execute(
            "SELECT id FROM provisioning_server WHERE origin_request_id = %s", [request_id]
        ).fetchall()
        return row

    return run


@dataclass
class Case:
    """One URL measured for one person, with the goals it is held to."""

    who: str
    title: str
    path: str
    api: bool
    #: "list", "deep", "detail", "dashboard" or "report": which goals apply.
    goal: str
    baseline: Baseline | None = None
    #: For a deep page: the first page of the same list, which it must keep up with.
    first: Case | None = None
    samples: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    #: The baseline's statements served over HTTP by a bare WSGI app (``benchmarks.floor``):
    #: the case's index there, and its timings.
    floor_index: int | None = None
    floor: list[float] = field(default_factory=list)
    status: int = 0
    size: int = 0
    queries: int = 0


def deep_url(base: str, params: dict[str, str], page: int, key: list, encode) -> str:
    """The URL of page ``page``: a cursor after ``key`` when the portal has cursors."""
    if encode is not None:
        return f"{base}?{urlencode({**params, 'cursor': encode(key)})}"
    return f"{base}?{urlencode({**params, 'page': page})}"


def last_page(count: int, size: int) -> int:
    return max(math.ceil(count / size), 1)
