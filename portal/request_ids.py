"""One id per piece of work, from the browser through the worker into the cloud's own logs.

A web request takes the caller's ``X-Request-ID`` when it is an OpenStack-style id
(``req-<uuid>``) and otherwise gets a new one; the answer carries it back in ``X-Request-ID``.
Work it enqueues keeps it: the outbox row records it and publishes it as a message header,
a task runs with it bound, and every OpenStack call the task makes sends it as
``X-OpenStack-Request-ID`` (``provisioning.cloud.connection.PortalConnection``), which Nova,
Neutron, Cinder and Glance record as the call's *global request id* in their logs. A task that
starts on its own (beat's schedule) gets an id of its own.

Why OpenStack's format and not any string: the services accept a global request id only if it
matches ``req-<uuid>`` (oslo.middleware drops anything else), and one id that is the same in
every log is the whole point. A caller's id in another format is kept beside it in the logs
(``client_request_id``) so the caller can still be found.

The id lives in a context variable: each thread of a web process and each task has its own.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
#: The message header a task's id travels in.
TASK_HEADER = "portal_request_id"
_FORMAT = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("portal_request_id", default="")
_client: contextvars.ContextVar[str] = contextvars.ContextVar("portal_client_id", default="")


def new() -> str:
    return f"req-{uuid.uuid4()}"


def valid(value: str | None) -> bool:
    return bool(value) and bool(_FORMAT.match(value))


def current() -> str:
    """The id of the work in hand; empty outside a web request or a task."""
    return _current.get()


def client_id() -> str:
    """What the caller sent as its request id when it was not in OpenStack's format."""
    return _client.get()


@contextmanager
def bound(request_id: str | None = None, *, client: str = "") -> Iterator[str]:
    """Run the block as the work ``request_id`` (a new id when it is missing or malformed)."""
    value = request_id if valid(request_id) else new()
    token, client_token = _current.set(value), _client.set(client)
    try:
        yield value
    finally:
        _current.reset(token)
        _client.reset(client_token)


def bind(request_id: str | None) -> contextvars.Token:
    """Bind without a block (Celery's prerun and postrun signals); undo with ``unbind``."""
    return _current.set(request_id if valid(request_id) else new())


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


class RequestIdMiddleware:
    """Binds the request's id for its whole handling and answers it in ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(HEADER, "").strip()[:200]
        client = "" if valid(sent) else sent
        with bound(sent, client=client) as request_id:
            request.request_id = request_id
            response = self.get_response(request)
        response[HEADER] = request_id
        return response
