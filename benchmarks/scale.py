"""The portal at an agency's size (a million servers and requests), measured as people use it.

    python -m benchmarks scale --reuse          # the full world, built once, kept for next time
    python -m benchmarks scale --quick          # 20,000 rows: a smoke run of the harness

For a member (approver in 10 tenants, 10,000 servers in reach) and an operator (everything):
every list endpoint and page (first page, last page, each filter, each sort), details, the
dashboard and the SLA report, over real HTTP against gunicorn, each next to a hand-written SQL
baseline for the same rows (``benchmarks.scale_cases``), with the queries each answer costs;
then throughput with wrk and the workers' memory. Figures, with each goal MET or MISSED.

Its database is ``BENCH_SCALE_DATABASE_URL`` (default ``portal_bench_scale``). Without
``--reuse`` it is migrated, emptied and built again (minutes at full size).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import floor
from benchmarks import scale_cases as sc
from benchmarks.common import flush_database, percentile, setup_django
from benchmarks.serving import Gunicorn, Visitor, WrkResult, rss_mb, wrk

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_scale"
#: The benchmark's own token must never be refused: a per-token rate where the portal has one,
#: and the per-user default raised for the gunicorn it starts.
BENCH_RATE = "1000000/min"
#: An endpoint slower than this (s) is measured 3 times only (the operator's dashboard and SLA
#: report, while they read every row).
SLOW = 2.0

LIST_MS, DASHBOARD_MS, REPORT_MS = 60.0, 150.0, 1000.0
SQL_RATIO, DEEP_RATIO, MAX_BYTES, MAX_RSS_MB = 2.0, 1.2, 1_000_000, 300.0
WRK_GOALS = {"detail": 300.0, "list": 150.0}


@dataclass
class Person:
    """One person measured: credentials over HTTP, and what they reach, for the baselines."""

    name: str
    user: Any
    token: str
    cookie: str
    #: Allocation ids they see (None: everything, no filter) and may approve in.
    visible: list[int] | None
    approvable: list[int]
    tenants: list[int] | None
    regions: list[int] | None


def existing_world(args: argparse.Namespace):
    """The scale world already in the database when it has the asked size, else None."""
    from django.contrib.auth import get_user_model

    from benchmarks.scale_data import ScaleWorld, security_groups_for, volumes_for
    from provisioning.models import Network, ResourceRequest, SecurityGroup, Server, Volume
    from tenants.models import Allocation, CloudRegion

    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["scale-member", "scale-operator"])
    }
    regions = CloudRegion.objects.count()
    if len(users) < 2 or not regions:
        return None
    allocations = Allocation.objects.count()
    expected = max(math.ceil(args.allocations / regions), 10) * regions
    volumes, groups = volumes_for(args.servers), security_groups_for(args.servers)
    found = (Server.objects.count(), ResourceRequest.objects.count(), allocations,
             Volume.objects.count(), SecurityGroup.objects.count())  # fmt: skip
    if found != (args.servers, args.requests, expected, volumes, groups):
        return None
    member = users["scale-member"]
    return ScaleWorld(member, users["scale-operator"], allocations, args.servers,
                      Network.objects.count(), args.requests,
                      Allocation.objects.restrict(member).count(), volumes, groups)  # fmt: skip


def the_world(args: argparse.Namespace):
    """Reuse the world when asked and present; otherwise empty the database and build it."""
    from benchmarks.scale_data import build

    if args.reuse:
        world = existing_world(args)
        if world is not None:
            print(f"Reusing the scale world in {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}")
            return world
        print("No scale world of that size to reuse: building it")
    flush_database()
    return build(servers=args.servers, requests=args.requests, allocations=args.allocations)


def second_factor_passed(browser, user) -> None:
    """A session that has given its second factor, for a role that must (an operator): else
    every page answers with the redirect to the second-factor page, and measures nothing."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.two_factor import has_second_factor, second_factor_required

    if not (has_second_factor(user) or second_factor_required(user)):
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="scale benchmark", confirmed=True)
    session = browser.session
    session["otp_device_id"] = device.persistent_id
    session.save()


