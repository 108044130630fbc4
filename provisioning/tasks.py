"""Celery entry points, kept thin: load by id, call a step or service, re-schedule, done.

Every task is idempotent (see provisioning.steps), which is what makes ``acks_late`` and
``reject_on_worker_lost`` safe. Tasks never block waiting for the cloud: they re-schedule
themselves with a countdown far below the broker's visibility timeout.
"""

from __future__ import annotations

import logging

from celery import shared_task

from provisioning import notifications, reconcile, steps
from provisioning.cloud.base import CloudPermanentError, CloudTransientError

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def advance_request(request_id: int, polls: int = 0) -> None:
    """Move a request on; if it is still building, look again later."""
    delay = steps.advance(request_id, polls=polls)
    if delay is not None:
        advance_request.apply_async((request_id, polls + 1), countdown=delay)


@shared_task(ignore_result=True)
def notify(kind: str, object_id: int) -> None:
    notifications.send(kind, object_id)


@shared_task(ignore_result=True)
def periodic_reconcile() -> None:
    """Fan out: one reconcile task per enabled region, so regions proceed independently."""
    for region_id in reconcile.regions_to_reconcile():
        periodic_reconcile_region.delay(region_id)


@shared_task(ignore_result=True)
def periodic_reconcile_region(region_id: int) -> None:
    reconcile.reconcile_region(region_id)
    for request_id in reconcile.stuck_requests(region_id):
        advance_request.delay(request_id)


@shared_task(ignore_result=True)
def periodic_leases() -> None:
    reconcile.leases_run()


@shared_task(ignore_result=True)
def periodic_sync_catalog() -> None:
    for region_id in reconcile.regions_to_reconcile():
        sync_catalog_region.delay(region_id)


@shared_task(ignore_result=True)
def sync_catalog_region(region_id: int) -> None:
    from provisioning.services.catalog import catalog_sync
    from tenants.models import CloudRegion

    catalog_sync(region=CloudRegion.objects.get(pk=region_id))


@shared_task(ignore_result=True, autoretry_for=(CloudTransientError,), retry_backoff=True,
             max_retries=8)  # fmt: skip
def sync_allocation(allocation_id: int) -> None:
    """Create or adopt the allocation's project and push its quotas to the cloud."""
    from provisioning.services.allocations import allocation_sync_cloud
    from tenants.models import Allocation

    allocation = Allocation.objects.select_related("tenant", "region").get(pk=allocation_id)
    try:
        allocation_sync_cloud(allocation=allocation)
    except CloudPermanentError as err:
        # Retrying cannot help; the refusal is in the audit log for operators.
        logger.error("Allocation %s: the cloud refused its quotas: %s", allocation_id, err)
