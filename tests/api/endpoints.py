"""Every endpoint under /api/v1/, found by walking the URL conf (not by listing them by hand)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"


@dataclass
class Endpoint:
    name: str  # e.g. "api:server-stop"
    methods: dict[str, str] = field(default_factory=dict)  # HTTP method -> viewset action
    detail: bool = False
    has_format_variant: bool = False
    view: object = None


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


def api_endpoints() -> dict[str, Endpoint]:
    """url name -> Endpoint, for every route under /api/v1/ (format-suffix routes merged)."""
    found: dict[str, Endpoint] = {}
    for route, name, callback in _walk(get_resolver().url_patterns):
        if not route.startswith(API_PREFIX):
            continue
        endpoint = found.setdefault(name, Endpoint(name=name))
        endpoint.view = getattr(callback, "cls", None)
        # HEAD is GET's twin (DRF adds it to a viewset's actions on its first request).
        actions = getattr(callback, "actions", None) or {}
        endpoint.methods.update({m.upper(): a for m, a in actions.items() if m != "head"})
        # One of the portal's own class-based APIViews (not a viewset, nor a function wrapped by
        # @api_view, nor DRF's root): its handlers.
        view = endpoint.view
        ours = view is not None and view.__module__.split(".")[0] in ("portal", "provisioning",
                                                                     "tenants")  # fmt: skip
        if not actions and ours and "WrappedAPIView" not in view.__qualname__:
            handlers = ("get", "post", "put", "patch", "delete")
            endpoint.methods.update({m.upper(): m for m in handlers if hasattr(endpoint.view, m)})
        endpoint.detail = endpoint.detail or "(?P<pk>" in route
        endpoint.has_format_variant = endpoint.has_format_variant or "format" in route
    return found