def person(name: str, user) -> Person:
    """Mint the person's API token and browser session, and note what they reach."""
    from django.conf import settings
    from django.test import Client

    from portal.tokens import token_create
    from tenants.access import Action, access_filter, sees_everything
    from tenants.models import Allocation

    token, secret = token_create(user=user, name="scale benchmark")
    token.rate_limit = BENCH_RATE
    token.save(update_fields=["rate_limit"])
    browser = Client()
    browser.force_login(user)
    second_factor_passed(browser, user)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    # Operators get no shortcut to the inbox (a decision is a business one): the same filter as
    # selectors._decidable_by, without restrict()'s operator bypass.
    approvable = list(
        Allocation.objects.filter(access_filter(Allocation, user, Action.APPROVE)).values_list(
            "id", flat=True
        )
    )
    if sees_everything(user):
        return Person(name, user, secret, cookie, None, approvable, None, None)
    mine = Allocation.objects.restrict(user)
    return Person(
        name, user, secret, cookie,
        visible=list(mine.values_list("id", flat=True)), approvable=approvable,
        tenants=list(set(mine.values_list("tenant_id", flat=True))),
        regions=list(set(mine.values_list("region_id", flat=True))),
    )  # fmt: skip


def cases_for(p: Person, samples: dict[str, Any], cursor, encode) -> list[sc.Case]:
    """Every URL measured for ``p``, each with its hand-written baseline."""
    cases: list[sc.Case] = []
    place = {"tenant": samples["tenant"], "site": samples["site"], "domain": samples["domain"]}

    def listing_cases(title, base, listing, order, visible, filters, sorts, *, api, size):
        first = sc.Case(
            p.name, title, base, api, "list", listing.baseline(visible, order, limit=size)
        )
        count = listing.count(cursor, visible)
        page = sc.last_page(count, size)
        key = (
            listing.sort_key_at(cursor, visible, order, (page - 1) * size - 1) if page > 1 else None
        )
        deep = sc.deep_url(base, {}, page, key, encode if key else None)
        cases.extend([first, sc.Case(
            p.name, f"{title} last page ({page} of {count:,} rows)", deep, api, "deep",
            listing.baseline(visible, order, after=key, limit=size), first=first,
        )])  # fmt: skip
        for param, value in filters.items():
            cases.append(sc.Case(
                p.name, f"{title} ?{param}={value}", f"{base}?{param}={value}", api, "list",
                listing.baseline(visible, order, filters={param: value}, limit=size),
            ))  # fmt: skip
        for label, sort_order in sorts.values():
            cases.append(sc.Case(
                p.name, f"{title} ?{label}", f"{base}?{label}", api, "list",
                listing.baseline(visible, sort_order, limit=size),
            ))  # fmt: skip

    def api_sorts(sorts: dict[str, sc.Order]) -> dict[str, tuple[str, sc.Order]]:
        return {k: (f"ordering={k}", v) for k, v in sorts.items()}

    page_sort = {"-created": ("sort=-created", sc.desc("x.created_at", "x.id"))}
    inbox = sc.inbox_listing(p.user.pk)
    vm, net = (
        {**place, "status": "ACTIVE", "q": "vm-a1"},
        {**place, "status": "ACTIVE", "q": "net-a1"},
    )
    req = {"state": "completed", "kind": "server", **place}
    for args in [
        ("API servers", "/api/v1/servers/", sc.SERVERS, sc.asc("x.name", "x.id"), p.visible,
         vm, api_sorts(sc.RESOURCE_SORTS)),
        ("API networks", "/api/v1/networks/", sc.NETWORKS, sc.asc("x.name", "x.id"), p.visible,
         net, api_sorts(sc.RESOURCE_SORTS)),
        ("API requests", "/api/v1/requests/", sc.REQUESTS, sc.desc("x.created_at", "x.id"),
         p.visible, req, api_sorts(sc.REQUEST_SORTS)),
        ("API approvals", "/api/v1/approvals/", inbox, sc.asc("x.created_at", "x.id"),
         p.approvable, {"kind": "server", **place}, api_sorts({"-id": sc.desc("x.id")})),
        ("API volumes", "/api/v1/volumes/", sc.VOLUMES, sc.asc("x.name", "x.id"), p.visible,
         {**place, "status": "available", "q": "vol-a1"},
         api_sorts({**sc.RESOURCE_SORTS, "size_gb": sc.asc("x.size_gb", "x.id")})),
        ("API security-groups", "/api/v1/security-groups/", sc.SECURITY_GROUPS,
         sc.asc("x.name", "x.id"), p.visible, {**place, "q": "sg-a1"},
         api_sorts(sc.RESOURCE_SORTS)),
        ("API allocations", "/api/v1/allocations/", sc.ALLOCATIONS, sc.asc("a.id"), p.visible,
         place, api_sorts({"-id": sc.desc("a.id")})),
        ("API audit-events", "/api/v1/audit-events/", sc.audit_listing(p.tenants, p.regions),
         sc.desc("x.id"), None, {}, api_sorts({"-id": sc.desc("x.id")})),
    ]:  # fmt: skip
        listing_cases(*args, api=True, size=sc.API_PAGE)
    by_name = sc.asc("x.name", "x.id")
    for args, size in [
        (("page servers", "/servers/", sc.SERVERS, sc.asc("x.name", "x.id")), 25),
        (("page networks", "/networks/", sc.NETWORKS, sc.asc("x.name", "x.id")), 25),
        (("page volumes", "/volumes/", sc.VOLUMES, by_name), 25),
        (("page security groups", "/security-groups/", sc.SECURITY_GROUPS, by_name), 25),
        (("page requests", "/requests/", sc.REQUESTS, sc.desc("x.created_at", "x.id")), 50),
    ]:
        listing_cases(*args, p.visible, {}, page_sort, api=False, size=size)
    listing_cases("page approvals", "/approvals/", inbox, sc.asc("x.created_at", "x.id"),
                  p.approvable, {}, page_sort, api=False, size=50)  # fmt: skip
    server, request, volume = samples["server"], samples["request"], samples["volume"]
    cases += [
        sc.Case(p.name, "API server detail", f"/api/v1/servers/{server}/", True, "detail",
                sc.server_detail(server, p.visible)),
        sc.Case(p.name, "API request detail", f"/api/v1/requests/{request}/", True, "detail",
                sc.request_detail(request, p.visible)),
        sc.Case(p.name, "API volume detail", f"/api/v1/volumes/{volume}/", True, "detail",
                sc.volume_detail(volume, p.visible)),
        sc.Case(p.name, "page server detail", f"/servers/{server}/", False, "detail",
                sc.server_detail(server, p.visible)),
        sc.Case(p.name, "page volume detail", f"/volumes/{volume}/", False, "detail",
                sc.volume_detail(volume, p.visible)),
        sc.Case(p.name, "page request detail", f"/requests/{request}/", False, "detail",
                sc.request_detail(request, p.visible)),
        sc.Case(p.name, "page dashboard", "/", False, "dashboard"),
        sc.Case(p.name, "page SLA report ?days=30", "/reports/sla/?days=30", False, "report"),
        sc.Case(p.name, "API SLA report ?days=30", "/api/v1/reports/sla/?days=30", True, "report"),
    ]  # fmt: skip
    return cases


