"""The simulator object: state, knobs, authentication and the dispatch of every API call."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloudsim.knobs import Knobs
from cloudsim.store import Store
from cloudsim.web import ApiError, Request, Response, Router

log = logging.getLogger("cloudsim")
JOURNAL_SIZE = 5000
GLOBAL_REQUEST_ID = re.compile(
    r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)

NAMESPACE = uuid.UUID("6f1c2a52-5a6e-4c3e-9d0e-2f5b7d1c9a10")
SERVICES = ("compute", "network", "image", "block-storage")


def stable_id(*parts: str, hex_: bool = False) -> str:
    """Seeded objects get ids derived from their names, so a reset or a re-seed keeps them."""
    value = uuid.uuid5(NAMESPACE, "/".join(parts))
    return value.hex if hex_ else str(value)


def new_id(hex_: bool = False) -> str:
    value = uuid.uuid4()
    return value.hex if hex_ else str(value)


def iso(ts: float | None = None, micro: bool = False) -> str:
    moment = datetime.fromtimestamp(ts if ts is not None else time.time(), UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class AuthContext:
    """Who is calling: what Keystone put in the token."""

    token_id: str
    user_id: str
    user_name: str
    project_id: str | None
    project_name: str | None
    roles: list[str] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class CloudSim:
    """All regions of the simulated cloud behind one HTTP port.

    Identity is shared by all regions (one Keystone, as in a multi-region OpenStack); compute,
    network and image state is kept per region, so region A never shows region B's servers.
    """

    def __init__(self, state_path: str, seed: dict[str, Any], knobs: Knobs | None = None) -> None:
        from cloudsim import block_storage, compute, control_api, identity, image, network
        from cloudsim import seed as seeding

        self.store = Store(state_path)
        self.seed = seed
        self.knobs = knobs or Knobs()
        #: The last calls to the services, as their logs would show them (``/_sim/journal``).
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_SIZE)
        self.router = Router()
        for module in (identity, compute, network, image, block_storage, control_api):
            module.register(self.router)
        self._seeding = seeding
        with self.store.transaction():
            seeding.apply_seed(self, seed)

    @property
    def regions(self) -> list[str]:
        return list(self.seed.get("regions") or ["RegionOne"])

    def _journal(self, req: Request, operation: str) -> None:
        """Record the call as the service's log line would: its own request id and the
        caller's global request id (``X-OpenStack-Request-ID``), which the services accept only
        in their own ``req-<uuid>`` format, as oslo.middleware does."""
        sent = req.header("x-openstack-request-id")
        global_id = sent if GLOBAL_REQUEST_ID.match(sent) else ""
        self.journal.append(
            {
                "at": time.time(),
                "service": req.service,
                "region": req.region,
                "operation": operation,
                "method": req.method,
                "path": req.path,
                "request_id": req.request_id,
                "global_request_id": global_id,
            }
        )
        log.debug(
            "%s [%s %s] %s %s", req.service, global_id or "-", req.request_id, req.method, req.path
        )

    def reset(self) -> None:
        with self.store.transaction():
            self.store.clear()
            self._seeding.apply_seed(self, self.seed)
        self.knobs.clear()
        self.journal.clear()

    # ---- authentication -------------------------------------------------------------------
    def authenticate(self, req: Request) -> AuthContext:
        token_id = req.header("x-auth-token")
        token = self.store.get("token", token_id) if token_id else None
        if not token or token["expires"] < time.time():
            raise ApiError.for_service(
                req.service, 401, "The request you have made requires authentication."
            )
        return AuthContext(
            token_id=token_id,
            user_id=token["user_id"],
            user_name=token["user_name"],
            project_id=token.get("project_id"),
            project_name=token.get("project_name"),
            roles=token.get("roles", []),
        )

    # ---- dispatch -------------------------------------------------------------------------
    def split_path(self, path: str) -> tuple[str, str, str]:
        """Return (region, service, rest) for /<region>/<service>/rest, else ('', '', path)."""
        parts = path.split("/", 3)
        if len(parts) >= 3 and parts[2] in SERVICES and parts[1] in self.regions:
            rest = "/" + parts[3] if len(parts) > 3 else ""
            return parts[1], parts[2], rest
        if path.startswith("/_sim"):
            return "", "sim", path[len("/_sim") :]
        return "", "identity", path

    def handle(self, req: Request) -> Response:
        response = self._handle(req)
        if response.status == 401:
            # Keystone and keystonemiddleware name where to authenticate.
            response.headers.setdefault("WWW-Authenticate", f'Keystone uri="{req.base_url}"')
        return response

    def _handle(self, req: Request) -> Response:
        region, service, rest = self.split_path(req.path)
        req.region, req.service = region, service
        route, params, known = self.router.match(req.method, service, rest)
        if route is None:
            status = 405 if known else 404
            msg = "The method is not allowed." if known else "The resource could not be found."
            if service == "compute" and not known:
                msg = "Unknown API path."
            err = ApiError.for_service(service, status, msg)
            if service == "block-storage":  # Cinder's router answers webob's HTML 404
                err = ApiError.glance(404, "The resource could not be found.")
            return Response(err.status, err.body, err.headers)
        if service == "sim":
            return self._run(route.handler, req, params)
        operation = route.operation_for(req)
        self._journal(req, operation)
        outage = self.knobs.outage_of(region) if region else None
        if outage is not None:
            if outage.mode == "hang":
                time.sleep(outage.seconds)
            return self._fault_response(service, outage)
        fault = self.knobs.take_fault(operation)
        delay = self.knobs.latency_for(operation)
        if delay:
            time.sleep(delay)
        if fault and fault.mode == "error":
            return self._fault_response(service, fault)
        if fault and fault.mode == "hang":
            time.sleep(fault.seconds)
            if not fault.apply:
                return self._fault_response(service, fault)
        response = self._run(route.handler, req, params)
        if fault and fault.mode in ("lost", "hang") and response.status < 400:
            return self._fault_response(service, fault)
        if service == "compute" and req.microversion and response.status != 401:
            version = f"{req.microversion[0]}.{req.microversion[1]}"
            response.headers["OpenStack-API-Version"] = f"compute {version}"
            response.headers["X-OpenStack-Nova-API-Version"] = version
            response.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
        if service == "block-storage" and req.microversion:
            version = f"{req.microversion[0]}.{req.microversion[1]}"
            response.headers.setdefault("OpenStack-API-Version", f"volume {version}")
            response.headers.setdefault("Vary", "OpenStack-API-Version")
        return response

    def _fault_response(self, service: str, fault: Any) -> Response:
        message = fault.message or (
            "Service Unavailable" if fault.status == 503 else "Internal Server Error (injected)"
        )
        err = ApiError.for_service(service, fault.status, message)
        return Response(err.status, err.body, err.headers)

    def _run(self, handler: Any, req: Request, params: dict[str, str]) -> Response:
        # An error answer still commits: lazy state changes made while reading (a build that
        # finished, a deleted server that is now gone) must stick even when the answer is 404.
        with self.store.transaction():
            try:
                if req.service == "compute":
                    from cloudsim.compute import negotiate

                    req.microversion = negotiate(req)
                elif req.service == "block-storage":
                    from cloudsim.block_storage import negotiate as negotiate_volume

                    req.microversion = negotiate_volume(req)
                if req.service in SERVICES and handler.__name__ not in ("versions", "version"):
                    req.ctx = self.authenticate(req)
                return handler(self, req, **params)
            except ApiError as err:
                return Response(err.status, err.body, err.headers)
