"""The HTTP front of cloudsim: a ThreadingHTTPServer that hands every request to CloudSim."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from cloudsim.app import CloudSim
from cloudsim.web import Request, parse_query

log = logging.getLogger("cloudsim")


class CloudSimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cloudsim/1.0"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits for the
    # delayed ACK (~40 ms) on every call.
    disable_nagle_algorithm = True
    server: CloudSimHTTPServer

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        base_url = self.server.public_url or f"http://{self.headers.get('Host', 'localhost')}"
        req = Request(
            method=self.command,
            path=parts.path.rstrip("/") or "/",
            query=parse_query(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            raw_body=raw,
            base_url=base_url.rstrip("/"),
        )
        try:
            response = self.server.sim.handle(req)
        except Exception:  # the simulator must answer like a cloud, not drop the socket
            log.exception("cloudsim: unhandled error on %s %s", self.command, self.path)
            from cloudsim.web import ApiError

            err = ApiError.for_service(req.service, 500, "Internal error in cloudsim")
            from cloudsim.web import Response

            response = Response(err.status, err.body, err.headers)
        payload = response.encode()
        self.send_response(response.status)
        headers = {"Content-Type": "application/json", **response.headers}
        if response.status in (204, 304) or (response.body is None and response.status >= 200):
            headers.pop("Content-Type", None)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("x-openstack-request-id", req.request_id)
        self.send_header("Content-Length", str(0 if response.status == 204 else len(payload)))
        self.end_headers()
        if self.command != "HEAD" and response.status != 204:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class CloudSimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: CloudSim, public_url: str = "") -> None:
        super().__init__(address, CloudSimHandler)
        self.sim = sim
        self.public_url = public_url


def start_in_thread(sim: CloudSim, host: str = "127.0.0.1", port: int = 0) -> CloudSimHTTPServer:
    """Serve in a background thread (handy in a REPL); the caller calls .shutdown()."""
    httpd = CloudSimHTTPServer((host, port), sim)
    threading.Thread(target=httpd.serve_forever, daemon=True, name="cloudsim").start()
    return httpd