def count_queries(p: Person, case: sc.Case) -> int:
    """Queries one answer costs, counted in-process (the HTTP figures come from gunicorn)."""
    from django.db import connection
    from django.test import Client

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {p.token}"} if case.api else {}
    if not case.api:
        client.force_login(p.user)
        # As the measured session: else an operator's pages count their redirect to the
        # second-factor page.
        second_factor_passed(client, p.user)
    seen: list[str] = []

    def count(run, sql, *rest):
        seen.append(sql)
        return run(sql, *rest)

    # A wrapper, not the debug query log (capped, and off with DEBUG off).
    with connection.execute_wrapper(count):
        client.get(case.path, **headers)
    return len(seen)


def measure(
    case: sc.Case,
    visitor: Visitor,
    cursor,
    repeat: int,
    warmups: int = 1,
    floor: Visitor | None = None,
) -> None:
    """p50/p95 of the portal over HTTP, of the baseline, and of its floor, in the same run.

    ``warmups`` untimed requests first: as a portal that has been serving for a while, every
    web process has seen the statement often enough to have it prepared
    (``DATABASE_PREPARE_THRESHOLD``) and remembers who is asking. The floor's processes are
    warmed the same way.
    """
    case.status, case.size, took = visitor.get(case.path)
    # A report of tens of seconds measured 20 times would hold the run up for many minutes.
    runs = repeat if took < SLOW else min(repeat, 3)
    if took < SLOW:
        for _ in range(warmups - 1):
            visitor.get(case.path)
    for _ in range(runs):
        _, _, took = visitor.get(case.path)
        case.samples.append(took * 1000)
    if case.baseline is not None:
        case.baseline(cursor)
        for _ in range(runs):
            started = time.perf_counter()
            case.baseline(cursor)
            case.sql.append((time.perf_counter() - started) * 1000)
    if floor is not None and case.floor_index is not None:
        path = f"/{case.floor_index}"
        for _ in range(warmups):
            floor.get(path)
        for _ in range(runs):
            case.floor.append(floor.get(path)[2] * 1000)


