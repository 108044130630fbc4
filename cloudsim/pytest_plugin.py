"""pytest fixtures that run cloudsim as a subprocess on a free port for the test session.

Register from the root conftest with `pytest_plugins = ["cloudsim.pytest_plugin"]`, or import
the fixtures into a directory's conftest with `from cloudsim.pytest_plugin import *`.

`cloudsim` (session scope) yields a CloudSimInstance: base_url, clouds_yaml (path of a
clouds.yaml written into a tmp dir), the cloud names in it, and `control` (CloudSimControl).
`cloudsim_clean` (function scope) gives the same instance after clearing faults, latency and
counts and restoring the default build time, so knobs never leak from one test to the next.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cloudsim.control import CloudSimControl
from cloudsim.seed import cloud_entry, write_clouds_yaml, write_seed

REGIONS = ["RegionOne", "RegionTwo"]
TEST_BUILD_TIME = 0.3
TEST_VOLUME_TIME = 0.2
MEMBER_PASSWORD = "portal-pw"
ADMIN_PASSWORD = "admin-pw"

__all__ = ["CloudSimInstance", "cloudsim", "cloudsim_clean", "start_cloudsim"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CloudSimInstance:
    """A running cloudsim process and everything a test needs to reach it."""

    base_url: str
    port: int
    workdir: Path
    state_path: Path
    seed_path: Path
    clouds_yaml: Path
    regions: list[str]
    build_time: float
    process: subprocess.Popen[bytes] | None = None
    # cloud names in clouds_yaml
    cloud: str = "sim-a"  # user `portal`, project team-a, RegionOne
    other_cloud: str = "sim-b"  # same user, project team-b, RegionOne
    second_region_cloud: str = "sim-a-r2"  # team-a in RegionTwo
    admin_cloud: str = "sim-admin"  # user `admin`, admin role, project admin, RegionOne
    clouds: list[str] = field(default_factory=list)

    @property
    def control(self) -> CloudSimControl:
        return CloudSimControl(self.base_url)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        log = (self.workdir / "cloudsim.log").open("ab")
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        args = [sys.executable, "-m", "cloudsim", "--host", "127.0.0.1", "--port", str(self.port),
                "--state", str(self.state_path), "--seed", str(self.seed_path),
                "--build-time", str(self.build_time),
                "--volume-time", str(TEST_VOLUME_TIME)]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            args,
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cloudsim exited early; see {self.workdir / 'cloudsim.log'}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/_sim/health", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("cloudsim did not become ready in 20 s")

    def stop(self) -> None:
        """Stop our own process by its pid: TERM, then KILL after 10 s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def start_cloudsim(workdir: Path, build_time: float = TEST_BUILD_TIME) -> CloudSimInstance:
    """Write a seed and a clouds.yaml into `workdir` and start cloudsim on a free port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    seed_path = workdir / "seed.yaml"
    write_seed(
        seed_path,
        regions=REGIONS,
        projects=["admin", "team-a", "team-b"],
        users=[
            {"name": "admin", "password": ADMIN_PASSWORD, "roles": {"admin": ["admin", "member"]}},
            {"name": "portal", "password": MEMBER_PASSWORD,
             "roles": {"team-a": ["member"], "team-b": ["member"]}},
        ],
    )  # fmt: skip
    clouds_yaml = workdir / "clouds.yaml"
    member = {"username": "portal", "password": MEMBER_PASSWORD}
    write_clouds_yaml(
        clouds_yaml, base_url, ["RegionOne"], project_name="team-a", prefix="sim-a-", **member,
        extra={
            "sim-a": cloud_entry(base_url, "RegionOne", project_name="team-a", **member),
            "sim-a-r2": cloud_entry(base_url, "RegionTwo", project_name="team-a", **member),
            "sim-b": cloud_entry(base_url, "RegionOne", project_name="team-b", **member),
            "sim-admin": cloud_entry(base_url, "RegionOne", username="admin",
                                     password=ADMIN_PASSWORD, project_name="admin"),
            "sim-admin-r2": cloud_entry(base_url, "RegionTwo", username="admin",
                                        password=ADMIN_PASSWORD, project_name="admin"),
        },
    )  # fmt: skip
    instance = CloudSimInstance(
        base_url=base_url,
        port=port,
        workdir=workdir,
        state_path=workdir / "cloudsim.sqlite3",
        seed_path=seed_path,
        clouds_yaml=clouds_yaml,
        regions=REGIONS,
        build_time=build_time,
        clouds=["sim-a", "sim-a-r2", "sim-b", "sim-admin", "sim-admin-r2"],
    )
    instance.start()
    return instance


@pytest.fixture(scope="session")
def cloudsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudSimInstance]:
    instance = start_cloudsim(tmp_path_factory.mktemp("cloudsim"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def cloudsim_clean(cloudsim: CloudSimInstance) -> Iterator[CloudSimInstance]:
    control = cloudsim.control
    if cloudsim.process is None:
        cloudsim.start()
    control.clear_faults()
    control.clear_latency()
    control.clear_counts()
    control.set_build_time(cloudsim.build_time)
    control.set_delete_time(0)
    control.set_volume_time(TEST_VOLUME_TIME)
    yield cloudsim
    if cloudsim.process is not None:
        control.clear_faults()
        control.clear_latency()
        control.set_build_time(cloudsim.build_time)
        control.set_delete_time(0)
        control.set_volume_time(TEST_VOLUME_TIME)
