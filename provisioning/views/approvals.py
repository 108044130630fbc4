"""The approvals inbox: what waits for the user's decision, its quota impact, and the decisions.

Reads go through ``provisioning.selectors``; every decision is a service call
(``request_approve``, ``request_reject``, ``requests_bulk_approve``). A decision made with htmx
answers with the request's row only, so the inbox never reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import django_filters
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from portal.pagination import first_rows, page_for_people
from portal.views import ClassifiedPageMixin
from provisioning.filtersets import RequestFilterSet
from provisioning.listing import attach_allocations, without_places
from provisioning.models import RequestState, ResourceRequest, Stage
from provisioning.plans import attach_quota_impact
from provisioning.selectors import (
    allocation_choices,
    decidable_by,
    own_requests_awaiting_others,
    requests_awaiting,
    requests_visible_to,
)
from provisioning.services import (
    RequestNotAllowed,
    request_approve,
    request_reject,
    requests_bulk_approve,
)
from tenants.delegations import standing_in

ROW_TEMPLATE = "provisioning/approval_row.html"


class InboxFilterSet(RequestFilterSet):
    """The shared request filters plus the inbox's own: how long a request has been waiting."""

    older_than = django_filters.NumberFilter(
        method="filter_older_than",
        min_value=0,
        max_value=24 * 366 * 10,
        label=gettext_lazy("Waiting longer than (hours)"),
    )

    class Meta(RequestFilterSet.Meta):
        fields = [*RequestFilterSet.Meta.fields, "older_than"]

    def filter_older_than(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(created_at__lte=timezone.now() - timedelta(hours=float(value)))


def error_messages(err: Exception, *, whole: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """A service error as {field: messages}; errors about no field, and about the fields in
    ``whole`` (those that concern the whole form: a day-2 action's target), go under
    ``general``, shown above the form.

    (Templates cannot read ``__all__``: names starting with an underscore are private there.)
    """
    if isinstance(err, ValidationError) and hasattr(err, "error_dict"):
        errors = dict(err.message_dict)
    else:
        errors = {"__all__": list(getattr(err, "messages", None) or [str(err)])}
    for name in ("__all__", *whole):
        if name in errors:
            errors.setdefault("general", []).extend(errors.pop(name))
    return errors


class ApprovalInboxView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    template_name = "provisioning/approval_inbox.html"
    paginate_by = 20
    #: The user's own waiting requests shown below the inbox; more are a link to the requests
    #: list, so an account that files hundreds does not make its inbox page hundreds long.
    own_shown = 10

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        decidable = decidable_by(user) if user.is_authenticated else None
        # The cards' places are read for the page at once (provisioning.listing), not joined
        # into each row.
        awaiting = without_places(requests_awaiting(user, decidable), "requester")
        filterset = InboxFilterSet(self.request.GET or None, queryset=awaiting)
        rows = filterset.qs if filterset.is_bound and filterset.is_valid() else awaiting
        page = page_for_people(rows, self.request.GET.get("cursor"), self.paginate_by)
        own, own_more = first_rows(
            without_places(own_requests_awaiting_others(user, decidable), "requester"),
            self.own_shown,
        )
        attach_allocations([*page.rows, *own], user)
        covering = standing_in(user) if user.is_authenticated else {}
        for row in page.rows:
            if row.pending_stage == Stage.TENANT:
                row.standing_in_for = covering.get(row.allocation.tenant_id)
        kwargs.update(
            filterset=filterset,
            filtered=any(v for k, v in self.request.GET.items() if k not in ("page", "cursor")),
            choices=allocation_choices(user),
            rows=attach_quota_impact(page.rows),
            page_obj=page,
            is_paginated=page.has_other_pages,
            own_requests=own,
            own_requests_more=own_more,
        )
        kwargs.setdefault("bulk_results", None)
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]) -> set:
        shown = [*context["rows"], *context["own_requests"], *(context["bulk_results"] or ())]
        return {getattr(r, "request", r).allocation.region.domain for r in shown}


@dataclass
class BulkResult:
    request: ResourceRequest
    outcome: str

    @property
    def ok(self) -> bool:
        return self.outcome in ("approved", "advanced")


class ApprovalBulkView(ApprovalInboxView):
    """Approve the ticked requests with one comment; each answers on its own."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        ids = [int(v) for v in request.POST.getlist("requests") if v.isdigit()]
        chosen = list(requests_visible_to(request.user).filter(pk__in=ids).order_by("created_at"))
        outcomes = requests_bulk_approve(
            user=request.user, requests=chosen, comment=request.POST.get("comment", "")
        )
        results = [BulkResult(r, outcomes[r.pk]) for r in chosen]
        context = self.get_context_data(bulk_results=results, nothing_chosen=not ids)
        template = "provisioning/approval_inbox_body.html" if request.htmx else self.template_name
        return render(request, template, context)


class ApprovalDecideView(LoginRequiredMixin, View):
    """Approve or reject one request; htmx gets the row back, a plain form post a redirect."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = get_object_or_404(requests_visible_to(request.user), pk=pk)
        decision = request.POST.get("decision")
        comment = request.POST.get("comment", "")
        errors: dict[str, list[str]] = {}
        try:
            if decision == "approve":
                target = request_approve(user=request.user, request=target, comment=comment)
            elif decision == "reject":
                target = request_reject(user=request.user, request=target, comment=comment)
            else:
                errors = {"general": [_("Choose Approve or Reject.")]}
        except (ValidationError, RequestNotAllowed) as err:
            errors = error_messages(err)
        if not request.htmx:
            for messages_ in errors.values():
                for text in messages_:
                    messages.error(
                        request,
                        _("Request #%(request)s: %(error)s")
                        % {"request": target.pk, "error": text},
                    )
            if not errors:
                messages.success(request, _outcome_text(target, decision))
            return redirect("approval-inbox")
        if errors:
            target = attach_quota_impact([target])[0]
        context = {
            "r": target,
            "errors": errors,
            "comment": comment,
            "decided": not errors,
            "selectable": True,
            "outcome": _outcome_text(target, decision) if not errors else "",
        }
        return render(request, ROW_TEMPLATE, context)


def _outcome_text(request: ResourceRequest, decision: str | None) -> str:
    if decision == "reject":
        return _("Request #%(request)s rejected; the requester will read your comment.") % {
            "request": request.pk
        }
    if request.state == RequestState.PENDING_APPROVAL:
        stage = request.get_pending_stage_display().lower()
        return _("Request #%(request)s approved at your stage; it now waits for a %(stage)s.") % {
            "request": request.pk,
            "stage": stage,
        }
    return _("Request #%(request)s approved; it is being built.") % {"request": request.pk}


urlpatterns = [
    path("approvals/", ApprovalInboxView.as_view(), name="approval-inbox"),
    path("approvals/bulk/", ApprovalBulkView.as_view(), name="approval-bulk"),
    path("approvals/<int:pk>/decide/", ApprovalDecideView.as_view(), name="approval-decide"),
]
