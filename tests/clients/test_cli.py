"""The openstack CLI (python-openstackclient, pinned in requirements-dev.txt), unmodified: what a
tenant does from a shell, from a network to a server with a floating IP, then everything
deleted; the whole sequence twice, so the second round proves the first left nothing behind.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import ClientCloud
from tests.clients.coverage import check_coverage
from tests.keys import ed25519_key

pytestmark = pytest.mark.contract


class Cli:
    def __init__(self, cloud: ClientCloud, tmp_path: Path) -> None:
        self.cloud = cloud
        self.tmp_path = tmp_path
        self.calls = 0

    def run(self, *args: str, cloud: str | None = None, fmt: bool = True) -> Any:
        command = ["openstack", "--os-cloud", cloud or self.cloud.cloud, *args]
        if fmt:
            command += ["-f", "json"]
        self.calls += 1
        done = subprocess.run(
            command, env=self.cloud.env, capture_output=True, text=True, timeout=180,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed:\n{done.stderr}\n{done.stdout}")
        return json.loads(done.stdout) if fmt and done.stdout.strip() else done.stdout

    def wait(self, what: str, name: str, field: str, *wanted: str, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.run(what, "show", name)
            if shown[field] in wanted:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} {name} still {shown[field]}, wanted {wanted}")
            time.sleep(0.5)

    def wait_gone(self, prefix: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.run("server", "list", "--name", f"^{prefix}-"):
            if time.monotonic() > deadline:
                raise AssertionError(f"servers {prefix}-* still there after {timeout} s")
            time.sleep(0.5)


def one_round(cli: Cli, cloud: ClientCloud, prefix: str) -> None:
    run = cli.run
    net, subnet, router = f"{prefix}-net", f"{prefix}-subnet", f"{prefix}-router"
    group, key, vm, many = f"{prefix}-sg", f"{prefix}-key", f"{prefix}-vm", f"{prefix}-many"
    public_key = cli.tmp_path / f"{prefix}.pub"
    public_key.write_text(ed25519_key() + "\n")

    # What there is to build with.
    assert cloud.flavor in {f["Name"] for f in run("flavor", "list")}
    assert "properties" in run("flavor", "show", cloud.flavor)
    assert cloud.image in {i["ID"] for i in run("image", "list")}
    assert {z["Zone Name"] for z in run("availability", "zone", "list", "--compute")} >= {"nova"}
    assert run("limits", "show", "--absolute")
    assert run("quota", "show")
    assert run("quota", "show", "--default")
    assert run("usage", "show") is not None

    # Network, subnet, router onto the external network, security group and rule, key pair.
    run("network", "create", net)
    run("subnet", "create", "--network", net, "--subnet-range", "10.91.0.0/24", subnet)
    made = run("router", "create", router)
    run("router", "set", "--external-gateway", cloud.external_network, router, fmt=False)
    run("router", "add", "subnet", router, subnet, fmt=False)
    assert run("router", "show", router)["revision_number"] > made["revision_number"]
    run("security", "group", "create", "--description", "SSH in", group)
    run("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", group)
    run("keypair", "create", "--public-key", str(public_key), key)

    # A server, renamed, described, given and relieved of properties and groups. (Polled with
    # `server show` rather than `--wait`, which looks every 5 s.)
    run(
        "server", "create", "--flavor", cloud.flavor, "--image", cloud.image, "--network", net,
        "--key-name", key, "--security-group", group, "--property", "purpose=compat", vm,
    )  # fmt: skip
    server = cli.wait("server", vm, "status", "ACTIVE")
    assert [g["name"] for g in server["security_groups"]] == [group]
    run("server", "set", "--name", f"{vm}-x", "--description", "renamed", "--property",
        "colour=blue", vm, fmt=False)  # fmt: skip
    vm = f"{vm}-x"
    run("server", "unset", "--property", "purpose", vm, fmt=False)
    shown = run("server", "show", vm)
    assert shown["description"] == "renamed" and shown["properties"] == {"colour": "blue"}
    run("server", "add", "security", "group", vm, "default", fmt=False)
    groups = {g["name"] for g in run("server", "show", vm)["security_groups"]}
    assert groups == {group, "default"}
    run("server", "remove", "security", "group", vm, "default", fmt=False)
    assert [g["name"] for g in run("server", "show", vm)["security_groups"]] == [group]

    # A floating IP for it.
    fip = run("floating", "ip", "create", cloud.external_network)["floating_ip_address"]
    run("server", "add", "floating", "ip", vm, fip, fmt=False)
    listed = {f["Floating IP Address"]: f for f in run("floating", "ip", "list")}
    assert listed[fip]["Port"]

    # Power, its history, its console.
    run("server", "stop", vm, fmt=False)
    cli.wait("server", vm, "status", "SHUTOFF")
    run("server", "start", vm, fmt=False)
    cli.wait("server", vm, "status", "ACTIVE")
    actions = {e["Action"] for e in run("server", "event", "list", vm)}
    assert {"create", "stop", "start"} <= actions
    assert run("console", "log", "show", "--lines", "5", vm, fmt=False).strip()

    # Several at once.
    run(
        "server", "create", "--flavor", cloud.flavor, "--image", cloud.image, "--network", net,
        "--min", "2", "--max", "2", many,
    )  # fmt: skip
    cli.wait("server", f"{many}-2", "status", "ACTIVE")
    several = sorted(s["Name"] for s in run("server", "list", "--name", f"^{many}-"))
    assert several == [f"{many}-1", f"{many}-2"]

    # A volume, where the cloud has block storage.
    if cloud.with_volume:
        run("volume", "create", "--size", "1", f"{prefix}-vol")
        cli.wait("volume", f"{prefix}-vol", "status", "available")

    # An admin sets the project's network quota (Neutron's check_limit), unchanged.
    networks = next(q for q in run("quota", "show") if q["Resource"] == "networks")["Limit"]
    run("quota", "set", "--networks", str(networks), cloud.project_id, cloud=cloud.admin_cloud,
        fmt=False)  # fmt: skip

    # Everything goes again.
    if cloud.with_volume:
        run("volume", "delete", f"{prefix}-vol", fmt=False)
    run("server", "remove", "floating", "ip", vm, fip, fmt=False)
    run("floating", "ip", "delete", fip, fmt=False)
    run("server", "delete", vm, f"{many}-1", f"{many}-2", fmt=False)
    cli.wait_gone(prefix)
    run("keypair", "delete", key, fmt=False)
    run("security", "group", "delete", group, fmt=False)
    run("router", "remove", "subnet", router, subnet, fmt=False)
    run("router", "delete", router, fmt=False)
    run("network", "delete", net, fmt=False)
    assert not [n for n in run("network", "list") if n["Name"].startswith(prefix)]


def test_the_cli_sequence_passes_twice(client_cloud, tmp_path):
    cli = Cli(client_cloud, tmp_path)
    if client_cloud.sim:
        client_cloud.sim.control.clear_counts()
    prefix = client_cloud.prefix()
    for _ in range(2):
        one_round(cli, client_cloud, prefix)
    if client_cloud.sim:
        check_coverage("cli", client_cloud.sim.control.counts())
