"""Is a region's cloud up and answering? One probe: a fresh token, then one cheap list on each
service the region offers (compute, network, image and, where present, block storage).

The probe logs in anew each time (a cached session would skip Keystone, whose failure is the
commonest outage) and gives each call its own timeout, so a cloud that stopped answering costs
at most ``timeout`` per service, and a failed login stops the probe early: no service can be
reached without a token. The outcome of each call is a ``ServiceCheck``: measured, never raised.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioning.cloud.base import CloudError, CloudTarget
from provisioning.cloud.connection import connect_anew, translate_errors

#: Services in the order they are probed; identity first (its token opens the others).
IDENTITY, COMPUTE, NETWORK, IMAGE, BLOCK_STORAGE = (
    "identity", "compute", "network", "image", "block-storage"
)  # fmt: skip
SERVICES = (IDENTITY, COMPUTE, NETWORK, IMAGE, BLOCK_STORAGE)


@dataclass(frozen=True)
class ServiceCheck:
    """One service's answer to the probe: whether it answered well, in how long, else why."""

    service: str
    ok: bool
    latency_ms: float
    error: str = ""


def _first(items: Any) -> Any:
    """The first item of a listing: one request, without following its next page."""
    return next(iter(items), None)


def _lists(conn: Any) -> list[tuple[str, Callable[[], Any]]]:
    checks = [
        (COMPUTE, lambda: _first(conn.compute.flavors(details=False, limit=1))),
        (NETWORK, lambda: _first(conn.network.networks(limit=1))),
        (IMAGE, lambda: _first(conn.image.images(limit=1))),
    ]
    # Block storage where the region has it: the catalogue says so (some sites run none).
    if conn.has_service("block-storage") or conn.has_service("volumev3"):
        checks.append((BLOCK_STORAGE, lambda: _first(conn.block_storage.types())))
    return checks


def _timed(service: str, call: Callable[[], Any]) -> ServiceCheck:
    started = time.perf_counter()
    try:
        with translate_errors(f"probing {service}"):
            call()
    except CloudError as err:
        return ServiceCheck(service, False, _since(started), str(err)[:300])
    except Exception as err:  # a probe records every failure, it never raises
        return ServiceCheck(service, False, _since(started), f"{type(err).__name__}: {err}"[:300])
    return ServiceCheck(service, True, _since(started))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def probe(target: CloudTarget) -> list[ServiceCheck]:
    """Probe ``target``'s cloud: identity's check first, then one per service it offers.

    Without a token the other services cannot be asked: they are reported as failed with the
    login's reason, so an outage of Keystone shows as the whole region down.
    """
    try:
        conn = connect_anew(target)
    except CloudError as err:
        return [ServiceCheck(s, False, 0.0, str(err)[:300]) for s in SERVICES[:4]]
    try:
        login = _timed(IDENTITY, conn.authorize)
        if not login.ok:
            reason = f"No token: {login.error}"[:300]
            return [login, *(ServiceCheck(s, False, 0.0, reason) for s in SERVICES[1:4])]
        try:
            lists = _lists(conn)
        except Exception as err:  # an unreadable catalogue is a failure
            reason = f"No service catalogue: {err}"[:300]
            return [login, *(ServiceCheck(s, False, 0.0, reason) for s in SERVICES[1:4])]
        return [login, *(_timed(service, call) for service, call in lists)]
    finally:
        with contextlib.suppress(Exception):  # closing is best effort
            conn.close()
