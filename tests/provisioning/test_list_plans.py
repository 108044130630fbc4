"""Every list reads the large tables through an index, for a member and for an operator.

The portal is generated at a realistic shape (200,000 servers and requests, 100,000 networks, in
2,000 allocations, the member seeing 1 % of it; benchmarks/scale_data.py, the same generator the
scale benchmark uses at 1,000,000) and analysed, then each list is asked for (first and deep
pages, each filter, search and order) and every query it sent is explained: none may scan a large
table sequentially. A sequential scan is what turned a 40 ms list into seconds at a million rows.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.pagination import encode_cursor

pytestmark = pytest.mark.django_db

LARGE_TABLES = {
    "provisioning_server",
    "provisioning_network",
    "provisioning_resourcerequest",
    "provisioning_requesttransition",
    "provisioning_approval",
    "portal_auditevent",
}

API_LISTS = [
    "/api/v1/servers/",
    "/api/v1/servers/?ordering=-created_at",
    "/api/v1/servers/?ordering=status",
    "/api/v1/servers/?ordering=-id",
    "/api/v1/servers/?status=ACTIVE",
    "/api/v1/servers/?site=site-1",
    "/api/v1/servers/?domain=domain-0",
    "/api/v1/servers/?q=vm-a1",
    "/api/v1/networks/?q=net-a1f",
    "/api/v1/networks/",
    "/api/v1/networks/?ordering=-created_at",
    "/api/v1/requests/",
    "/api/v1/requests/?state=completed",
    "/api/v1/requests/?kind=network",
    "/api/v1/requests/?ordering=state_changed_at",
    "/api/v1/approvals/",
    "/api/v1/allocations/",
]
PAGES = [
    "/servers/",
    "/servers/?sort=-created",
    "/servers/?sort=status",
    "/servers/?sort=flavor",
    "/servers/?q=vm-a",
    "/networks/",
    "/networks/?sort=cidr",
    "/requests/",
    "/approvals/",
    "/allocations/",
]


def _scans(plan: dict, sizes: dict[str, float], limited: bool = False) -> list[str]:
    """Sequential scans of large tables in ``plan``.

    One is allowed under a LIMIT when the planner expects most of the table to match (a count
    capped at 10,001 of a million live servers reads ~10,001 rows either way); a scan that has
    to wade through the table to find few rows is what this test is for.
    """
    found = []
    relation = plan.get("Relation Name")
    if "Seq Scan" in plan["Node Type"] and relation in LARGE_TABLES:
        wide = plan["Plan Rows"] >= 0.5 * max(sizes.get(relation, 0), 1)
        if not (limited and wide):
            found.append(relation)
    limited = limited or plan["Node Type"] == "Limit"
    for child in plan.get("Plans", []):
        found += _scans(child, sizes, limited)
    return found


def _sequential_scans(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [list(LARGE_TABLES)]
        )
        sizes = dict(cursor.fetchall())
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return _scans(plan[0]["Plan"], sizes)


@pytest.fixture
def portal_at_scale():
    from benchmarks.scale_data import build

    world = build(servers=200_000, requests=200_000, networks=100_000, allocations=2_000,
                  echo=lambda *_: None)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return world


def _deep_cursors(user) -> list[str]:
    """A cursor half-way down the user's servers, and one for the last page."""
    from provisioning.models import Server

    visible = Server.objects.restrict(user).live().order_by("name", "id")
    middle = visible.values_list("name", "id")[visible.count() // 2]
    return [
        f"/api/v1/servers/?cursor={encode_cursor(list(middle))}",
        f"/servers/?cursor={encode_cursor(list(middle))}",
        f"/api/v1/servers/?cursor={encode_cursor([], reverse=True)}",
    ]


def test_no_list_scans_a_large_table(portal_at_scale, client, settings):
    from rest_framework.test import APIClient

    offenders = []
    for user in (portal_at_scale.member, portal_at_scale.operator):
        user = get_user_model().objects.get(pk=user.pk)
        api, page = APIClient(), client
        api.force_authenticate(user)
        page.force_login(user)
        for url in [*API_LISTS, *PAGES, *_deep_cursors(user)]:
            caller = api if url.startswith("/api/") else page
            with CaptureQueriesContext(connection) as captured:
                response = caller.get(url)
            assert response.status_code == 200, (user.username, url, response.status_code)
            for query in captured.captured_queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                scans = _sequential_scans(sql)
                if scans:
                    offenders.append((user.username, url, scans, sql[:300]))
    assert not offenders, "\n".join(map(str, offenders))
