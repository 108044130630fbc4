"""Periodic housekeeping of the portal package."""

from celery import shared_task

from portal.idempotency import purge_expired


@shared_task(ignore_result=True)
def periodic_purge_idempotency_keys() -> int:
    """Idempotency keys live 24 hours; their rows are removed here, not left to pile up."""
    return purge_expired()
