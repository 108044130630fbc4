"""Celery entry points, kept thin: load by id, call a step or service, done.

Every task is idempotent (see provisioning.steps and provisioning.services.work), which is what
makes ``acks_late`` and ``reject_on_worker_lost`` safe. Tasks never block waiting for the
cloud: a request's next poll is a new message with a countdown, sent through the outbox.
"""

from __future__ import annotations

import logging

from celery import shared_task

from portal.outbox import enqueue
from provisioning import notifications, reconcile, steps
from provisioning.cloud.base import CloudPermanentError, CloudTransientError

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def advance_request(request_id: int, token: int | None = None, polls: int = 0) -> None:
    """Move a request on, if this message is still the request's current one."""
    if token is None:
        return  # a message from before leases: the lease sweeper re-drives the request
    steps.advance(request_id, token, polls=polls)


@shared_task(ignore_result=True)
def notify(kind: str, object_id: int, event: str = "") -> None:
    notifications.send(kind, object_id, event=event)


@shared_task(ignore_result=True)
def periodic_reconcile() -> None:
    """Fan out: one reconcile task per enabled region, so regions proceed independently."""
    for region_id in reconcile.regions_to_reconcile():
        enqueue("provisioning.tasks.periodic_reconcile_region", region_id)


@shared_task(ignore_result=True)
def periodic_reconcile_region(region_id: int) -> None:
    reconcile.reconcile_region(region_id)


@shared_task(ignore_result=True)
def periodic_probe() -> None:
    """Fan out: one probe task per enabled region, so a cloud that stopped answering holds up
    only its own probe (each call bounded by PORTAL_PROBE_TIMEOUT), never the others'."""
    from django.utils import timezone

    from provisioning.services.availability import regions_to_probe

    due = timezone.now().isoformat()
    for region_id in regions_to_probe():
        enqueue("provisioning.tasks.probe_region", region_id, due=due)


@shared_task(ignore_result=True)
def probe_region(region_id: int, due: str | None = None) -> None:
    from django.utils.dateparse import parse_datetime

    from provisioning.services.availability import probe_region as run

    run(region_id, due=parse_datetime(due) if due else None)


@shared_task(ignore_result=True)
def periodic_deadlines() -> None:
    """Reminders and escalations of requests waiting for a decision."""
    from provisioning.services.deadlines import deadlines_sweep

    deadlines_sweep()


@shared_task(ignore_result=True)
def sla_clocks_refresh(domain_id: int | None = None, site_id: int | None = None) -> None:
    """The working-time figures of one domain's or site's requests again (its calendar was
    edited). Idempotent: it computes them from the facts' own moments."""
    from provisioning.models import SlaFact
    from provisioning.sla_facts import VACUUM_AFTER, clocks_refresh, clocks_vacuum

    facts = SlaFact.objects.all()
    if domain_id is not None:
        facts = facts.filter(domain_id=domain_id)
    if site_id is not None:
        facts = facts.filter(site_id=site_id)
    if clocks_refresh(facts) >= VACUUM_AFTER:
        clocks_vacuum()


@shared_task(ignore_result=True)
def periodic_showback() -> None:
    """Catch the usage spans up and compute each day that ended (idempotent; once at a time)."""
    from portal.singleflight import single_flight
    from provisioning.services.showback import showback_refresh

    with single_flight("showback") as mine:
        if mine:
            showback_refresh()


@shared_task(ignore_result=True)
def monthly_report() -> None:
    """The month before's SLA report as a PDF, mailed (on the 1st; sent once)."""
    from provisioning.monthly import monthly_report_send

    monthly_report_send()


@shared_task(ignore_result=True)
def periodic_demand_recheck() -> None:
    """The kept demand of the settled hours against the requests (corrects what bypassed the
    services; a no-op otherwise)."""
    from portal.singleflight import single_flight
    from provisioning import demand

    with single_flight("demand-recheck") as mine:
        if mine:
            demand.recheck()


@shared_task(ignore_result=True)
def periodic_purge_probes() -> None:
    from provisioning.services.availability import probe_checks_purge

    probe_checks_purge()


@shared_task(ignore_result=True)
def periodic_redrive_lapsed() -> None:
    """Requests whose lease lapsed (a dead worker, a lost message) get a new chain."""
    from provisioning.services.work import work_redrive_lapsed

    work_redrive_lapsed()


@shared_task(ignore_result=True)
def periodic_leases() -> None:
    reconcile.leases_run()


@shared_task(ignore_result=True)
def periodic_sync_catalog() -> None:
    for region_id in reconcile.regions_to_reconcile():
        enqueue("provisioning.tasks.sync_catalog_region", region_id)


@shared_task(ignore_result=True)
def sync_catalog_region(region_id: int) -> None:
    from provisioning.services.catalog import catalog_sync
    from tenants.models import CloudRegion

    catalog_sync(region=CloudRegion.objects.get(pk=region_id))


@shared_task(ignore_result=True, autoretry_for=(CloudTransientError,), retry_backoff=True,
             max_retries=8)  # fmt: skip
def allocation_project(allocation_id: int) -> None:
    """Create or adopt the allocation's OpenStack project (requests wait for it)."""
    from provisioning.services.allocations import allocation_ensure_project
    from tenants.models import Allocation

    allocation_ensure_project(
        Allocation.objects.select_related("tenant", "region").get(pk=allocation_id)
    )


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
