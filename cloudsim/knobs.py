"""Run-time knobs of the simulator: latency, build time, injected faults and call counts."""

from __future__ import annotations

import fnmatch
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_MODES = ("error", "hang", "lost")


@dataclass
class Fault:
    """One planned misbehaviour of one call.

    error: answer `status` without doing anything.
    hang: sleep `seconds` (past the client's timeout), then answer `status` without doing
          anything, or do the work if `apply` is set (the client has given up by then).
    lost: do the work, then answer `status`: the cloud has the object, the caller does not know.
    """

    operation: str
    mode: str = "error"
    status: int = 500
    seconds: float = 0.0
    apply: bool = False
    message: str = ""


@dataclass
class Knobs:
    latency: dict[str, float] = field(default_factory=dict)
    build_time: float = 2.0
    delete_time: float = 0.0
    #: How long stop/start/reboot take (Nova shows the task_state meanwhile); 0: at once.
    action_time: float = 0.0
    #: How long each Cinder volume transition takes (creating, extending, attaching, detaching,
    #: deleting); the lab's take 0.5-1 s.
    volume_time: float = 0.5
    faults: list[Fault] = field(default_factory=list)
    build_errors: list[str] = field(default_factory=list)
    #: Messages of the next resizes to fail in the scheduler (Nova's NoValidHost): the server
    #: goes back to its flavor and state with no fault, the instance action records the error.
    resize_errors: list[str] = field(default_factory=list)
    #: How many of the next volumes made from an image fail to copy it (status `error`), as
    #: every one does on the lab, whose fake Cinder driver cannot: Nova's boot-from-volume
    #: then aborts the build.
    image_volume_errors: int = 0
    #: Regions that are down until told otherwise: every call to their services answers as the
    #: fault says (its operation is ignored), identity (shared by all regions) stays up.
    outages: dict[str, Fault] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def latency_for(self, operation: str) -> float:
        with self.lock:
            if operation in self.latency:
                return self.latency[operation]
            for pattern, seconds in self.latency.items():
                if pattern != "*" and fnmatch.fnmatch(operation, pattern):
                    return seconds
            return self.latency.get("*", 0.0)

    def take_fault(self, operation: str) -> Fault | None:
        """Count the call and pop the first fault planned for it, if any."""
        with self.lock:
            self.counts[operation] += 1
            for i, fault in enumerate(self.faults):
                if fnmatch.fnmatch(operation, fault.operation):
                    return self.faults.pop(i)
        return None

    def outage_of(self, region: str) -> Fault | None:
        with self.lock:
            return self.outages.get(region)

    def take_build_error(self) -> str | None:
        with self.lock:
            return self.build_errors.pop(0) if self.build_errors else None

    def take_resize_error(self) -> str | None:
        with self.lock:
            return self.resize_errors.pop(0) if self.resize_errors else None

    def take_image_volume_error(self) -> bool:
        """Use up one planned image-copy failure; False when none is planned."""
        with self.lock:
            if self.image_volume_errors <= 0:
                return False
            self.image_volume_errors -= 1
            return True

    def add_fault(self, fault: Fault, times: int = 1) -> None:
        if fault.mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {FAULT_MODES}")
        with self.lock:
            self.faults.extend(Fault(**asdict(fault)) for _ in range(times))

    def clear(self, keep_timing: bool = True) -> None:
        with self.lock:
            self.faults.clear()
            self.build_errors.clear()
            self.resize_errors.clear()
            self.image_volume_errors = 0
            self.outages.clear()
            self.counts.clear()
            if not keep_timing:
                self.latency.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "latency": dict(self.latency),
                "build_time": self.build_time,
                "delete_time": self.delete_time,
                "action_time": self.action_time,
                "volume_time": self.volume_time,
                "faults": [asdict(f) for f in self.faults],
                "build_errors": list(self.build_errors),
                "resize_errors": list(self.resize_errors),
                "image_volume_errors": self.image_volume_errors,
                "outages": {region: asdict(f) for region, f in self.outages.items()},
                "counts": dict(self.counts),
            }
