"""Figures of the write path: VMs built per minute against the bound the cloud's latency and the
workers allow, cloud calls per VM, the API's submit/approve throughput meanwhile, deadlocks; and
one reconciler run over a region with many servers.

    python -m benchmarks writepath --requests 500 --latency 0.2 --build-time 5 --workers 2
    python -m benchmarks reconcile --servers 10000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import threading
import time
import uuid
from pathlib import Path

from benchmarks.common import WHY, cloud_and_broker, percentile, setup_django
from benchmarks.serving import Gunicorn


def _deadlocks() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def bench_world(
    sim, *, instances: int, officer_domain: bool = False, slug: str = "bench", second=False
):
    """A region on cloudsim (its second region for ``second``), with quotas in the cloud too."""
    from provisioning.services.allocations import allocation_sync_cloud
    from tests.live import build_world

    world = build_world(
        cloud_name=sim.admin_cloud + ("-r2" if second else ""), project_prefix=slug,
        region_name="RegionTwo" if second else "RegionOne", instances=instances,
        requires_security_officer=officer_domain,
    )  # fmt: skip
    allocation_sync_cloud(allocation=world["allocation"])
    return world


def _network(world, name: str, cidr: str):
    from provisioning import services
    from provisioning.models import Kind, Network
    from tests.live import wait_for

    request = services.request_submit(
        user=world["requester"], kind=Kind.NETWORK, allocation=world["allocation"],
        spec={"name": name, "cidr": cidr}, justification=WHY,
    )  # fmt: skip
    services.request_approve(user=world["approver"], request=request)
    wait_for(lambda: Network.objects.filter(origin_request=request).exists(), timeout=120,
             what="the benchmark's network")  # fmt: skip
    return Network.objects.get(origin_request=request)


def _api_load(base: str, world: dict, network_pk: int, stop: threading.Event, out: dict) -> None:
    """Submit a server request and approve its first stage (a security officer's comes next,
    so nothing is built), over and over, with personal tokens, as automation would."""
    import requests

    from portal.tokens import token_create

    _, mine = token_create(user=world["requester"], name="bench")
    _, theirs = token_create(user=world["approver"], name="bench")
    session = requests.Session()
    n = 0
    while not stop.is_set():
        n += 1
        body = {"kind": "server", "allocation": world["allocation"].pk, "justification": WHY,
                "spec": {"name": f"api-{threading.get_ident() % 10000}-{n}", "flavor": "m1.tiny",
                         "image": "cirros-0.6.2", "networks": [network_pk]}}  # fmt: skip
        started = time.perf_counter()
        answer = session.post(f"{base}/api/v1/requests/", json=body,
                              headers={"Authorization": f"Bearer {mine}"}, timeout=60)  # fmt: skip
        out["submit"].append(time.perf_counter() - started)
        out["status"].append(answer.status_code)
        if answer.status_code != 201:
            continue
        started = time.perf_counter()
        decided = session.post(
            f"{base}/api/v1/requests/{answer.json()['id']}/approve/", json={},
            headers={"Authorization": f"Bearer {theirs}"}, timeout=60,
        )  # fmt: skip
        out["approve"].append(time.perf_counter() - started)
        out["status"].append(decided.status_code)


def _approve_all(requests: list, approver, *, threads: int) -> None:
    """Approve every request, from ``threads`` approvers at once, as a busy inbox would be."""
    from django.db import connection

    from provisioning import services

    def approve(share: list) -> None:
        try:
            for request in share:
                services.request_approve(user=approver, request=request)
        finally:
            connection.close()

    workers = [
        threading.Thread(target=approve, args=(requests[i::threads],)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def bench_writepath(args: argparse.Namespace) -> None:
    setup_django()

    from provisioning import services
    from provisioning.models import IN_FLIGHT, Kind, RequestState, ResourceRequest
    from tests.factories import NetworkFactory
    from tests.live import Worker, wait_for, worker_environment

    with cloud_and_broker(build_time=args.build_time) as (workdir, sim, redis):
        env = worker_environment(
            redis.url, str(sim.clouds_yaml), PORTAL_POLL_FIRST="2", PORTAL_POLL_MAX="30",
            PORTAL_LEASE_SECONDS="15", PORTAL_LEASE_QUEUE_GRACE="20",
            PORTAL_PROVISIONING_DEADLINE="1800", CLOUD_API_TIMEOUT="30",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DATABASE_CONN_MAX_AGE="60",
            PORTAL_AUDIT_SEAL_MIN_INTERVAL="1",
        )  # fmt: skip
        workers = [Worker(env, workdir / f"worker-{i}.log") for i in range(args.workers)]
        web = Gunicorn(env, workdir)
        try:
            for worker in workers:
                worker.restart_fresh()
            web.start()
            world = bench_world(sim, instances=args.requests + 10)
            network = _network(world, "bench", "10.50.0.0/16")
            api_world = bench_world(
                sim, instances=100_000, officer_domain=True, slug="api", second=True
            )
            # Nothing in that world is ever built (its requests wait for a security officer), so
            # its network needs no cloud either.
            api_network = NetworkFactory(allocation=api_world["allocation"], cidr="10.60.0.0/16")
            requests = [
                services.request_submit(
                    user=world["requester"], kind=Kind.SERVER, allocation=world["allocation"],
                    spec={"name": f"vm{i}", "flavor": "m1.tiny", "image": "cirros-0.6.2",
                          "networks": [network.pk]}, justification=WHY,
                )
                for i in range(args.requests)
            ]  # fmt: skip
            sim.control.clear_counts()
            sim.control.set_latency(args.latency)
            deadlocks = _deadlocks()
            load = {"submit": [], "approve": [], "status": []}
            stop = threading.Event()
            base = f"http://127.0.0.1:{web.port}"
            clients = [
                threading.Thread(
                    target=_api_load, args=(base, api_world, api_network.pk, stop, load)
                )
                for _ in range(args.api_clients)
            ]
            started = time.perf_counter()
            for thread in clients:
                thread.start()
            _approve_all(requests, world["approver"], threads=args.approvers)
            approved_in = time.perf_counter() - started
            ids = [r.pk for r in requests]
            in_flight = ResourceRequest.objects.filter(pk__in=ids, state__in=IN_FLIGHT)
            wait_for(lambda: not in_flight.exists(), timeout=3600, what="every request to finish")
            total = time.perf_counter() - started
            stop.set()
            for thread in clients:
                thread.join(60)
            counts = sim.control.counts()
            done = ResourceRequest.objects.filter(pk__in=ids, state=RequestState.COMPLETED)
            built = done.count()
            calls = sum(counts.values())
            per_vm = calls / max(built, 1)
            slots = args.workers * 2
            # The bound: every slot busy with cloud calls of `latency` seconds each, plus one build.
            bound = args.requests * per_vm * args.latency / slots + args.build_time
            print(f"\n{args.requests} one-VM requests, {args.latency * 1000:.0f} ms per cloud "
                  f"call, {args.build_time:.0f} s build, {args.workers} workers x 2 slots; "
                  f"approvals took {approved_in:.1f} s")  # fmt: skip
            print(f"  completed {built}, failed {args.requests - built}; all done in "
                  f"{total:.1f} s: {60 * built / total:.0f} VMs/min; bound {bound:.1f} s "
                  f"({60 * args.requests / bound:.0f} VMs/min): "
                  f"ratio {bound / total:.2f}")  # fmt: skip
            print(f"  cloud calls per VM: {per_vm:.1f} ({calls} in all: "
                  f"{json.dumps(dict(sorted(counts.items())))})")  # fmt: skip
            statuses = load["status"]
            api_calls = len(load["submit"]) + len(load["approve"])
            if not api_calls:
                load = {"submit": [0.0], "approve": [0.0], "status": []}
            print(f"  API meanwhile ({args.api_clients} clients): {api_calls / total:.1f} req/s; "
                  f"submit p50 {statistics.median(load['submit']) * 1000:.0f} ms "
                  f"p95 {percentile(load['submit'], 95) * 1000:.0f} ms; approve p50 "
                  f"{statistics.median(load['approve']) * 1000:.0f} ms "
                  f"p95 {percentile(load['approve'], 95) * 1000:.0f} ms; "
                  f"5xx: {sum(s >= 500 for s in statuses)}, other non-2xx: "
                  f"{sum(300 <= s < 500 for s in statuses)}")  # fmt: skip
            print(f"  deadlocks: {_deadlocks() - deadlocks}")
        finally:
            web.stop()
            for worker in workers:
                worker.stop()


def _clone_servers(state: Path, project_id: str, count: int) -> list[str]:
    """Copy one server document ``count`` times in a stopped cloudsim's state, with new ids."""
    db = sqlite3.connect(state)
    kind, _template_id, region, project, data = db.execute(
        "SELECT kind, id, region, project_id, data FROM objects "
        "WHERE kind = 'server' AND project_id = ? LIMIT 1",
        (project_id,),
    ).fetchone()
    template = json.loads(data)
    ids = []
    rows = []
    for i in range(count):
        server = dict(template, id=str(uuid.uuid4()), name=f"bulk-{i}")
        server["metadata"] = {}
        server["tags"] = []
        ids.append(server["id"])
        rows.append((kind, server["id"], region, project, json.dumps(server, sort_keys=True)))
    db.executemany(
        "INSERT INTO objects (kind, id, region, project_id, data) VALUES (?,?,?,?,?)", rows
    )
    db.commit()
    db.close()
    return ids


