"""Notifications sent, one row per event and recipient, so a redelivered task never mails twice."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext


class Notification(models.Model):
    """One message about one event to one recipient.

    ``event`` names what happened precisely enough that the same event always gives the same key
    (``request:12:decided:approved``, ``server:7:lease_ending:2026-12-01T10:00``): the unique
    constraint is what makes sending idempotent.
    """

    event = models.CharField(max_length=200)
    recipient = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], name="notification_once_per_event_recipient"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(event)s to %(recipient)s") % {
            "event": self.event,
            "recipient": self.recipient,
        }
