"""What a page of servers or networks shows beyond its own rows, read for the page at once.

The API's lists show, for each row, where it lives (its allocation's tenant, region, site and
domain) and, for servers, the networks it is attached to. Joining four tables into every row
and prefetching network rows through a manager per server was half of a page's time; these
read what the page needs in one query each, and the places from memory.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from provisioning.models import SecurityGroupRule, Server
from tenants import access_memory
from tenants.models import Allocation


def attach_allocation_summaries(rows: list[Any], user: Any) -> list[Any]:
    """Give each row its ``allocation_summary``: remembered per allocation at the current
    access generation (any change of a tenant, region, site or domain bumps it), the missing
    ones read in one query."""
    ids = sorted({row.allocation_id for row in rows})
    summaries = access_memory.recall_many(
        "allocation-summary", ids, access_memory.generation_for(user), _summaries
    )
    for row in rows:
        row.__dict__["_allocation_summary"] = summaries[row.allocation_id]
    return rows


def _summaries(ids: list[int]) -> dict[int, dict[str, object]]:
    return {pk: allocation.summary for pk, allocation in _allocations(ids).items()}


def without_places(rows: QuerySet, *related: str) -> QuerySet:
    """``rows`` with nothing joined in but ``related``: for a page that reads the places of all
    its rows at once (``attach_allocations``)."""
    rows = rows.select_related(None)
    return rows.select_related(*related) if related else rows


def attach_allocations(rows: list[Any], user: Any) -> list[Any]:
    """Give each row its allocation with the tenant, region, site and domain a page names.

    Joined into every row, they made each row statement a seven-table join that PostgreSQL
    planned again at every answer (2.4 of an inbox page's 4 ms for its twenty requests). Read
    once for the page's few allocations, they were still a five-table statement each page. Now
    each is remembered at the access generation, which every save of an allocation, tenant,
    region, site or domain bumps (``tenants.apps``; ``allocation_ensure_project`` bumps it for
    the project it writes without a save), and only those not remembered are read.
    """
    ids = sorted({row.allocation_id for row in rows})
    allocations = access_memory.recall_many(
        "allocation-place", ids, access_memory.generation_for(user), _allocations
    )
    for row in rows:
        type(row).allocation.field.set_cached_value(row, allocations[row.allocation_id])
    return rows


def _allocations(ids: list[int]) -> dict[int, Allocation]:
    return Allocation.objects.select_related("tenant", "region__site", "region__domain").in_bulk(
        ids
    )


def attach_network_ids(servers: list[Server]) -> list[Server]:
    """Give each server its ``network_ids`` with one query over the link table. Prefetching
    ``networks`` built a related manager and model rows for each server of a page: 2-4 ms for
    a page of 50, when the ids are all an answer shows."""
    if not servers:
        return servers
    links = (
        Server.networks.through.objects.filter(server_id__in=[s.pk for s in servers])
        .order_by("network__name", "network_id")
        .values_list("server_id", "network_id")
    )
    found: dict[int, list[int]] = {s.pk: [] for s in servers}
    for server_id, network_id in links:
        found[server_id].append(network_id)
    for server in servers:
        server.__dict__["_network_ids"] = found[server.pk]
    return servers


def live_rules() -> Prefetch:
    """A security group's live rules, as ``live_rules``. Their remote groups are read apart,
    for the few rules that name one: joined in, the planner read every security group of the
    portal to find none."""
    return Prefetch(
        "rules",
        queryset=SecurityGroupRule.objects.live().prefetch_related("remote_group"),
        to_attr="live_rules",
    )
