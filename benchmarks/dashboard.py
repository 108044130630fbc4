"""The dashboard at scale, for every role, on a database already filled by ``scale_data``.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_dash_scale \\
        python -m benchmarks dashboard --repeat 30

Unlike the other benchmarks it neither migrates nor empties the database: it measures the one
it is given (a copy of ``portal_scale``, migrated and backfilled). It adds, once, the roles the
builder does not make: an auditor and a security officer of one domain at every site.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from benchmarks.common import report


def _roles():
    from django.contrib.auth import get_user_model

    from tenants import services
    from tenants.models import SecurityDomain, Site
    from tests.factories import make_portal_role

    users = get_user_model().objects
    member = users.get(username="scale-member")
    operator = users.get(username="scale-operator")
    auditor = users.filter(username="scale-auditor").first() or make_portal_role(
        "scale-auditor", "audit_portal"
    )
    officer = users.filter(username="scale-officer").first()
    if officer is None:
        officer = users.create_user("scale-officer")
        services.security_officer_grant(grantee=officer, domain=SecurityDomain.objects.first())
        for site in Site.objects.all():
            services.site_access_grant(grantee=officer, site=site)
    return {"member": member, "operator": operator, "auditor": auditor, "officer": officer}


def bench_dashboard(args: argparse.Namespace) -> None:
    import django

    django.setup()
    print(f"  load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    from django.db import connection
    from django.test import Client

    for role, user in _roles().items():
        client = Client()
        client.force_login(user)
        for partial, headers in (("", {}), (" (htmx refresh)", {"HTTP_HX_REQUEST": "true"})):
            client.get("/", **headers)
            queries: list[str] = []

            def count(run, sql, *rest, _seen=queries):
                _seen.append(sql)
                return run(sql, *rest)

            with connection.execute_wrapper(count):
                response = client.get("/", **headers)
            samples, cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                response = client.get("/", **headers)
                samples.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            assert response.status_code == 200, (role, response.status_code)
            # CPU: this process's own time (Python, templates), without waits on the database:
            # what the page costs the web tier whatever else the machine is doing.
            report(
                f"{role}{partial}: {len(response.content) / 1024:.0f} KB, {len(queries)} queries, "
                f"CPU {statistics.median(cpu) * 1000:.0f} ms",
                samples,
            )


def add_arguments(sub) -> None:
    dashboard = sub.add_parser("dashboard", help="the dashboard at scale, every role")
    dashboard.add_argument("--repeat", type=int, default=30)