def goals_of(case: sc.Case) -> list[tuple[str, bool]]:
    """(goal, met) for each goal the case is held to."""
    p95 = percentile(case.samples, 95)
    goals = [(f"answers 200 (got {case.status})", case.status == 200)]
    if case.goal in ("list", "deep", "detail"):
        goals.append((f"list/detail p95 <= {LIST_MS:.0f} ms", p95 <= LIST_MS))
        if case.sql:
            ratio = p95 / max(percentile(case.sql, 95), 0.01)
            goals.append((f"<= {SQL_RATIO:.0f}x its SQL baseline", ratio <= SQL_RATIO))
    if case.goal == "deep" and case.first is not None:
        within = p95 <= DEEP_RATIO * percentile(case.first.samples, 95)
        goals.append((f"last page <= {DEEP_RATIO}x first page", within))
    if case.goal == "dashboard":
        goals.append((f"dashboard p95 <= {DASHBOARD_MS:.0f} ms", p95 <= DASHBOARD_MS))
    if case.goal == "report":
        goals.append((f"SLA report (30 days) p95 <= {REPORT_MS / 1000:.0f} s", p95 <= REPORT_MS))
    goals.append(("no answer over 1 MB", case.size <= MAX_BYTES))
    return goals


def print_case(case: sc.Case) -> None:
    p50, p95 = statistics.median(case.samples), percentile(case.samples, 95)
    if case.sql:
        sql95 = percentile(case.sql, 95)
        versus = f"{sql95:8.1f} {p95 / max(sql95, 0.01):6.1f}x"
    else:
        versus = f"{'-':>8} {'-':>7}"
    if case.floor:
        floor95 = percentile(case.floor, 95)
        versus += f" {floor95:6.1f} {p95 / max(floor95, 0.01):6.1f}x"
    else:
        versus += f" {'-':>6} {'-':>7}"
    missed = [g for g, met in goals_of(case) if not met]
    verdict = "MET" if not missed else "MISSED: " + "; ".join(missed)
    print(f"  {case.title[:56]:<56} {p50:7.1f} {p95:7.1f} {case.queries:4d} "
          f"{case.size / 1024:8.1f} {versus}  {verdict}")  # fmt: skip


