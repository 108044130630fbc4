"""The HTTP plumbing of cloudsim: requests, responses, routing and error shapes per service."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_body: bytes
    base_url: str
    region: str = ""
    service: str = ""
    ctx: Any = None
    microversion: tuple[int, int] | None = None
    #: Sent back as `x-openstack-request-id`; Nova records it as the request id of the instance
    #: action the call starts, so it is known before the handler runs.
    request_id: str = field(default_factory=lambda: f"req-{uuid.uuid4()}")

    @property
    def body(self) -> Any:
        if not self.raw_body:
            return None
        try:
            return json.loads(self.raw_body)
        except ValueError:
            raise ApiError.for_service(self.service, 400, "Malformed request body") from None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


GLANCE_UNAUTHORIZED = (
    "This server could not verify that you are authorized to access the document you "
    "requested. Either you supplied the wrong credentials (e.g., bad password), or your "
    "browser does not understand how to supply the credentials required."
)
NOVA_FAULT_KEYS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    409: "conflictingRequest",
    413: "overLimit",
    500: "computeFault",
    501: "notImplemented",
    503: "serviceUnavailable",
}
NEUTRON_TYPES = {
    400: "HTTPBadRequest",
    401: "HTTPUnauthorized",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    409: "HTTPConflict",
    500: "HTTPInternalServerError",
    503: "HTTPServiceUnavailable",
}
#: Cinder's wsgi Fault names (its 5xx, like Nova's, is a `computeFault`).
CINDER_FAULT_KEYS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An error answer, already in the shape the imitated service uses."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def nova(cls, status: int, message: str) -> ApiError:
        key = NOVA_FAULT_KEYS.get(status, "computeFault")
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        return cls(status, {key: {"code": status, "message": message}}, headers)

    @classmethod
    def neutron(cls, status: int, message: str, type_: str | None = None) -> ApiError:
        error_type = type_ or NEUTRON_TYPES.get(status, "HTTPError")
        return cls(status, {"NeutronError": {"type": error_type, "message": message, "detail": ""}})

    @classmethod
    def keystone(cls, status: int, message: str) -> ApiError:
        title = TITLES.get(status, "Error")
        return cls(status, {"error": {"code": status, "message": message, "title": title}})

    @classmethod
    def glance(cls, status: int, message: str) -> ApiError:
        title = f"{status} {TITLES.get(status, 'Error')}"
        text = f"<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n"
        text += f"  {message}<br /><br />\n\n\n\n </body>\n</html>"
        return cls(status, text, {"Content-Type": "text/html; charset=UTF-8"})

    @classmethod
    def cinder(cls, status: int, message: str) -> ApiError:
        key = CINDER_FAULT_KEYS.get(status, "computeFault")
        return cls(status, {key: {"code": status, "message": message}},
                   {"Content-Type": "application/json"})  # fmt: skip

    @classmethod
    def for_service(cls, service: str, status: int, message: str) -> ApiError:
        if status == 401 and service == "image":
            # Glance's pipeline answers a bad token with webob's page, not Keystone's JSON.
            return cls.glance(status, GLANCE_UNAUTHORIZED)
        if status == 401:
            # keystonemiddleware answers for every other service before the request reaches
            # it, in Keystone's shape (its WWW-Authenticate header is added by CloudSim.handle).
            return cls.keystone(status, message)
        if service == "compute":
            return cls.nova(status, message)
        if service == "block-storage":
            return cls.cinder(status, message)
        if service == "network":
            return cls.neutron(status, message)
        if service == "image":
            return cls.glance(status, message)
        return cls.keystone(status, message)


Handler = Callable[..., Response]


@dataclass
class Route:
    method: str
    service: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler
    #: Names the operation from the request when one path serves several (Nova's server
    #: actions: `resize` and `os-stop` share POST /servers/{id}/action).
    resolve: Callable[[Request], str] | None = None

    def operation_for(self, req: Request) -> str:
        """The operation name this request counts under and that faults and latency match."""
        return self.resolve(req) if self.resolve else self.operation


class Router:
    """Maps (method, service, path under the service root) to a handler and an operation name.

    Operation names (`compute.server.create`) are what the control API uses to count calls and
    inject faults, so they are stable and documented in docs/cloudsim.md.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        service: str,
        path: str,
        operation: str,
        handler: Handler,
        resolve: Callable[[Request], str] | None = None,
    ) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.rstrip("/") or "")
        pattern = re.compile(f"^{regex}/?$")
        self.routes.append(Route(method, service, pattern, operation, handler, resolve))

    def match(
        self, method: str, service: str, path: str
    ) -> tuple[Route | None, dict[str, str], bool]:
        """Return (route, params, path_known); path_known tells 404 from 405."""
        path_known = False
        for route in self.routes:
            if route.service != service:
                continue
            m = route.pattern.match(path)
            if not m:
                continue
            path_known = True
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, m.groupdict(), True
        return None, {}, path_known


def paginate(
    items: list[dict[str, Any]], req: Request, collection: str, url: str, max_limit: int = 1000
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Nova/Neutron style limit+marker pagination; returns the page and its `*_links`."""
    marker = req.arg("marker")
    if marker:
        ids = [i["id"] for i in items]
        if marker not in ids:
            raise ApiError.for_service(req.service, 400, f"marker [{marker}] not found")
        items = items[ids.index(marker) + 1 :]
    limit_arg = req.arg("limit")
    try:
        limit = min(int(limit_arg), max_limit) if limit_arg else max_limit
    except ValueError:
        raise ApiError.for_service(req.service, 400, "limit must be an integer") from None
    if limit < 0:
        raise ApiError.for_service(req.service, 400, "limit must be >= 0")
    page = items[:limit]
    links: list[dict[str, str]] = []
    # Like Nova and Neutron: a full page always carries a next link, even if nothing follows.
    if page and len(page) == limit:
        params = {k: v for k, v in req.query.items() if k not in ("marker", "limit")}
        flat = [(k, x) for k, vs in params.items() for x in vs]
        flat += [("limit", str(limit)), ("marker", page[-1]["id"])]
        links.append({"rel": "next", "href": f"{url}?{urlencode(flat)}"})
    return page, links


def parse_query(qs: str) -> dict[str, list[str]]:
    return parse_qs(qs, keep_blank_values=True)
