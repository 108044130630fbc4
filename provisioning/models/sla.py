"""One SLA fact per request: its moments and durations, kept as its transitions happen."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from provisioning.models.requests import Kind, RequestState, ResourceRequest
from tenants.access import RestrictedQuerySet
from tenants.models import Allocation, SecurityDomain, Site, Tenant


class SlaFact(models.Model):
    """What the SLA report reads instead of the timeline: one narrow row per request.

    Written by ``provisioning.services.transitions`` in the transaction that moves the request
    (so it can never disagree with the timeline), rebuilt from the timeline by
    ``provisioning.sla_facts``. Tenant, site and domain are copied from the allocation so the
    report groups without joins. Breaches are not stored: the targets can change (a domain's SLA
    edited), so they are decided when the report is read, from the durations kept here.
    """

    request = models.OneToOneField(
        ResourceRequest, primary_key=True, on_delete=models.CASCADE, related_name="sla_fact"
    )
    allocation = models.ForeignKey(
        Allocation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+", db_index=False)
    domain = models.ForeignKey(
        SecurityDomain, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    state = models.CharField(max_length=30, choices=RequestState.choices)
    created_at = models.DateTimeField(help_text=_("The request's: what a report's period counts."))
    submitted_at = models.DateTimeField(null=True, help_text=_("First submission."))
    decided_at = models.DateTimeField(null=True, help_text=_("First decision."))
    approved_at = models.DateTimeField(null=True, help_text=_("First approval."))
    completed_at = models.DateTimeField(null=True, help_text=_("Completion (after any retries)."))
    decision_seconds = models.FloatField(null=True, help_text=_("Submitted to first decision."))
    build_seconds = models.FloatField(null=True, help_text=_("First approval to completion."))
    # Where the domain's targets count working time (``provisioning.working_time``): the same
    # durations in working time, and the calendar's meter when each wait began, so a wait still
    # running is measured in SQL (the meter now, less the reading kept).
    decision_working_seconds = models.FloatField(null=True)
    build_working_seconds = models.FloatField(null=True)
    submitted_clock = models.FloatField(null=True)
    approved_clock = models.FloatField(null=True)

    objects = RestrictedQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("allocation")

    class Meta:
        indexes = [
            # The period of everything (operators, auditors) and of a few allocations (members).
            models.Index(fields=["created_at"], name="slafact_period_idx"),
            models.Index(fields=["allocation", "created_at"], name="slafact_alloc_period_idx"),
            # Per group and kind, the period's range: one aggregate each, no sort by group.
            models.Index(fields=["domain", "kind", "created_at"], name="slafact_domain_idx"),
            models.Index(fields=["site", "kind", "created_at"], name="slafact_site_idx"),
            models.Index(fields=["tenant", "kind", "created_at"], name="slafact_tenant_idx"),
            # The most overdue first, for a reader of every fact (provisioning.sla._late_first):
            # per domain, the longest finished waits, and the waits still open.
            models.Index(
                fields=["domain", "decision_seconds"], name="slafact_decision_took_idx",
                condition=models.Q(decision_seconds__isnull=False),
            ),
            models.Index(
                fields=["domain", "build_seconds"], name="slafact_build_took_idx",
                condition=models.Q(build_seconds__isnull=False),
            ),
            models.Index(fields=["domain", "decided_at"], name="slafact_decision_open_idx"),
            models.Index(
                fields=["domain", "completed_at"], name="slafact_build_open_idx",
                condition=models.Q(approved_at__isnull=False),
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return gettext("SLA of #%(request)s") % {"request": self.request_id}


class MonthlyReport(models.Model):
    """The contract's monthly SLA report as sent: its PDF kept, and when it went out.

    One row per month: made by the scheduled job on the 1st (or by hand,
    ``manage.py monthly_report``), so the job running twice sends it once.
    """

    month = models.CharField(max_length=7, unique=True, help_text=_("YYYY-MM"))
    pdf = models.BinaryField()
    recipients = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: A run making and sending it holds it from then (``provisioning.monthly``), no lock kept.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"SLA report {self.month}"
