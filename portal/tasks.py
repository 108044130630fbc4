"""Periodic housekeeping of the portal package."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from portal.audit import audit_checkpoint, audit_seal
from portal.idempotency import purge_expired


@shared_task(ignore_result=True)
def periodic_purge_idempotency_keys() -> int:
    """Idempotency keys live 24 hours; their rows are removed here, not left to pile up."""
    return purge_expired()


@shared_task(ignore_result=True)
def periodic_audit_seal() -> int:
    """Seal the audit events the on-commit sealer missed (it failed, or another sealer ran)."""
    return audit_seal()


@shared_task(ignore_result=True)
def periodic_audit_checkpoint() -> int | None:
    """Write the sealed head to the checkpoint sink, so truncation and rewrites show later."""
    checkpoint = audit_checkpoint()
    return checkpoint.seq if checkpoint is not None else None


@shared_task(bind=True, ignore_result=True)
def periodic_heartbeat(self) -> None:
    """Beat sent it and a worker runs it: both are alive (``portal.health``)."""
    from portal.health import heartbeat_record

    heartbeat_record(hostname=self.request.hostname or "")


@shared_task(ignore_result=True)
def periodic_relay_outbox() -> int:
    """Publish the outbox rows the after-commit relay could not (the broker was down)."""
    from portal.outbox import relay_due

    return relay_due()


@shared_task(ignore_result=True)
def periodic_directory_sync() -> dict[str, str] | None:
    """Re-map every directory account's groups and remove those the directory lost; once at a
    time across the workers. A source that cannot answer is skipped until the next run."""
    from portal.singleflight import single_flight
    from portal.sso.sync import directory_sync

    with single_flight("directory-sync") as mine:
        return directory_sync() if mine else None


@worker_ready.connect
def _relay_left_over_work(**kwargs: object) -> None:
    """A worker starting (after an outage, a deploy) publishes whatever waited in the outbox."""
    from portal.outbox import relay_due

    try:
        relay_due(older_than=0)
    except Exception as err:  # beat's periodic relay tries again
        logging.getLogger(__name__).warning("outbox relay at worker start failed: %s", err)
