"""Approval policy per security domain (optionally per allocation) and the decisions taken."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.choices import ChoiceLabels
from provisioning.models.requests import ResourceRequest, Stage
from tenants.access import AccessPaths, RestrictedQuerySet
from tenants.models import Allocation, SecurityDomain


class ApprovalPolicy(models.Model):
    """How requests in a domain (or one allocation of it) are approved.

    Without a policy, a domain's requests need the tenant approver, then the security officer
    where the domain says so, and nothing is auto-approved.
    """

    domain = models.ForeignKey(
        SecurityDomain, on_delete=models.CASCADE, related_name="approval_policies"
    )
    allocation = models.OneToOneField(
        Allocation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="approval_policy",
        help_text=_("Leave empty for the domain-wide policy."),
    )
    security_officer_required = models.BooleanField(
        null=True, blank=True, help_text=_("Empty: as the security domain says.")
    )
    auto_approve = models.BooleanField(
        default=False,
        help_text=_("Approve new resources within the limits below without a person."),
    )
    auto_max_instances = models.PositiveIntegerField(default=1)
    auto_max_vcpus = models.PositiveIntegerField(default=2)
    auto_max_ram_mb = models.PositiveIntegerField(default=4096)
    auto_approve_power_actions = models.BooleanField(
        default=True, help_text=_("Start, stop and reboot need no approval.")
    )

    objects = RestrictedQuerySet.as_manager()
    access_paths = AccessPaths(domain="domain")

    class Meta:
        verbose_name_plural = _("approval policies")
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(allocation__isnull=True),
                name="policy_one_per_domain",
                violation_error_message=_("This security domain already has a domain-wide policy."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Policy for %(target)s") % {"target": self.allocation or self.domain}

    def clean(self) -> None:
        if self.allocation_id and self.allocation.region.domain_id != self.domain_id:
            raise ValidationError(
                {"allocation": gettext("The allocation must be in this policy's security domain.")}
            )
        if (
            self.domain_id
            and self.domain.requires_security_officer
            and (self.security_officer_required is False or self.auto_approve)
        ):
            raise ValidationError(
                gettext(
                    "%(domain)s requires a security officer's approval: a policy can neither "
                    "waive it nor auto-approve."
                )
                % {"domain": self.domain}
            )


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Approval(ChoiceLabels, models.Model):
    """One decision at one stage: who, when, and why."""

    request = models.ForeignKey(ResourceRequest, on_delete=models.CASCADE, related_name="approvals")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approvals",
        help_text=_("Empty when the policy decided (auto-approval)."),
    )
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField()

    objects = RestrictedQuerySet.as_manager()
    access_paths = Allocation.access_paths.via("request__allocation")

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "stage"], name="approval_one_per_stage"),
            models.CheckConstraint(
                condition=~models.Q(decision="rejected") | ~models.Q(comment=""),
                name="approval_rejection_has_comment",
                violation_error_message=_("A rejection needs a comment."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(decision)s at %(stage)s for #%(request)s") % {
            "decision": self.get_decision_display(),
            "stage": self.get_stage_display(),
            "request": self.request_id,
        }