def print_header(who: str) -> None:
    print(f"\n{who}: ms over HTTP (p50, p95), queries, kB; SQL baseline p95 ms and the ratio; "
          "the same SQL served by a bare WSGI app (floor) p95 ms and the ratio")  # fmt: skip
    print(f"  {'what':<56} {'p50':>7} {'p95':>7} {'qry':>4} {'kB':>8} {'SQL p95':>8} "
          f"{'ratio':>7} {'floor':>6} {'ratio':>7}  goals")  # fmt: skip


def sample_targets(member) -> dict[str, Any]:
    """Slugs and ids the member reaches, used in filters and details for both people."""
    from provisioning.models import RequestState, ResourceRequest, Server, Volume
    from tenants.models import Allocation

    allocation = (
        Allocation.objects.restrict(member)
        .select_related("tenant", "region__site", "region__domain")
        .order_by("id")
        .first()
    )
    servers = Server.objects.restrict(member).live().order_by("id")
    requests = ResourceRequest.objects.restrict(member).filter(state=RequestState.COMPLETED)
    return {
        "tenant": allocation.tenant.slug,
        "site": allocation.region.site.slug,
        "domain": allocation.region.domain.slug,
        "server": servers.values_list("id", flat=True).first(),
        "volume": Volume.objects.restrict(member)
        .live()
        .order_by("id")
        .values_list("id", flat=True)
        .first(),
        "request": requests.filter(kind="server").order_by("-id").values_list("id", flat=True)[0],
    }


