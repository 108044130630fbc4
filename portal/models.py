"""The audit log: one append-only, hash-chained row per decision or state change in the portal.

Rows are written only by ``portal.audit.audit_record`` (which chains them) and are never changed
through the ORM afterwards. Raw SQL can still change them; ``portal.audit.verify_chain`` is what
detects that.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from tenants.access import AccessPaths, RestrictedQuerySet

GENESIS_HASH = "0" * 64


class AuditLogIsAppendOnly(Exception):
    """Raised on any attempt to change or remove audit events through the ORM."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"Audit events are append-only: {what} is refused. "
            "Record a new event with portal.audit.audit_record() instead."
        )


class AuditEventQuerySet(RestrictedQuerySet):
    """Reads filter through the access layer; bulk writes that would bypass the chain refuse."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("QuerySet.update()")

    def delete(self) -> NoReturn:
        raise AuditLogIsAppendOnly("QuerySet.delete()")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("bulk_update()")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        # Rows created in bulk would not be chained; audit_record() is the only way in.
        raise AuditLogIsAppendOnly("bulk_create()")


class AuditEvent(models.Model):
    """Who did what to which object, when, with the state before and after.

    The foreign keys (actor, tenant, region) serve queries and the access layer and are set to
    NULL when their target is deleted. The ``recorded_*_id`` copies never change: they are what
    the hash covers, so a deleted user or tenant does not break the chain, while a foreign key
    pointed anywhere else than its recorded value is detected as tampering.
    """

    id = models.BigAutoField(primary_key=True)  # the chain order
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_tenant_id = models.BigIntegerField(null=True, blank=True)
    region = models.ForeignKey(
        "tenants.CloudRegion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_region_id = models.BigIntegerField(null=True, blank=True)
    # Unique: the database itself refuses two events chained onto the same predecessor.
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()
    # An event without a tenant or region is visible to operators and auditors only.
    access_paths = AccessPaths(tenant="tenant", site="region__site", domain="region__domain")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"#{self.id} {self.action} {self.object_type}:{self.object_id} by {self.actor_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly(f"changing audit event #{self.pk}")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly(f"deleting audit event #{self.pk}")


class ApiToken(models.Model):
    """A personal API token: the secret is shown once at creation and only its hash is kept.

    Tokens are revoked (``revoked_at`` set), never deleted, so the audit log and the owner's
    list still say which token did what.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'ci-pipeline'.")
    prefix = models.CharField(
        max_length=16, db_index=True, help_text="The start of the secret, to tell tokens apart."
    )
    key_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the secret.")
    read_only = models.BooleanField(default=False, help_text="Only GET, HEAD and OPTIONS.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed to its retries.

    One row per (user, key): the unique constraint is what makes a concurrent duplicate wait
    for the first request's transaction and then replay its answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in progress'})"
