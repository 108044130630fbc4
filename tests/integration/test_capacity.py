"""More capacity end to end: a quota change and a lease extension pass the tenant's manager,
then an operator; the real worker sets the quota in cloudsim's Nova and Neutron over HTTP before
the portal records it, and a cloud that refuses leaves both as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import AuditEvent
from provisioning import cloud, services
from provisioning.models import Kind, RequestState, Server, Stage
from provisioning.services import RequestNotAllowed
from tenants.models import Role
from tests.factories import make_portal_role, make_user
from tests.integration.test_provisioning import (
    WHY,
    approve,
    make_network,
    submit_server,
    target,
    wait_state,
)

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deciders(live_world):
    rights = {"domains": (live_world.region.domain,), "sites": (live_world.region.site,)}
    manager = make_user("it-manager", memberships={live_world.allocation.tenant: Role.MANAGER},
                        **rights)  # fmt: skip
    operator = make_portal_role("it-operator", "operate_portal")
    return manager, operator


def _decided(world, request, manager, operator):
    """The capacity path: the tenant's approver may not; the manager, then the operator."""
    assert request.pending_stage == Stage.MANAGER
    with pytest.raises(RequestNotAllowed):
        services.request_approve(user=world.approver, request=request)
    services.request_approve(user=manager, request=request)
    request.refresh_from_db()
    assert (request.state, request.pending_stage) == (RequestState.PENDING_APPROVAL,
                                                      Stage.OPERATOR)  # fmt: skip
    services.request_approve(user=operator, request=request)


def test_a_quota_change_is_set_in_the_cloud_then_in_the_portal(live_world, deciders):
    world, (manager, operator) = live_world, deciders
    make_network(world)  # the project exists, with its quotas pushed
    assert cloud.quota_get(target(world)).instances.limit == world.allocation.instances == 10
    request = services.request_submit(
        user=world.requester, kind=Kind.QUOTA_CHANGE, allocation=world.allocation,
        spec={"instances": 20, "vcpus": 80, "networks": 12}, justification=WHY,
    )  # fmt: skip
    _decided(world, request, manager, operator)
    wait_state(request, RequestState.COMPLETED, RequestState.FAILED)
    assert request.state == RequestState.COMPLETED, request.failure_reason

    world.allocation.refresh_from_db()
    assert (world.allocation.instances, world.allocation.vcpus) == (20, 80)
    assert world.allocation.networks == 12
    quota = cloud.quota_get(target(world))
    assert (quota.instances.limit, quota.cores.limit) == (20, 80)
    assert (quota.networks.limit, quota.subnets.limit) == (12, 12)
    assert AuditEvent.objects.filter(action="allocation.change",
                                     object_id=str(world.allocation.pk)).exists()  # fmt: skip


def test_a_refused_quota_leaves_the_cloud_and_the_portal_as_they_were(live_world, deciders):
    world, (manager, operator) = live_world, deciders
    make_network(world)
    networks = world.allocation.networks
    request = services.request_submit(
        user=world.requester, kind=Kind.QUOTA_CHANGE, allocation=world.allocation,
        spec={"instances": 30, "networks": networks + 5}, justification=WHY,
    )  # fmt: skip
    # Nova takes the new limits, then Neutron refuses: a half-set project.
    world.sim.control.fail("network.quota.update", status=403, times=1)
    _decided(world, request, manager, operator)
    wait_state(request, RequestState.COMPLETED, RequestState.FAILED)
    assert request.state == RequestState.FAILED
    assert "set back" in request.failure_reason
    world.allocation.refresh_from_db()
    assert (world.allocation.instances, world.allocation.networks) == (10, networks)
    quota = cloud.quota_get(target(world))
    # The project holds the allocation's limits: Nova's, which had taken 30, was set back.
    assert (quota.instances.limit, quota.networks.limit) == (10, networks)


def test_a_lease_is_extended_after_both_decisions(live_world, deciders):
    world, (manager, operator) = live_world, deciders
    network = make_network(world)
    built = submit_server(world, network, name="lab")
    approve(world, built)
    wait_state(built, RequestState.COMPLETED)
    server = Server.objects.get(origin_request=built)
    ends = timezone.now() + timedelta(days=2)
    Server.objects.filter(pk=server.pk).update(lease_end=ends, lease_warned_at=timezone.now())
    server.refresh_from_db()

    later = ends + timedelta(days=30)
    request = services.request_submit(
        user=world.requester, kind=Kind.LEASE_EXTEND, target=server,
        spec={"lease_end": later.isoformat()}, justification=WHY,
    )  # fmt: skip
    _decided(world, request, manager, operator)
    wait_state(request, RequestState.COMPLETED, RequestState.FAILED)
    assert request.state == RequestState.COMPLETED, request.failure_reason
    server.refresh_from_db()
    assert server.lease_end == later and server.lease_warned_at is None  # warned again later
    assert AuditEvent.objects.filter(action="server.lease_extend").count() == 1
