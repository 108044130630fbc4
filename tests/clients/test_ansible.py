"""Ansible's openstack.cloud collection, unmodified: tests/clients/playbook.yml builds a
network, subnet, router, security group and rule, key pair, server, floating IP and (where the
cloud has block storage) a volume, reads them back with the *_info modules, then tears it all
down. Each state is applied twice: the second run must change nothing and fail nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clients.conftest import ClientCloud
from tests.clients.coverage import check_coverage
from tests.keys import ed25519_key

pytestmark = pytest.mark.contract

PLAYBOOK = Path(__file__).with_name("playbook.yml")
RECAP = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.M)  # fmt: skip


def play(cloud: ClientCloud, tmp_path: Path, variables: dict[str, object]) -> tuple[int, int]:
    """Run the playbook once; return (changed, failed) from its recap."""
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    env = {**cloud.env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_PIPELINING": "1",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
           "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable}  # fmt: skip
    done = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(PLAYBOOK), "-e", json.dumps(variables)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    recap = RECAP.search(done.stdout)
    if done.returncode != 0 or not recap:
        raise AssertionError(f"ansible-playbook failed ({done.returncode}):\n{done.stdout}"
                             f"\n{done.stderr}")  # fmt: skip
    _, changed, unreachable, failed = (int(g) for g in recap.groups())
    assert unreachable == 0
    return changed, failed


def test_the_playbook_builds_and_tears_down_with_nothing_left_to_change(client_cloud, tmp_path):
    variables = {
        "cloud": client_cloud.cloud,
        "prefix": client_cloud.prefix(),
        "flavor": client_cloud.flavor,
        "image": client_cloud.image,
        "external_network": client_cloud.external_network,
        "with_volume": client_cloud.with_volume,
        "floating_ips_activate": client_cloud.floating_ips_activate,
        "public_key": ed25519_key("compat@ansible"),
    }
    if client_cloud.sim:
        # cloudsim routes floating IPs: the play's own floating IP task runs there.
        assert client_cloud.floating_ips_activate
        client_cloud.sim.control.clear_counts()
    try:
        first = play(client_cloud, tmp_path, {**variables, "state": "present"})
        assert first[0] > 0 and first[1] == 0
        assert play(client_cloud, tmp_path, {**variables, "state": "present"}) == (0, 0)
    finally:
        down = play(client_cloud, tmp_path, {**variables, "state": "absent"})
    assert down[0] > 0 and down[1] == 0
    assert play(client_cloud, tmp_path, {**variables, "state": "absent"}) == (0, 0)
    if client_cloud.sim:
        check_coverage("ansible", client_cloud.sim.control.counts())
