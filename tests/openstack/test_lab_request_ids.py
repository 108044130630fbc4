"""The portal's request id in the lab's own logs: an operator follows one approval from the
API call, through the worker, into what Nova and Neutron wrote about it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from provisioning import services
from provisioning.models import Kind, Network, RequestState
from tests.openstack.test_lab_provisioning import submit_server, wait_state

pytestmark = [pytest.mark.openstack, pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def lab_logs() -> Path:
    home = os.environ.get("LAB_HOME")
    if not home or not (Path(home) / "logs").is_dir():
        pytest.fail("the lane exports LAB_HOME, where the lab keeps logs/")
    return Path(home) / "logs"


def logs_naming(request_id: str) -> dict[str, int]:
    """Each log file of the lab that mentions ``request_id``, with how many lines do."""
    found = {}
    for path in sorted(lab_logs().glob("*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            lines = sum(request_id in line for line in text.splitlines())
            if lines:
                found[path.name] = lines
    return found


def approve_traced(world, request) -> str:
    """Approve through the API with an id of our own; wait for the build; return the id."""
    traced = f"req-{uuid.uuid4()}"
    api = APIClient()
    api.force_authenticate(world.approver)
    answer = api.post(f"/api/v1/requests/{request.pk}/approve/", {}, HTTP_X_REQUEST_ID=traced)
    assert answer.status_code == 200, answer.content
    assert answer["X-Request-ID"] == traced
    wait_state(request, RequestState.COMPLETED)
    assert set(request.transitions.filter(to_state="completed").values_list("trace_id", flat=True)
               ) == {traced}  # fmt: skip
    return traced


def test_approvals_request_ids_are_in_neutrons_and_novas_logs(lab_world):
    network_request = services.request_submit(
        user=lab_world.requester, kind=Kind.NETWORK, allocation=lab_world.allocation,
        spec={"name": "traced", "cidr": "10.46.0.0/24", "router": False},
        justification="End-to-end test of the portal's request ids on the OpenStack lab.",
    )  # fmt: skip
    network_traced = approve_traced(lab_world, network_request)
    network = Network.objects.get(origin_request=network_request)
    server_traced = approve_traced(lab_world, submit_server(lab_world, network, name="traced"))

    # Neutron logs the network's creation under the id the worker sent with it.
    in_neutron = logs_naming(network_traced)
    assert any(name.startswith("neutron") for name in in_neutron), in_neutron
    # Nova's API, conductor, scheduler and compute log the build under the server's.
    in_nova = logs_naming(server_traced)
    assert {"nova-api", "nova-compute"} <= {name.split(".")[0] for name in in_nova}, in_nova
