"""Periodic housekeeping of the portal package."""

from celery import shared_task

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
