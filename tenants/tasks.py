"""Celery entry points of the tenancy app, kept thin."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def periodic_delegations() -> None:
    """Delegations whose period began take effect; those that ended are taken back."""
    from tenants.delegations import delegations_apply

    delegations_apply()
