"""Allocations drive the lab: saving one makes its project in Keystone and pushes its quotas to
Nova, Neutron and Cinder through the worker; a change follows.
"""

from __future__ import annotations

import uuid

import pytest

from provisioning import cloud
from tenants import services as tenancy
from tenants.models import Allocation
from tests.factories import TenantFactory
from tests.live import wait_for
from tests.openstack.conftest import project_clean_up

pytestmark = [pytest.mark.openstack, pytest.mark.queue, pytest.mark.django_db(transaction=True)]


def limits(quota) -> dict[str, int]:
    return {
        "instances": quota.instances.limit, "vcpus": quota.cores.limit,
        "ram_mb": quota.ram_mb.limit, "networks": quota.networks.limit,
        "subnets": quota.subnets.limit, "routers": quota.routers.limit,
        "floating_ips": quota.floating_ips.limit, "volumes": quota.volumes.limit,
        "gigabytes": quota.gigabytes.limit,
    }  # fmt: skip


def wanted(allocation) -> dict[str, int]:
    return {
        "instances": allocation.instances, "vcpus": allocation.vcpus,
        "ram_mb": allocation.ram_mb, "networks": allocation.networks,
        "subnets": allocation.networks, "routers": allocation.routers,
        "floating_ips": allocation.floating_ips, "volumes": allocation.volumes,
        "gigabytes": allocation.gigabytes,
    }  # fmt: skip


def test_allocation_quotas_reach_nova_neutron_and_cinder(lab_world):
    lab = lab_world.lab
    allocation = tenancy.allocation_save(allocation=Allocation(
        tenant=TenantFactory(), region=lab_world.region,
        project_name=f"portal-e2e-sync-{uuid.uuid4().hex[:8]}",
        instances=7, vcpus=14, ram_mb=28_672, networks=3, routers=1, floating_ips=2,
        volumes=4, gigabytes=60,
    ))  # fmt: skip

    def project_id():
        allocation.refresh_from_db()
        return allocation.project_id

    try:
        wait_for(project_id, timeout=60, what="the worker to create the project")
        wait_for(
            lambda: limits(cloud.quota_get(lab.admin, allocation.project_id))
            == wanted(allocation),
            timeout=60, what="the allocation's quotas in Nova, Neutron and Cinder",
        )  # fmt: skip

        allocation.vcpus, allocation.networks, allocation.gigabytes = 30, 4, 80
        tenancy.allocation_save(allocation=allocation)
        wait_for(
            lambda: limits(cloud.quota_get(lab.admin, allocation.project_id))
            == wanted(allocation),
            timeout=60, what="the quota change to reach the lab",
        )  # fmt: skip
        project = cloud.project_find_or_create(lab.admin, name=allocation.project_name)
        assert project.id == allocation.project_id
    finally:
        if project_id():
            project_clean_up(lab, allocation.project_id)
