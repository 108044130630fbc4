"""``/metrics``: answered before sessions, host checks and sign-in, to Prometheus only.

Who may read it: a caller presenting ``Authorization: Bearer <PORTAL_METRICS_TOKEN>``, or one
whose address is in ``PORTAL_METRICS_ALLOW`` (networks; loopback by default). The address is the
connection's own (``REMOTE_ADDR``), never a forwarded header a client could write. Anyone else
gets 403 with nothing about the portal in it.

The same middleware times every other request for ``portal.metrics.http``.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from portal.metrics import http
from portal.metrics.collectors import collector

PATH = "/metrics"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == PATH:
            return metrics_answer(request)
        started = time.perf_counter()
        response = self.get_response(request)
        http.observe(request, response.status_code, time.perf_counter() - started)
        return response


def allowed(request: HttpRequest) -> bool:
    token = settings.PORTAL_METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer "):
        return hmac.compare_digest(sent[len("Bearer ") :].strip().encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.PORTAL_METRICS_ALLOW)))


@lru_cache(maxsize=8)
def _networks(specs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(spec, strict=False) for spec in specs if spec)


def registry() -> CollectorRegistry:
    """This scrape's registry: the web processes' HTTP figures (all of them under gunicorn with
    ``PROMETHEUS_MULTIPROC_DIR``, else this process's) and the cluster's."""
    reg = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(reg)
    else:
        for metric in http.METRICS:
            reg.register(metric)
    reg.register(collector)
    return reg


def metrics_answer(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
