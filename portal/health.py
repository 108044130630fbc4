"""Is the portal alive, and is it ready? What load balancers, orchestrators and operators ask.

``/healthz`` answers as long as the process serves requests: no database, no broker, so a slow
database never makes an orchestrator restart every web process at once. ``/readyz`` answers 200
when this process can do its work (the database answers and is migrated, the broker answers)
and 503 otherwise, so a load balancer sends it nothing. The background's state (the schedule's
heartbeat: beat sent it and a worker ran it) and each region's last probe are reported too, as
*degraded*, never as not ready: a web process without a worker still serves pages, and taking
every web process out because the workers are down would help nobody.

Both answer before the rest of the middleware (``HealthMiddleware``): no session, no host check
(a kubelet asks by pod address), nothing to sign in. Operators read each check with its detail
at ``/readyz/detail/`` (signed in, or with an API token). ``manage.py health`` runs the same
checks for the worker and beat containers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

#: The checks a process needs to be ready; the others only degrade.
REQUIRED = ("database", "migrations", "broker")
#: Unapplied migrations are looked for at most this often (reading the graph takes ~100 ms).
MIGRATIONS_RECHECK = 60.0
_migrated_until = 0.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0
    required: bool = False


@dataclass
class Readiness:
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks if c.required)

    @property
    def status(self) -> str:
        if not self.ready:
            return "not ready"
        return "ok" if all(c.ok for c in self.checks) else "degraded"

    def as_dict(self) -> dict:
        return {"status": self.status, "checks": [asdict(c) for c in self.checks]}


def _timed(name: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = probe()
    except Exception as err:  # a check that fails says why; it never raises to the caller
        ok, detail = False, f"{type(err).__name__}: {err}"[:300]
    return Check(name, ok, detail, round(time.perf_counter() - started, 4), name in REQUIRED)


def _database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, connection.vendor


def _migrations() -> tuple[bool, str]:
    global _migrated_until
    if time.monotonic() < _migrated_until:
        return True, "applied"
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return False, f"{len(plan)} migration(s) not applied: run manage.py migrate"
    _migrated_until = time.monotonic() + MIGRATIONS_RECHECK
    return True, "applied"


def _broker() -> tuple[bool, str]:
    from portal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.PORTAL_HEALTH_TIMEOUT)
    return True, app.conf.broker_url.split("://", 1)[0]


def heartbeat_record(*, hostname: str) -> None:
    """The schedule's heartbeat ran now, on ``hostname`` (the heartbeat task's one write)."""
    from portal.models import Heartbeat

    Heartbeat.objects.update_or_create(
        name="schedule", defaults={"at": timezone.now(), "hostname": hostname[:255]}
    )


def _schedule() -> tuple[bool, str]:
    from portal.models import Heartbeat

    beat = Heartbeat.objects.filter(name="schedule").first()
    if beat is None:
        return False, "no heartbeat yet: are beat and a worker running?"
    age = (timezone.now() - beat.at).total_seconds()
    late = age > settings.PORTAL_HEARTBEAT_STALE
    return not late, f"{age:.0f} s ago, run by {beat.hostname or 'a worker'}"


def _probes() -> tuple[bool, str]:
    """Each enabled region's last probe: how long ago, and whether it answered."""
    from provisioning.models import ServiceStatus

    stale = timezone.now() - timedelta(seconds=3 * settings.PORTAL_PROBE_EVERY)
    regions = ServiceStatus.objects.filter(service="region", region__enabled=True).select_related(
        "region"
    )
    if not regions:
        return True, "no region probed yet"
    down = [s.region.slug for s in regions if not s.ok]
    old = [s.region.slug for s in regions if s.at < stale]
    detail = f"{len(regions)} region(s)"
    if down:
        detail += f"; down: {', '.join(sorted(down))}"
    if old:
        detail += f"; not probed lately: {', '.join(sorted(old))}"
    return not (down or old), detail


def readiness(*, background: bool = True) -> Readiness:
    """The checks, each timed; ``background``: the schedule's heartbeat and the probes too."""
    checks = [_timed("database", _database)]
    if checks[0].ok:
        checks.append(_timed("migrations", _migrations))
    checks.append(_timed("broker", _broker))
    if background and checks[0].ok:
        checks += [_timed("schedule", _schedule), _timed("probes", _probes)]
    return Readiness(checks)


class HealthMiddleware:
    """``/healthz`` and ``/readyz`` before anything else (first in ``MIDDLEWARE``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return _bare(HttpResponse("ok\n", content_type="text/plain"))
        if request.path == "/readyz":
            state = readiness(background=True)
            response = HttpResponse(f"{state.status}\n", content_type="text/plain",
                                    status=200 if state.ready else 503)  # fmt: skip
            return _bare(response)
        return self.get_response(request)


def _bare(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response
