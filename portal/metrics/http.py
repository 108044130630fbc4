"""Latency and status of every answer this process gives, per view.

The label is the view's name (``servers:detail``), never the path: a path carries ids, and a
label per server would make a series per server. Requests no URL matched are ``unresolved``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

#: Seconds; the pages' goal is tens of milliseconds, the reports' one second.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

requests_total = Counter(
    "portal_http_requests",
    "Answers given, per view, method and status code.",
    ["view", "method", "status"],
    registry=None,
)
duration = Histogram(
    "portal_http_request_duration_seconds",
    "Time from the request's arrival to its answer, per view and method.",
    ["view", "method"],
    buckets=BUCKETS,
    registry=None,
)
METRICS = (requests_total, duration)


def view_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unresolved"
    return match.view_name or match._func_path


def observe(request, status: int, seconds: float) -> None:
    view = view_of(request)
    method = request.method if request.method in KNOWN_METHODS else "other"
    requests_total.labels(view, method, str(status)).inc()
    duration.labels(view, method).observe(seconds)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
