"""The audit log: one append-only, hash-chained row per decision or state change in the portal.

Rows are inserted only by ``portal.audit.audit_record``/``audit_record_many`` (unsealed) and
chained once by ``portal.audit.audit_seal``, which is the only writer of the chain columns and of
``AuditChainHead``; nothing else changes them through the ORM. Raw SQL can still change them;
``portal.audit.verify_chain`` and ``verify_checkpoint`` are what detect that.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
    """Reads filter through the access layer; bulk writes that would bypass the chain refuse.

    The two private methods below are the only write paths besides ``AuditEvent.save()``: the
    append of many unsealed events and the sealer's update of the chain columns.
    """

    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("QuerySet.update()")

    def delete(self) -> NoReturn:
        raise AuditLogIsAppendOnly("QuerySet.delete()")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("bulk_update()")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        # Rows created in bulk would not be chained; audit_record() is the only way in.
        raise AuditLogIsAppendOnly("bulk_create()")

    def _append_many(self, events: list[AuditEvent]) -> list[AuditEvent]:
        """Insert unsealed events in one statement; for ``portal.audit.audit_record_many``."""
        if any(event.seq is not None or event.hash is not None for event in events):
            raise AuditLogIsAppendOnly("appending sealed events")
        return super().bulk_create(events)

    def _seal(self, events: list[AuditEvent]) -> None:
        """Write the chain columns of events still unsealed; for ``portal.audit.audit_seal``.

        One executemany per batch (psycopg sends it as one pipeline). ``seq IS NULL`` keeps it
        from ever rewriting a sealed event: an event sealed already is an error, not a no-op.
        """
        connection = connections[self.db]
        meta = AuditEvent._meta
        columns = ("seq", "prev_hash", "hash", "sealed_at")
        fields = [meta.get_field(name) for name in columns]
        table = connection.ops.quote_name(meta.db_table)
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
        rows = [
            [field.get_db_prep_value(getattr(e, field.attname), connection) for field in fields]
            + [e.pk]
            for e in events
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = %s AND seq IS NULL",  # noqa: S608
                rows,
            )
            if cursor.rowcount != len(rows):
                raise AuditLogIsAppendOnly(
                    f"sealing {len(rows)} events of which only {cursor.rowcount} were unsealed"
                )


class AuditEvent(models.Model):
    """Who did what to which object, when, with the state before and after.

    The foreign keys (actor, tenant, region) serve queries and the access layer and are set to
    NULL when their target is deleted. The ``recorded_*_id`` copies never change: they are what
    the hash covers, so a deleted user or tenant does not break the chain, while a foreign key
    pointed anywhere else than its recorded value is detected as tampering.
    """

    # Insertion order only: the chain order is ``seq``, given when the event is sealed, and the
    # two differ when a transaction that took an id early commits late.
    id = models.BigAutoField(primary_key=True)
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
    # NULL until sealed. Unique: the database itself refuses two events chained onto the same
    # predecessor, or two events at one place in the chain (NULLs never collide).
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    hash = models.CharField(max_length=64, null=True, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()
    # An event without a tenant or region is visible to operators and auditors only.
    access_paths = AccessPaths(tenant="tenant", site="region__site", domain="region__domain")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # What the sealer reads: the unsealed events by id, few whatever the log's size.
            models.Index(fields=["id"], name="audit_unsealed_idx", condition=Q(seq__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.action} {self.object_type}:{self.object_id} by {self.actor_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly(f"changing audit event #{self.pk}")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly(f"deleting audit event #{self.pk}")


class AuditChainHead(models.Model):
    """The one row saying where the sealed chain ends: its last seq, hash and event.

    Its row lock makes the sealer single-flight, and it is updated in the same transaction as
    the events it seals, so removing the newest sealed events shows as a head pointing past
    them, unless the head is rolled back too, which only a checkpoint outside the database sees.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    event_id = models.BigIntegerField(null=True, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return f"audit chain head: seq {self.seq}, event #{self.event_id}"


RATE = re.compile(r"^[1-9]\d{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)$")


def validate_rate(value: str) -> None:
    """A rate as the API's throttles read it: a number of requests per second, minute, hour or
    day, e.g. ``30000/min``."""
    if value and not RATE.match(value):
        raise ValidationError(_("Give a rate as requests per period, e.g. 30000/min or 500/s."))


class ApiToken(models.Model):
    """A personal API token: the secret is shown once at creation and only its hash is kept.

    Tokens are revoked (``revoked_at`` set), never deleted, so the audit log and the owner's
    list still say which token did what.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(
        max_length=100, help_text=gettext_lazy("What the token is for, e.g. 'ci-pipeline'.")
    )
    prefix = models.CharField(
        max_length=16,
        db_index=True,
        help_text=gettext_lazy("The start of the secret, to tell tokens apart."),
    )
    key_hash = models.CharField(
        max_length=64, unique=True, help_text=gettext_lazy("sha256 of the secret.")
    )
    read_only = models.BooleanField(
        default=False, help_text=gettext_lazy("Only GET, HEAD and OPTIONS.")
    )
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text=gettext_lazy(
            "Requests this token may make, e.g. 30000/min, counted apart from its owner's "
            "other calls; empty: the owner's (PORTAL_API_RATE_USER). Set by operators, for "
            "automation accounts."
        ),
    )
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
    fingerprint = models.CharField(
        max_length=64, help_text=gettext_lazy("sha256 of method, path and body.")
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in progress'})"


class OutboxMessage(models.Model):
    """A task to run, written in the transaction of the change that calls for it.

    ``portal.outbox`` publishes it to the broker after the commit and deletes it; a row still
    here is work the broker has not been given yet (it was down, or the process died between
    commit and publish), which the periodic relay sends.
    """

    id = models.BigAutoField(primary_key=True)
    task = models.CharField(
        max_length=200, help_text=gettext_lazy("The Celery task's registered name.")
    )
    request_id = models.CharField(
        max_length=64,
        blank=True,
        db_default="",
        help_text=gettext_lazy("The id of the work that asked for it, which the task carries."),
    )
    args = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(db_index=True)
    not_before = models.DateTimeField(
        help_text=gettext_lazy("Run no earlier than this (a countdown).")
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class SshKey(models.Model):
    """A public SSH key a user keeps in their profile, injected into the servers they request.

    Only public keys are kept. The SHA256 fingerprint (as ``ssh-keygen -l`` prints it) tells
    keys apart; a user holds each key once, under a name of their choosing. Removing a key
    from the profile changes no server already built with it.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssh_keys"
    )
    name = models.CharField(
        max_length=100, help_text=gettext_lazy("How the key is shown, e.g. 'laptop'.")
    )
    key_type = models.CharField(max_length=40, help_text=gettext_lazy("e.g. ssh-ed25519, ssh-rsa."))
    bits = models.PositiveIntegerField(help_text=gettext_lazy("The key's size in bits."))
    fingerprint = models.CharField(
        max_length=60, help_text=gettext_lazy("SHA256:… as ssh-keygen -l shows.")
    )
    public_key = models.TextField(help_text=gettext_lazy("One line: type, key, optional comment."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = gettext_lazy("SSH key")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                name="sshkey_name_unique_per_owner",
                violation_error_message=gettext_lazy("You already have a key with this name."),
            ),
            models.UniqueConstraint(
                fields=["owner", "fingerprint"],
                name="sshkey_once_per_owner",
                violation_error_message=gettext_lazy("You already have this key."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.fingerprint})"


class SignInFailures(models.Model):
    """Failed sign-ins counted per user name and per client address, for the lockout.

    In the database, not in a process's cache: every web process (and the admin, and the token
    endpoint) must see the same count, or a guesser spread over processes gets each one's limit.
    """

    key = models.CharField(
        max_length=200, unique=True, help_text=gettext_lazy("user:<name> or addr:<ip>")
    )
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = gettext_lazy("sign-in failures")

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"


def validate_time_zone(value: str) -> None:
    from portal.preferences import time_zone_names

    if value not in time_zone_names():
        raise ValidationError(f"{value!r} is not a time zone; pick one from the list.")


class Preferences(models.Model):
    """How a person wants the portal shown to them: the time zone of every date and time, and
    the language of the pages and of the e-mails written to them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    time_zone = models.CharField(
        max_length=64,
        default="Europe/Brussels",
        validators=[validate_time_zone],
        help_text="Dates and times on the pages are shown in this zone (the API answers in UTC).",
    )
    language = models.CharField(
        max_length=16,
        blank=True,
        choices=settings.LANGUAGES,
        help_text="The language of the pages and e-mails; empty follows the browser.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone}"


class Heartbeat(models.Model):
    """The last time a background process showed it works: the scheduled heartbeat task, sent
    by beat and run by a worker, writes ``name="schedule"`` (``portal.tasks.periodic_heartbeat``).
    Read by ``/readyz`` and ``manage.py health``."""

    name = models.CharField(max_length=50, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
