"""The HTTP side of portalctl: token auth, the error body, retries that are safe to make.

Only the standard library, so the client runs from any Python 3.11 without installing anything.
Every POST carries an Idempotency-Key (a fresh UUID per command) that its own retries reuse, so
a retry after a lost answer never submits a second request.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib import error, parse, request

from portalctl.i18n import _, accept_language

RETRIES = 3
RETRYABLE = {429, 502, 503, 504}
USER_AGENT = "portalctl/1.0"


class ApiError(Exception):
    """An answer the portal refused with; carries its message, code and field messages."""

    def __init__(self, status: int, body: dict[str, Any] | None, fallback: str = "") -> None:
        body = body or {}
        self.status = status
        self.code = body.get("code", "error")
        self.fields: dict[str, list[str]] = body.get("fields") or {}
        self.body = body
        super().__init__(body.get("message") or fallback or f"HTTP {status}")

    def describe(self) -> str:
        lines = [
            _("error (%(status)s %(code)s): %(message)s")
            % {"status": self.status, "code": self.code, "message": self}
        ]
        lines += [f"  {field}: {' '.join(msgs)}" for field, msgs in self.fields.items()]
        return "\n".join(lines)


@dataclass
class Client:
    url: str
    token: str | None = None
    basic: tuple[str, str] | None = None
    timeout: float = 30.0

    def __post_init__(self) -> None:
        # Only the web: urllib would also open file: and other schemes.
        if parse.urlsplit(self.url).scheme not in ("http", "https"):
            raise ApiError(
                0, None, _("The portal URL must start with https:// (%(url)r).") % {"url": self.url}
            )

    def _headers(self) -> dict[str, str]:
        # The portal answers (its error messages) in the language portalctl speaks.
        headers = {
            "Accept": "application/json",
            "Accept-Language": accept_language(),
            "User-Agent": USER_AGENT,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.basic:
            raw = base64.b64encode(":".join(self.basic).encode()).decode()
            headers["Authorization"] = f"Basic {raw}"
        return headers

    def endpoint(self, path: str, params: dict[str, Any] | None = None) -> str:
        base = self.url.rstrip("/") + "/api/v1/" + path.lstrip("/")
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return base + ("?" + parse.urlencode(query, doseq=True) if query else "")

    def call(self, method: str, url: str, body: Any = None) -> Any:
        """One API call with retries on throttling and gateway errors; POSTs are idempotent."""
        headers = self._headers()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        for attempt in range(RETRIES + 1):
            req = request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
            try:
                with request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                    raw = response.read()
                    return json.loads(raw) if raw else None
            except error.HTTPError as exc:
                raw = exc.read()
                body = _json_or_none(raw) or {}
                in_progress = body.get("code") == "idempotency_key_in_progress"
                if (exc.code in RETRYABLE or in_progress) and attempt < RETRIES:
                    time.sleep(_retry_after(exc.headers.get("Retry-After"), attempt))
                    continue
                raise ApiError(exc.code, body, exc.reason) from None
            except (error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt < RETRIES:
                    time.sleep(_retry_after(None, attempt))
                    continue
                message = _("cannot reach %(url)s: %(error)s") % {"url": self.url, "error": exc}
                raise ApiError(0, None, message) from None
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", self.endpoint(path, params))

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", self.endpoint(path), body if body is not None else {})

    def delete(self, path: str) -> Any:
        return self.call("DELETE", self.endpoint(path))

    def list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a paginated list, following ``next`` links."""
        rows: list[dict[str, Any]] = []
        url: str | None = self.endpoint(path, {"page_size": 200, **params})
        while url:
            page = self.call("GET", url)
            rows.extend(page["results"])
            url = page.get("next")
        return rows


def _retry_after(header: str | None, attempt: int) -> float:
    try:
        return min(float(header), 60.0) if header else 0.5 * 2**attempt
    except ValueError:
        return 0.5 * 2**attempt


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
