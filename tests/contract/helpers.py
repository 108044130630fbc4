"""Polling helpers for contract tests (the cloud layer itself never blocks on a build)."""

from __future__ import annotations

import time

from provisioning import cloud
from provisioning.cloud import CloudNotFound, CloudTarget, ServerInfo


def wait_status(
    target: CloudTarget, server_id: str, *statuses: str, timeout: float = 60
) -> ServerInfo:
    deadline = time.monotonic() + timeout
    while True:
        server = cloud.server_get(target, server_id)
        if server.status in statuses:
            return server
        if time.monotonic() > deadline:
            raise AssertionError(f"server {server_id} still {server.status}, wanted {statuses}")
        time.sleep(0.3)


def wait_gone(target: CloudTarget, server_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cloud.server_get(target, server_id)
        except CloudNotFound:
            return
        time.sleep(0.3)
    raise AssertionError(f"server {server_id} was not deleted in {timeout} s")
