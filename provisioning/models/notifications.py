"""Notifications, one row per event and person: what the bell shows, and what was mailed, so a
redelivered task never mails twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext


class Notification(models.Model):
    """One message about one event to one person: in the portal (the bell) and, when they have
    an address, by e-mail.

    ``event`` names what happened precisely enough that the same event always gives the same key
    (``request:12:decided:approved``, ``server:7:lease_ending:2026-12-01T10:00``): the unique
    constraints are what make sending idempotent. ``subject`` is written in the person's language
    when it is sent, and shown as written. Rows from before the bell have no ``user``.
    """

    event = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    recipient = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"],
                condition=~Q(recipient=""),
                name="notification_once_per_event_recipient",
            ),
            models.UniqueConstraint(
                fields=["event", "user"], name="notification_once_per_event_user"
            ),
        ]
        indexes = [
            # The bell: a person's unread, newest first.
            models.Index(
                fields=["user", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_idx"),
        ]

    def __str__(self) -> str:
        return gettext("%(event)s to %(recipient)s") % {
            "event": self.event,
            "recipient": self.recipient,
        }
