"""A small client for cloudsim's control API, for tests, benchmarks and the demo."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class CloudSimControlError(RuntimeError):
    pass


class CloudSimControl:
    """Drives the /_sim endpoints of a running cloudsim; every method returns the JSON answer."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        if not self.base_url.startswith(("http://", "https://")):
            raise CloudSimControlError(f"not an http(s) URL: {self.base_url}")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            f"{self.base_url}/_sim{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raise CloudSimControlError(f"{method} {path}: {err.code} {err.read()!r}") from err

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

    def set_latency(self, seconds: float, operation: str = "*") -> dict[str, Any]:
        """Add `seconds` to every call of `operation` (glob, e.g. `compute.*`; `*` = all)."""
        return self._call("POST", "/latency", {"operation": operation, "seconds": seconds})

    def clear_latency(self) -> dict[str, Any]:
        return self._call("DELETE", "/latency")

    def set_build_time(self, seconds: float) -> dict[str, Any]:
        """How long new servers stay in BUILD before ACTIVE (or ERROR)."""
        return self._call("POST", "/build-time", {"seconds": seconds})

    def set_delete_time(self, seconds: float) -> dict[str, Any]:
        """How long a deleted server lingers (task_state `deleting`) before it is gone."""
        return self._call("POST", "/delete-time", {"seconds": seconds})

    def set_action_time(self, seconds: float) -> dict[str, Any]:
        """How long stop/start/reboot take; meanwhile the server shows Nova's task_state
        (`powering-off`, `powering-on`, `rebooting`, `rebooting_hard`) and refuses other
        actions with 409, as Nova does. 0 (the default) finishes them at once."""
        return self._call("POST", "/action-time", {"seconds": seconds})

    def set_volume_time(self, seconds: float) -> dict[str, Any]:
        """How long each Cinder volume transition takes (`creating`, `extending`, `reserved` ->
        `attaching` -> `in-use`, `detaching`, `deleting`); 0 finishes them by the next read."""
        return self._call("POST", "/volume-time", {"seconds": seconds})

    def fail(
        self, operation: str, status: int = 500, times: int = 1, message: str = ""
    ) -> dict[str, Any]:
        """The next `times` calls of `operation` answer `status` and do nothing."""
        return self._call(
            "POST",
            "/faults",
            {"operation": operation, "mode": "error", "status": status, "times": times,
             "message": message},
        )  # fmt: skip

    def hang(
        self, operation: str, seconds: float, times: int = 1, apply: bool = False, status: int = 503
    ) -> dict[str, Any]:
        """The next calls sleep `seconds` before answering; with apply=True the work is done."""
        return self._call(
            "POST",
            "/faults",
            {"operation": operation, "mode": "hang", "seconds": seconds, "times": times,
             "apply": apply, "status": status},
        )  # fmt: skip

    def lose_response(self, operation: str, times: int = 1, status: int = 500) -> dict[str, Any]:
        """The next calls succeed in the cloud but answer `status` (a lost response)."""
        return self._call(
            "POST",
            "/faults",
            {"operation": operation, "mode": "lost", "status": status, "times": times},
        )

    def outage(
        self, region: str, mode: str = "error", status: int = 503, seconds: float = 0.0
    ) -> dict[str, Any]:
        """Take `region` down until `end_outage`: every call to its services answers `status`
        (after sleeping `seconds` with mode="hang"); identity, shared by all regions, stays up.
        `clear_faults` ends every outage too."""
        return self._call(
            "POST", "/outages",
            {"region": region, "mode": mode, "status": status, "seconds": seconds},
        )  # fmt: skip

    def end_outage(self, region: str | None = None) -> dict[str, Any]:
        """Bring `region` (default: every region) back."""
        return self._call("DELETE", "/outages", {"region": region} if region else None)

    def fail_builds(self, message: str = "", times: int = 1) -> dict[str, Any]:
        """The next `times` servers created end in ERROR with `message` as their fault."""
        return self._call("POST", "/build-errors", {"message": message, "times": times})

    def fail_resizes(self, message: str = "", times: int = 1) -> dict[str, Any]:
        """The next `times` resizes fail in the scheduler, as a real Nova's do when no other host
        can take the server (NoValidHost): accepted (202), status RESIZE for the build time, then
        back to the old flavor and state with no fault and no ERROR; the `resize` instance
        action ends in "Error" with `message` (default: Nova's "No valid host was found. No
        valid host found for resize") as its events' `details`."""
        return self._call("POST", "/resize-errors", {"message": message, "times": times})

    def fail_image_volumes(self, times: int = 1) -> dict[str, Any]:
        """The next `times` volumes made from an image (Cinder's `imageRef`, or Nova's boot from
        volume) go `creating` -> `error`, as every one does on the lab, whose fake Cinder driver
        cannot copy an image. A server booting from such a volume then ends in ERROR with Nova's
        fault `Build of instance S aborted: Volume V did not finish being created even after we
        waited 3 seconds or 2 attempts. And its status is error.`, its volume deleted."""
        return self._call("POST", "/image-volume-errors", {"times": times})

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "/faults")

    def set_quotas(
        self,
        *,
        project_id: str | None = None,
        project_name: str | None = None,
        region: str | None = None,
        compute: dict[str, int] | None = None,
        network: dict[str, int] | None = None,
        volume: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Set quotas of one project (by id or name) in one region, or all regions; `volume`
        takes Cinder's keys (`volumes`, `gigabytes`, `volumes_<type>`, ...)."""
        return self._call(
            "POST",
            "/quotas",
            {"project_id": project_id, "project_name": project_name, "region": region,
             "compute": compute or {}, "network": network or {}, "volume": volume or {}},
        )  # fmt: skip

    def projects(self) -> list[dict[str, Any]]:
        return self._call("GET", "/projects")["projects"]

    def project_id(self, name: str) -> str:
        return next(p["id"] for p in self.projects() if p["name"] == name)

    def counts(self) -> dict[str, int]:
        return self._call("GET", "/counts")["counts"]

    def count(self, operation: str) -> int:
        return self.counts().get(operation, 0)

    def journal(self, global_request_id: str = "") -> list[dict[str, Any]]:
        """The calls cloudsim received last, or those that carried this global request id."""
        query = f"?global_request_id={global_request_id}" if global_request_id else ""
        return self._call("GET", f"/journal{query}")["calls"]

    def clear_counts(self) -> dict[str, Any]:
        return self._call("DELETE", "/counts")

    def reset(self) -> dict[str, Any]:
        """Forget every object and knob and re-apply the seed."""
        return self._call("POST", "/reset")
