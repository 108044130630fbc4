"""Contract: stop, start and reboot take a moment, as Nova's do, and refuse to overlap.

Nova answers an action with 202 and sets a task_state (`powering-off`, `powering-on`,
`rebooting`, `rebooting_hard`; status `REBOOT`/`HARD_REBOOT` while rebooting); the compute host
finishes it a moment later (the lab's fake driver: 0.5-2 s). Another action meanwhile is a 409.
cloudsim does the same when its action time is set, as here; callers must poll for the end
state instead of trusting the first read after the call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provisioning import cloud
from provisioning.cloud import CloudPermanentError, NetworkSetup
from tests.contract.conftest import ContractCloud
from tests.contract.helpers import wait_gone, wait_status

pytestmark = pytest.mark.contract


@pytest.fixture
def server(contract: ContractCloud) -> Iterator[str]:
    tag = contract.tag()
    net: NetworkSetup = cloud.network_find_or_create(
        contract.target, tag=tag, name="contract-power", cidr="10.83.0.0/24", with_router=False
    )
    if contract.sim is not None:
        contract.sim.control.set_action_time(1.0)
    made = cloud.server_find_or_create(
        contract.target, tag=tag, name="power-states", flavor_id=contract.flavor.id,
        image_id=contract.image.id, network_ids=[net.network.id],
    )  # fmt: skip
    try:
        wait_status(contract.target, made.id, "ACTIVE")
        yield made.id
    finally:
        cloud.server_delete(contract.target, made.id)
        wait_gone(contract.target, made.id)
        cloud.network_delete_by_tag(contract.target, tag)


def assert_running_or_done(
    contract: ContractCloud, server_id: str, running: tuple[str, str], done: tuple[str, None]
) -> None:
    """The first read after an action: still running (always so on cloudsim here), or done."""
    info = cloud.server_get(contract.target, server_id)
    read = (info.status, info.task_state)
    assert read in ([running] if contract.is_sim else [running, done])


def test_actions_pass_through_nova_task_states(contract, server):
    cloud.server_stop(contract.target, server)
    assert_running_or_done(contract, server, ("ACTIVE", "powering-off"), ("SHUTOFF", None))
    assert wait_status(contract.target, server, "SHUTOFF").task_state is None

    cloud.server_start(contract.target, server)
    assert_running_or_done(contract, server, ("SHUTOFF", "powering-on"), ("ACTIVE", None))
    assert wait_status(contract.target, server, "ACTIVE").task_state is None

    cloud.server_reboot(contract.target, server)
    assert_running_or_done(contract, server, ("REBOOT", "rebooting"), ("ACTIVE", None))
    assert wait_status(contract.target, server, "ACTIVE").task_state is None

    cloud.server_reboot(contract.target, server, hard=True)
    assert_running_or_done(contract, server, ("HARD_REBOOT", "rebooting_hard"), ("ACTIVE", None))
    assert wait_status(contract.target, server, "ACTIVE").task_state is None


def test_an_action_while_another_runs_is_a_conflict(contract, server):
    cloud.server_stop(contract.target, server)
    # Still powering off, the task_state refuses; already off, the vm_state does: 409 both ways.
    with pytest.raises(CloudPermanentError, match="HTTP 409") as err:
        cloud.server_reboot(contract.target, server)
    states = (
        "task_state powering-off"
        if contract.is_sim
        else "(task_state powering-off|vm_state stopped)"
    )
    assert err.match(f"Cannot 'reboot' instance {server} while it is in {states}")
    wait_status(contract.target, server, "SHUTOFF")
