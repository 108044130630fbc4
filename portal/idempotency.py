"""``Idempotency-Key`` for POSTs: a retry with the same key gets the first answer, not a twin.

How it holds under concurrency: the key row is inserted in the same database transaction as the
work it guards. A concurrent duplicate's insert hits the unique (user, key) index and PostgreSQL
makes it wait until the first transaction ends; it then reads the stored answer and replays it.
A crash rolls the row back with the work, so nothing is ever stuck "in progress" and a retry
simply runs again. The wait is bounded by ``lock_timeout``: past it the duplicate gets 409.

Why not a library: drf-idempotency-key style packages keep keys in the cache, which neither
survives a restart nor serialises concurrent duplicates with the database work itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response

from portal.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
#: How long a duplicate waits for the first request with its key before answering 409.
WAIT_FOR_FIRST = "10s"
LOCK_NOT_AVAILABLE = "55P03"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used for a different request (another method, path "
        "or body). Use a new key for a new request."
    )


class IdempotencyKeyInProgress(exceptions.APIException):
    """The first request with the key is still running: retry after ``wait`` seconds."""

    status_code = status.HTTP_409_CONFLICT
    wait = 1  # DRF's handler turns it into Retry-After
    default_code = "idempotency_key_in_progress"
    default_detail = gettext_lazy(
        "A request with this Idempotency-Key is still being processed; retry in a moment."
    )


class IdempotencyKeyInvalid(exceptions.ValidationError):
    default_code = "invalid"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Hash of what the request asks; JSON bodies are canonical so key order does not matter."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
        payload = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        payload = body
    return hashlib.sha256(method.encode() + b"\n" + path.encode() + b"\n" + payload).hexdigest()


def run_idempotent(
    request,
    handler: Callable[[], Response],
    stored_body: Callable[[Any], Any] = lambda data: data,
) -> Response:
    """Run ``handler`` once per (user, key); later calls with the key replay its answer.

    ``handler`` returns a response for errors too (4xx answers are replayed like successes);
    an exception or a 5xx answer rolls the key back with the work so that a retry runs again.
    ``stored_body`` chooses what of the answer is kept for replays (e.g. never a secret).
    """
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return handler()
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(
            {
                HEADER: [
                    _("Use at most %(count)d characters (a UUID is a good key).")
                    % {"count": MAX_KEY_LENGTH}
                ]
            }
        )
    digest = fingerprint(request.method, request.path, _raw_body(request))
    user = request.user
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{WAIT_FOR_FIRST}'")
        row = _reserve(user, key, digest)
        if row.status_code is not None:
            if row.fingerprint != digest:
                raise IdempotencyKeyReused()
            replay = Response(row.body, status=row.status_code)
            replay[REPLAY_HEADER] = "true"
            return replay
        response = handler()
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        row.status_code = response.status_code
        row.body = stored_body(response.data)
        row.save(update_fields=["status_code", "body"])
    return response


def _raw_body(request) -> bytes:
    try:
        return request.body
    except RawPostDataException:
        # A multipart body already consumed (by the CSRF check of a browser form): hash its
        # parsed form instead, which identifies the request as well.
        data = (
            {k: request.data.getlist(k) for k in request.data}
            if hasattr(request.data, "getlist")
            else request.data
        )
        return json.dumps(data, sort_keys=True, default=str).encode()


def _reserve(user, key: str, digest: str) -> IdempotencyKey:
    """Our new row (status empty), or the finished row of an earlier request with this key."""
    now = timezone.now()
    IdempotencyKey.objects.filter(user=user, created_at__lt=now - KEY_LIFETIME).delete()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user=user, key=key, fingerprint=digest, created_at=now
                )
        except OperationalError as err:
            if getattr(err.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            # lock_timeout: the first request with this key is still running.
            raise IdempotencyKeyInProgress()
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(user=user, key=key).first()
            if existing is None:
                continue  # removed meanwhile (expired); try again
            if existing.created_at < now - KEY_LIFETIME:
                existing.delete()
                continue
            return existing
    raise IdempotencyKeyInProgress()


def purge_expired() -> int:
    """Remove keys older than their lifetime; returns how many."""
    cutoff = timezone.now() - KEY_LIFETIME
    deleted, _count = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