def bench_reconcile(args: argparse.Namespace) -> None:
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from provisioning.models import Server
    from provisioning.reconcile import reconcile_region
    from provisioning.services import request_approve, request_submit
    from provisioning.services.allocations import allocation_ensure_project
    from tests.live import Worker, wait_for, worker_environment

    with cloud_and_broker(build_time=0.1) as (workdir, sim, redis):
        worker = Worker(worker_environment(redis.url, str(sim.clouds_yaml)), workdir / "worker.log")
        try:
            worker.restart_fresh()
            world = bench_world(sim, instances=args.servers + 10)
            allocation = world["allocation"]
            allocation_ensure_project(allocation)
            network = _network(world, "rec", "10.70.0.0/16")
            from provisioning.models import Kind

            seed = request_submit(
                user=world["requester"], kind=Kind.SERVER, allocation=allocation,
                spec={"name": "seed", "flavor": "m1.tiny", "image": "cirros-0.6.2",
                      "networks": [network.pk]}, justification=WHY,
            )  # fmt: skip
            request_approve(user=world["approver"], request=seed)
            wait_for(lambda: Server.objects.filter(origin_request=seed, status="ACTIVE").exists(),
                     timeout=60, what="the template server")  # fmt: skip
            worker.stop()
            sim.stop()
            ids = _clone_servers(sim.state_path, allocation.project_id, args.servers - 1)
            sim.start()
            template = Server.objects.get(origin_request=seed)
            Server.objects.bulk_create(
                Server(allocation=allocation, name=f"bulk-{i}", backend_id=backend_id,
                       tag="", status="BUILD", flavor_name=template.flavor_name,
                       addresses=template.addresses)
                for i, backend_id in enumerate(ids)
            )  # fmt: skip
            print(f"\nreconciler, one region, {Server.objects.live().count()} servers")
            from provisioning import cloud

            target = cloud.CloudTarget(cloud=world["region"].cloud_name,
                                       project_id=allocation.project_id)  # fmt: skip
            started = time.perf_counter()
            listed = cloud.servers_list(target)
            print(f"  the cloud's paginated list alone: {len(listed)} servers in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            for label in (
                "first run (every server's status changes)",
                "second run (nothing changed)",
            ):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    counts = reconcile_region(world["region"].pk)
                    took = time.perf_counter() - started
                print(f"  {label}: {took:.1f} s, {len(queries)} queries, {counts}")
        finally:
            worker.stop()


def add_arguments(sub) -> None:
    write = sub.add_parser("writepath", help="VMs per minute, cloud calls per VM, API meanwhile")
    write.add_argument("--requests", type=int, default=500)
    write.add_argument("--latency", type=float, default=0.2)
    write.add_argument("--build-time", type=float, default=5.0)
    write.add_argument("--workers", type=int, default=2)
    write.add_argument("--api-clients", type=int, default=2)
    write.add_argument("--approvers", type=int, default=4)
    rec = sub.add_parser("reconcile", help="one reconciler run over many servers")
    rec.add_argument("--servers", type=int, default=10_000)


COMMANDS = {"writepath": bench_writepath, "reconcile": bench_reconcile}