def bench_scale(args: argparse.Namespace) -> None:
    if args.quick:
        args.servers, args.requests, args.allocations = 20_000, 20_000, 1_000
        args.repeat, args.duration = min(args.repeat, 5), min(args.duration, 2)
    url = os.environ.get("BENCH_SCALE_DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("PORTAL_API_RATE_USER", BENCH_RATE)
    setup_django(database_url=url, flush=False)
    import psycopg

    try:
        from portal.pagination import encode_cursor
    except ImportError:  # the portal before keyset pagination: deep pages by number
        encode_cursor = None

    world = the_world(args)
    # Other work on the machine shows in every figure: say how busy it was.
    print("Load average at the start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    print(f"World: {world.servers:,} servers, {world.networks:,} networks, "
          f"{world.volumes:,} volumes, {world.security_groups:,} security groups, "
          f"{world.requests:,} requests, {world.allocations:,} allocations; the member sees "
          f"{world.member_allocations} allocations. Deep pages by "
          f"{'cursor' if encode_cursor else 'page number'}.")  # fmt: skip
    people = [person("member", world.member), person("operator", world.operator)]
    samples = sample_targets(world.member)
    sql = psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True,
                          cursor_factory=psycopg.ClientCursor)  # fmt: skip
    cursor = sql.cursor()
    # As autovacuum leaves a table that has settled: statistics, and the visibility map that lets
    # an index-only scan skip the table.
    cursor.execute("VACUUM ANALYZE")
    started = time.perf_counter()
    cases = {p.name: chosen(cases_for(p, samples, cursor, encode_cursor), args.only)
             for p in people}  # fmt: skip
    print(f"{sum(map(len, cases.values()))} URLs; deep-page keys found in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    for p in people:
        for case in cases[p.name]:
            case.queries = count_queries(p, case)
    workdir = Path(tempfile.mkdtemp(prefix="portal-scale-"))
    statements = []
    for case in (c for their in cases.values() for c in their if c.baseline is not None):
        case.floor_index = len(statements)
        statements.append(floor.record(case.baseline, cursor))
    floor.write_cases(workdir / "floor-cases.pickle", statements)

    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", "DATABASE_URL": url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "PORTAL_API_RATE_USER": BENCH_RATE,
        "DATABASE_CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    web = Gunicorn(env, workdir, workers=args.workers, threads=args.threads)
    bare = Gunicorn(
        {**env, "BENCH_FLOOR_CASES": str(workdir / "floor-cases.pickle"),
         "BENCH_FLOOR_DATABASE_URL": url},
        workdir, workers=args.workers, threads=args.threads,
        app="benchmarks.floor:application", probe="/",
    )  # fmt: skip
    web.start()
    bare.start()
    floor_visitor = Visitor(bare.port, {"Accept": "application/json"})
    try:
        for p in people:
            reach = "everything" if p.visible is None else f"{len(p.visible)} allocations"
            print_header(f"{p.name} ({reach})")
            api = Visitor(
                web.port, {"Authorization": f"Bearer {p.token}", "Accept": "application/json"}
            )
            page = Visitor(web.port, {"Cookie": f"sessionid={p.cookie}", "Accept": "text/html"})
            for case in cases[p.name]:
                # Each web process prepares a statement on its 5th run (sync workers take
                # requests in turn) and PostgreSQL may keep one plan for any parameters from
                # its 10th on: warm every process past both, as a portal that has been serving
                # for a while is, so the figures are its steady state.
                measure(case, api if case.api else page, cursor, args.repeat,
                        warmups=12 * args.workers, floor=floor_visitor)  # fmt: skip
                print_case(case)
                if args.only:
                    print(f"    {case.path}")
            api.close()
            page.close()
        member = people[0]
        base = f"http://127.0.0.1:{web.port}"
        loads: list[tuple[str, WrkResult]] = []
        print(f"\nThroughput, wrk, {args.duration:.0f} s each, member's token; gunicorn "
              f"{args.workers} workers x {args.threads} threads")  # fmt: skip
        throughput = (("detail", f"/api/v1/servers/{samples['server']}/"),
                      ("list", "/api/v1/servers/"))  # fmt: skip
        for what, path in throughput if not args.only or "wrk" in args.only else ():
            for connections in (8, 32):
                result = wrk(base + path, token=member.token, connections=connections,
                             seconds=args.duration)  # fmt: skip
                loads.append((what, result))
                met = result.rate >= WRK_GOALS[what] and not (
                    result.non_2xx or result.socket_errors
                )
                print(f"  API servers {what:<6} {connections:3d} connections: "
                      f"{result.rate:7.1f} req/s, p99 {result.p99_ms:7.1f} ms, non-2xx "
                      f"{result.non_2xx}, socket errors {result.socket_errors}  "
                      f"{'MET' if met else 'MISSED'} (>= {WRK_GOALS[what]:.0f} req/s)")  # fmt: skip
        rss = {pid: rss_mb(pid) for pid in web.worker_pids()}
        print("\nMemory of the gunicorn workers after everything: " + ", ".join(
            f"pid {pid} {mb:.0f} MB" for pid, mb in rss.items()))  # fmt: skip
    finally:
        floor_visitor.close()
        bare.stop()
        web.stop()
        sql.close()
    print("Load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    summarize(cases, loads, rss)


def chosen(cases: list[sc.Case], only: list[str] | None) -> list[sc.Case]:
    """The cases whose "who title" holds one of ``only`` (all without it), with the first page
    of each deep page kept, as its goal is measured against it."""
    if not only:
        return cases
    keep = {id(c) for c in cases if any(o in f"{c.who} {c.title}" for o in only)}
    keep |= {id(c.first) for c in cases if id(c) in keep and c.first is not None}
    return [c for c in cases if id(c) in keep]


def summarize(cases: dict[str, list[sc.Case]], loads: list, rss: dict[int, float]) -> None:
    """One line per goal: how many answers met it, and the worst that did not."""
    verdicts: dict[str, list[tuple[str, bool]]] = {}
    for who, their in cases.items():
        for case in their:
            for goal, met in goals_of(case):
                goal = "answers 200" if goal.startswith("answers 200") else goal
                if case.goal == "report" and who != "operator" and goal.startswith("SLA"):
                    continue  # the goal is the operator's (every request); the member's is less
                verdicts.setdefault(goal, []).append((f"{who} {case.title}", met))
    for what, result in loads:
        goal = f"wrk {what}: >= {WRK_GOALS[what]:.0f} req/s and 0 errors"
        met = result.rate >= WRK_GOALS[what] and not (result.non_2xx or result.socket_errors)
        verdicts.setdefault(goal, []).append((f"{result.connections} connections", met))
    verdicts[f"gunicorn worker RSS < {MAX_RSS_MB:.0f} MB"] = [
        (f"pid {pid} ({mb:.0f} MB)", mb < MAX_RSS_MB) for pid, mb in rss.items()
    ]
    print(f"\nGoals\n  {'goal':<44} {'met':>9}  verdict")
    for goal, results in verdicts.items():
        met = sum(ok for _, ok in results)
        missed = [name for name, ok in results if not ok]
        line = f"  {goal:<44} {met:4d}/{len(results):<4d}  {'MET' if not missed else 'MISSED'}"
        if missed:
            line += (
                f" ({len(missed)}: "
                + ", ".join(missed[:4])
                + (", ..." if len(missed) > 4 else "")
                + ")"
            )
        print(line)
    print_floor(cases)


def print_floor(cases: dict[str, list[sc.Case]]) -> None:
    """Where the SQL-ratio goal is missed: the portal's cost, or what any HTTP service pays."""
    held = [c for their in cases.values() for c in their if c.sql and c.floor]
    if not held:
        return
    rows = []
    for case in held:
        sql95, floor95 = percentile(case.sql, 95), percentile(case.floor, 95)
        rows.append((percentile(case.samples, 95) / sql95, floor95 / sql95,
                     percentile(case.samples, 95) / floor95))  # fmt: skip
    missed = [r for r in rows if r[0] > SQL_RATIO]
    out_of_reach = [r for r in missed if r[1] > SQL_RATIO]
    within_floor = [r for r in rows if r[2] <= SQL_RATIO]
    print(
        f"\nThe floor (the baseline's SQL served over HTTP by a bare WSGI app, no portal):"
        f"\n  answers over {SQL_RATIO:.0f}x their SQL baseline: {len(missed)} of {len(rows)}; "
        f"for {len(out_of_reach)} of them the floor itself is over {SQL_RATIO:.0f}x it"
        f"\n  answers within {SQL_RATIO:.0f}x their floor: {len(within_floor)} of {len(rows)}; "
        f"portal/floor p95 median {statistics.median(r[2] for r in rows):.1f}x, "
        f"worst {max(r[2] for r in rows):.1f}x"
    )


def add_arguments(sub) -> None:
    scale = sub.add_parser("scale", help="every list, page and report at a million resources")
    scale.add_argument("--servers", type=int, default=1_000_000)
    scale.add_argument("--requests", type=int, default=1_000_000)
    scale.add_argument("--allocations", type=int, default=10_000)
    scale.add_argument("--repeat", type=int, default=20)
    scale.add_argument("--reuse", action="store_true",
                       help="keep the world in the database when it has this size")  # fmt: skip
    scale.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="measure only the URLs whose 'who title' holds TEXT (repeatable), and print each "
        "URL; throughput runs only with --only wrk",
    )
    scale.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    scale.add_argument("--quick", action="store_true",
                       help="20,000 servers and requests, 1,000 allocations")  # fmt: skip
    scale.add_argument(
        "--workers", type=int, default=4, help="gunicorn worker processes (two per core)"
    )
    scale.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (1: sync workers)"
    )


COMMANDS = {"scale": bench_scale}
