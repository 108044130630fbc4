"""Changes to configuration no domain service owns: domains, sites, regions, tenants, approval
policies and offerings, as edited in the admin. Each is saved together with its audit event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models, transaction

from portal.audit import audit_record, audit_value

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def _field_values(obj: models.Model) -> dict[str, Any]:
    """The object's own columns (foreign keys as ids), as the audit log stores them; never the
    secrets a model names in ``AUDIT_EXCLUDE``."""
    excluded = getattr(obj, "AUDIT_EXCLUDE", ())
    return audit_value({
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in excluded
    })  # fmt: skip


def audited_save(*, obj: models.Model, actor: AbstractBaseUser | None) -> models.Model:
    """Save a piece of configuration (a domain, a site, a region, an approval policy...) and
    record which fields changed, from what to what.

    For objects no domain service owns: their changes (a domain no longer requiring a security
    officer, a policy auto-approving more) decide what later requests go through, so they are
    evidence too. Records nothing when nothing changed.
    """
    with transaction.atomic():
        stored = type(obj)._default_manager.filter(pk=obj.pk).first() if obj.pk else None
        before = _field_values(stored) if stored is not None else None
        obj.save()
        after = _field_values(obj)
        changed = sorted(k for k in after if before is None or before.get(k) != after[k])
        if changed:
            audit_record(
                actor=actor,
                action=f"{obj._meta.model_name}.{'create' if before is None else 'change'}",
                obj=obj,
                before=None if before is None else {k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
    return obj


def audited_delete(*, obj: models.Model, actor: AbstractBaseUser | None) -> None:
    """Delete a piece of configuration, keeping what it was in the audit log."""
    with transaction.atomic():
        audit_record(
            actor=actor, action=f"{obj._meta.model_name}.delete", obj=obj,
            before=_field_values(obj),
        )  # fmt: skip
        obj.delete()
