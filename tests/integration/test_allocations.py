"""Allocations drive the cloud: a project per allocation, with the allocation's quotas."""

from __future__ import annotations

import pytest

from provisioning import cloud
from provisioning.cloud import CloudTarget
from tenants import services as tenancy
from tenants.models import Allocation
from tests.factories import TenantFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def test_creating_and_changing_an_allocation_pushes_project_and_quotas(live_world):
    region = live_world.region
    admin = CloudTarget(cloud=region.cloud_name)
    allocation = tenancy.allocation_save(allocation=Allocation(
        tenant=TenantFactory(), region=region, project_name="it-quota-push",
        instances=7, vcpus=14, ram_mb=28_672, networks=3, routers=1, floating_ips=2,
    ))  # fmt: skip

    def synced():
        allocation.refresh_from_db()
        return allocation.project_id and cloud.quota_get(admin, allocation.project_id)

    quotas = wait_for(synced, timeout=30, what="the worker to create the project")
    wait_for(lambda: cloud.quota_get(admin, allocation.project_id).instances.limit == 7,
             timeout=30, what="the quotas to be pushed")  # fmt: skip
    quotas = cloud.quota_get(admin, allocation.project_id)
    assert (quotas.instances.limit, quotas.cores.limit, quotas.ram_mb.limit) == (7, 14, 28_672)
    assert (quotas.networks.limit, quotas.subnets.limit, quotas.routers.limit) == (3, 3, 1)

    allocation.vcpus = 30
    tenancy.allocation_save(allocation=allocation)
    wait_for(lambda: cloud.quota_get(admin, allocation.project_id).cores.limit == 30,
             timeout=30, what="the quota change to reach the cloud")  # fmt: skip


def test_an_existing_project_is_adopted_not_duplicated(live_world):
    region = live_world.region
    admin = CloudTarget(cloud=region.cloud_name)
    existing = cloud.project_find_or_create(admin, name="it-adopt-me")
    allocation = tenancy.allocation_save(allocation=Allocation(
        tenant=TenantFactory(), region=region, project_name="it-adopt-me"))  # fmt: skip

    def adopted():
        allocation.refresh_from_db()
        return allocation.project_id

    assert wait_for(adopted, timeout=30, what="the project to be adopted") == existing.id


def test_a_refused_quota_push_is_recorded_not_retried(live_world):
    from portal.models import AuditEvent
    from provisioning.services.allocations import allocation_sync_cloud

    world = live_world
    allocation_sync_cloud(allocation=world.allocation)
    target = CloudTarget(cloud=world.region.cloud_name, project_id=world.allocation.project_id)
    flavor = next(f for f in cloud.flavors_list(target) if f.name == "m1.tiny")
    image = next(i for i in cloud.images_list(target) if i.name == "cirros-0.6.2")
    cloud.server_find_or_create(target, tag=cloud.request_tag("outside.1.1"), name="outside",
                                flavor_id=flavor.id, image_id=image.id)  # fmt: skip
    Allocation.objects.filter(pk=world.allocation.pk).update(instances=0)  # behind the portal
    world.allocation.refresh_from_db()

    with pytest.raises(cloud.CloudPermanentError):
        allocation_sync_cloud(allocation=world.allocation)

    event = AuditEvent.objects.filter(action="allocation.quota_push_failed").get()
    assert event.after["limits"]["instances"] == 0
    assert event.after["reason"]
