"""Figures, not pass/fail: how fast the access-filtered lists are at scale, and how long
requests take from approval to completed through the real worker and cloudsim.

    python -m benchmarks access --allocations 2000 --requests 20000
    python -m benchmarks provisioning --requests 20
    python -m benchmarks scale --reuse   (see benchmarks/scale.py)
    python -m benchmarks dashboard   (on a database built by benchmarks.scale_data)
    python -m benchmarks showback --resources 100000   (a month of showback)
    python -m benchmarks sla-working   (the SLA report at scale, in working time)

Both use their own PostgreSQL database (``BENCH_DATABASE_URL``, default ``portal_bench`` on
127.0.0.1), which they migrate and empty first.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta

from benchmarks import dashboard, scale, showback, sla_working, writepath
from benchmarks.common import WHY, cloud_and_broker, report, setup_django
from benchmarks.writepath import bench_world


def bench_access(args: argparse.Namespace) -> None:
    """List endpoints and pages for a user who sees part of a large portal."""
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from provisioning.models import Kind, RequestTransition, ResourceRequest
    from provisioning.sla_facts import refresh
    from tenants.models import Allocation, CloudRegion, Role, Tenant
    from tests.factories import (
        CloudRegionFactory,
        SecurityDomainFactory,
        SiteFactory,
        make_portal_role,
        make_user,
    )

    started = time.perf_counter()
    sites = [SiteFactory() for _ in range(5)]
    domains = [SecurityDomainFactory() for _ in range(3)]
    regions = [CloudRegionFactory(site=s, domain=d) for s in sites for d in domains]
    n_tenants = max(args.allocations // len(regions), 1)
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"Unit {i}", slug=f"unit-{i}") for i in range(n_tenants)
    )
    Allocation.objects.bulk_create(Allocation(tenant=t, region=r) for t in tenants for r in regions)
    allocations = list(Allocation.objects.all())
    requester = make_user("bench-requester")
    requests = ResourceRequest.objects.bulk_create(
        ResourceRequest(kind=Kind.NETWORK, allocation=allocations[i % len(allocations)],
                        requester=requester, justification=WHY, spec={"name": f"n{i}"})
        for i in range(args.requests)
    )  # fmt: skip
    # A timeline per request (submitted, approved, built), for the SLA report.
    now = timezone.now()
    RequestTransition.objects.bulk_create(
        RequestTransition(request=r, from_state=before, to_state=after,
                          at=now - timedelta(minutes=minutes + i % 600))
        for i, r in enumerate(requests)
        for before, after, minutes in (("", "pending_approval", 90),
                                       ("pending_approval", "approved", 30),
                                       ("approved", "completed", 5))
    )  # fmt: skip
    refresh(None)  # the SLA facts of the timelines just written around the transition service
    viewer = make_user(
        "bench-viewer",
        memberships=dict.fromkeys(tenants[: max(n_tenants // 10, 1)], Role.APPROVER),
        domains=tuple(domains[:2]),
        sites=tuple(sites[:3]),
    )
    print(f"Data: {CloudRegion.objects.count()} regions, {len(tenants)} tenants, "
          f"{len(allocations)} allocations, {args.requests} requests "
          f"(built in {time.perf_counter() - started:.1f} s); the user sees "
          f"{Allocation.objects.restrict(viewer).count()} allocations and "
          f"{ResourceRequest.objects.restrict(viewer).count()} requests")  # fmt: skip
    user = Client()
    user.force_login(viewer)
    operator = Client()
    operator.force_login(make_portal_role("bench-operator", "operate_portal"))
    for title, url, client in [
        ("API /api/v1/allocations/ (page of 50)", "/api/v1/allocations/", user),
        ("API /api/v1/requests/ (page of 50)", "/api/v1/requests/", user),
        ("page /allocations/", "/allocations/", user),
        ("page /requests/", "/requests/", user),
        ("page / (dashboard)", "/", user),
        ("page /reports/sla/ (the user's requests)", "/reports/sla/", user),
        ("API /api/v1/reports/sla/ (an operator: every request)", "/api/v1/reports/sla/", operator),
    ]:
        client.get(url)
        samples, queries = [], []

        def count(run, sql, *rest, _seen=queries):
            _seen.append(sql)
            return run(sql, *rest)

        # Counted with a wrapper, not the debug query log (which is capped and may be full).
        with connection.execute_wrapper(count):
            client.get(url)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code)
        report(f"{title} [{len(queries)} queries]", samples)


def bench_provisioning(args: argparse.Namespace) -> None:
    """Approval -> completed for N server requests at once: worker + private Redis + cloudsim."""
    setup_django()

    from provisioning import services
    from provisioning.models import Kind, Network, RequestState, ResourceRequest
    from tests.live import Worker, wait_for

    with cloud_and_broker(build_time=args.build_time) as (workdir, sim, redis):
        env = {
            **os.environ,
            "PORTAL_TEST_BROKER_URL": redis.url,
            "CLOUDS_YAML": str(sim.clouds_yaml),
            "PORTAL_POLL_FIRST": "0.5",
            "PORTAL_POLL_MAX": "2",
            "DATABASE_CONN_MAX_AGE": "0",
        }
        worker = Worker(env, workdir / "worker.log")
        try:
            worker.restart_fresh()
            world = bench_world(sim, instances=1000)
            allocation, requester, approver = (
                world["allocation"],
                world["requester"],
                world["approver"],
            )
            net_request = services.request_submit(
                user=requester, kind=Kind.NETWORK, allocation=allocation,
                spec={"name": "bench", "cidr": "10.50.0.0/16", "router": True}, justification=WHY,
            )  # fmt: skip
            services.request_approve(user=approver, request=net_request)
            wait_for(
                lambda: Network.objects.filter(origin_request=net_request).exists(), timeout=60
            )
            network = Network.objects.get(origin_request=net_request)
            requests = [
                services.request_submit(
                    user=requester, kind=Kind.SERVER, allocation=allocation,
                    spec={"name": f"vm{i}", "flavor": "m1.tiny", "image": "cirros-0.6.2",
                          "networks": [network.pk]}, justification=WHY,
                )
                for i in range(args.requests)
            ]  # fmt: skip
            started = time.perf_counter()
            for request in requests:
                services.request_approve(user=approver, request=request)
            approved_in = time.perf_counter() - started
            ids = [r.pk for r in requests]
            wait_for(lambda: not ResourceRequest.objects.filter(pk__in=ids).exclude(
                state__in=[RequestState.COMPLETED, RequestState.FAILED]).exists(),
                timeout=600, what="every request to finish")  # fmt: skip
            total = time.perf_counter() - started
            durations = []
            for request in ResourceRequest.objects.filter(pk__in=ids):
                times = {t.to_state: t.at for t in request.transitions.all()}
                if "completed" in times:
                    durations.append((times["completed"] - times["approved"]).total_seconds())
            failed = ResourceRequest.objects.filter(pk__in=ids, state=RequestState.FAILED).count()
            print(f"{args.requests} server requests, cloud build time {args.build_time} s, "
                  f"one worker (concurrency 2): approvals took {approved_in:.2f} s, all done "
                  f"after {total:.1f} s ({args.requests / total:.2f} requests/s); "
                  f"failed: {failed}")  # fmt: skip
            report("approved -> completed", durations, unit="s", scale=1)
            print(f"  cloud calls: {sim.control.counts()}")
        finally:
            worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="bench", required=True)
    access = sub.add_parser("access", help="access-filtered lists at scale")
    access.add_argument("--allocations", type=int, default=1500)
    access.add_argument("--requests", type=int, default=20000)
    access.add_argument("--repeat", type=int, default=20)
    prov = sub.add_parser("provisioning", help="approval to completed through the worker")
    prov.add_argument("--requests", type=int, default=20)
    prov.add_argument("--build-time", type=float, default=2.0)
    writepath.add_arguments(sub)
    scale.add_arguments(sub)
    dashboard.add_arguments(sub)
    showback.add_arguments(sub)
    sla_working.add_arguments(sub)
    args = parser.parse_args()
    {
        "access": bench_access,
        "provisioning": bench_provisioning,
        "dashboard": dashboard.bench_dashboard,
        **writepath.COMMANDS,
        **scale.COMMANDS,
        **showback.COMMANDS,
        **sla_working.COMMANDS,
    }[args.bench](args)


if __name__ == "__main__":
    main()
