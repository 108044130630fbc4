"""The portal served as in production, for benchmarks that measure it over real HTTP.

gunicorn on a free port, one person's persistent connection to it, wrk for throughput, and the
workers' resident memory. Latencies measured here include what a client pays and an in-process
test client hides: the WSGI server, the socket, the whole response body on the wire.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import ROOT


class Gunicorn:
    """The portal served by gunicorn on a free port, on the benchmark's database.

    ``threads`` > 1 runs gthread workers, which keep a client's connection between requests;
    sync workers (1) close it after each answer, so every request goes to whichever process is
    free. With gthread a worker keeps every connection it accepted, and when one process holds
    most of wrk's connections they share its one interpreter: throughput on the same build
    varied from 170 to 440 req/s between runs; sync workers gave 430-465.
    """

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        *,
        workers: int = 2,
        threads: int = 4,
        app: str = "portal.wsgi",
        probe: str = "/login/",
    ) -> None:
        from cloudsim.pytest_plugin import free_port

        self.port = free_port()
        self.env, self.workdir = env, workdir
        self.workers, self.threads = workers, threads
        #: The WSGI app, and a path it answers with 200 once it serves.
        self.app, self.probe = app, probe
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from tests.live import wait_for

        log = (self.workdir / "gunicorn.log").open("ab")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), self.app, "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self._answers, timeout=60, what="gunicorn")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (its process group), as a machine that
        dies takes them: requests in flight get no answer."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def _answers(self) -> bool:
        import requests

        try:
            return requests.get(f"http://127.0.0.1:{self.port}{self.probe}", timeout=1).ok
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master)."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in children]

    def stop(self) -> None:
        """Stop gracefully; kill when a worker outlasts gunicorn's own graceful timeout (30 s),
        as one that grew to gigabytes can while it frees them."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (VmRSS is in kB)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) / 1024


class Visitor:
    """One person's keep-alive HTTP connection to the portal, as a browser or a script holds.

    ``headers`` carry the person's credentials (a token, or a session cookie). A connection the
    server closed (idle timeout) is reopened and the request sent again, with the clock restarted,
    so reconnecting is not counted as the portal's time.
    """

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port, self.headers = port, {"Host": f"127.0.0.1:{port}", **headers}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str) -> tuple[int, int, float]:
        """GET ``path``: (status, body bytes, seconds to the last byte)."""
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.connection.request("GET", path, headers=self.headers)
                response = self.connection.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                self.connection.close()
                if attempt:
                    raise
                continue
            took = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
            return response.status, len(body), took
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


@dataclass
class WrkResult:
    connections: int
    requests: int
    seconds: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


#: wrk's Lua hooks: the token on every request, and a machine-readable summary at the end
#: (wrk's own text output rounds and changes units).
WRK_SCRIPT = """
wrk.headers["Authorization"] = "Bearer %(token)s"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK-RESULT %%d %%d %%d %%d %%f\\n", summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(99)))
end
"""


def wrk(url: str, *, token: str, connections: int, seconds: float) -> WrkResult:
    """``connections`` keep-alive clients hammering ``url`` for ``seconds`` with wrk.

    One wrk thread: it is event-driven and keeps 32 connections busy alone, leaving the two
    cores to gunicorn and PostgreSQL, which is what is measured.
    """
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % {"token": token})
        script.flush()
        out = subprocess.run(
            [binary, "-t1", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--timeout", "10s",
             "-s", script.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    match = re.search(r"WRK-RESULT (\d+) (\d+) (\d+) (\d+) ([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk said nothing usable:\n{out}")
    requests, micros, non_2xx, socket_errors, p99 = match.groups()
    return WrkResult(connections, int(requests), int(micros) / 1e6, float(p99) / 1000,
                     int(non_2xx), int(socket_errors))  # fmt: skip
