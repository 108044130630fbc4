"""HAProxy (Debian's package) in front of the portal's web instances, as a load balancer of the
agency's would be: round robin, each backend checked on ``/readyz``, a connection refused by a
dead backend retried on another.

What it cannot do is know whether a POST that reached a backend which then died was processed:
it never retries a request whose answer was lost after it was sent. That is what clients'
``Idempotency-Key`` is for.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from cloudsim.pytest_plugin import free_port
from tests.live import wait_for

CONFIG = """\
global
    maxconn 2000
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    # A backend that refuses the connection or closes it without a word: try again, on the
    # other backend (redispatch), up to three times.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend portal
    bind 127.0.0.1:{port}
    default_backend web

backend web
    balance roundrobin
    # /readyz answers 503 without a database, its migrations or the broker: no traffic then.
    option httpchk GET /readyz
    http-check expect status 200
    # A sync gunicorn answers the check after the requests it is busy with: give it time.
    timeout check 3s
    default-server check inter 1s fall 2 rise 2
{servers}
"""


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists():
        raise RuntimeError("haproxy is not installed: apt-get install haproxy")
    return found


class HAProxy:
    """``haproxy`` in the foreground on a free port, its config and stats socket in ``workdir``."""

    def __init__(self, workdir: Path, backends: list[int]) -> None:
        self.workdir, self.backends = workdir, backends
        self.port = free_port()
        self.socket = workdir / "haproxy.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        servers = "\n".join(
            f"    server web{i} 127.0.0.1:{port}" for i, port in enumerate(self.backends, 1)
        )
        config = self.workdir / "haproxy.cfg"
        config.write_text(CONFIG.format(port=self.port, socket=self.socket, servers=servers))
        self.process = subprocess.Popen(
            [haproxy_binary(), "-db", "-f", str(config)],
            stdout=(self.workdir / "haproxy.log").open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: self.up() == len(self.backends), timeout=60,
                 what="haproxy to see every web instance ready")  # fmt: skip

    def stats(self) -> list[dict[str, str]]:
        """``show stat``: one row per frontend, server and backend."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().strip().splitlines()
        header = lines[0].lstrip("# ").split(",")
        return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]

    def up(self) -> int:
        """How many web instances pass the health check now."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"haproxy exited; see {self.workdir / 'haproxy.log'}")
        try:
            rows = self.stats()
        except OSError:
            return 0
        return sum(
            r["pxname"] == "web" and r["svname"].startswith("web") and r["status"] == "UP"
            for r in rows
        )

    def backend_counters(self) -> dict[str, int]:
        """The backend's retries, redispatches and errors since it started."""
        row = next(r for r in self.stats() if r["pxname"] == "web" and r["svname"] == "BACKEND")
        names = {"wretr": "retries", "wredis": "redispatches", "econ": "connection errors",
                 "eresp": "response errors"}  # fmt: skip
        return {label: int(row.get(field) or 0) for field, label in names.items()}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
