"""Pages for requests: list, detail with live status, the request forms with a plan step."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views import View

from portal.views import ClassifiedPageMixin
from provisioning import services
from provisioning.filtersets import RequestFilterSet
from provisioning.forms import (
    NetworkRequestForm,
    RequestForm,
    SecurityGroupRequestForm,
    ServerRequestForm,
    VolumeRequestForm,
)
from provisioning.models import IN_FLIGHT, Kind, RequestState, ResourceRequest
from provisioning.plans import Plan, plan_request, preview_needs, quota_impact
from provisioning.selectors import REQUEST_RELATED, requests_awaiting, requests_visible_to
from provisioning.services import QuotaExceeded
from provisioning.services.transitions import note_shown
from provisioning.views.details import PlacedDetailView
from provisioning.views.lists import FilteredListView
from tenants.access import Action, can, is_operator


class RequestListView(FilteredListView):
    """Every request the user may see: searched, filtered and sorted with the API's filters
    (``RequestFilterSet``), newest first, in keyset pages."""

    model = ResourceRequest
    queryset = ResourceRequest.objects.select_related(*REQUEST_RELATED)
    template_name = "provisioning/request_list.html"
    filterset_class = RequestFilterSet
    sort_fields = {
        "created": "created_at",
        "changed": "state_changed_at",
        "state": "state",
        "kind": "kind",
        "tenant": "allocation__tenant__name",
        "site": "allocation__region__site__name",
        "domain": "allocation__region__domain__level",
    }
    narrow_sorts = frozenset({"tenant", "site", "domain", "kind"})
    default_sort = "-created"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["choices"].update(states=RequestState.choices, kinds=Kind.choices)
        context["invalid"] = self.filterset.is_bound and not self.filterset.is_valid()
        return context


class RequestDetailView(PlacedDetailView):
    """A request, its timeline and what it built; the row is read with its requester."""

    model = ResourceRequest
    queryset = ResourceRequest.objects.select_related("requester")
    template_name = "provisioning/request_detail.html"

    def get_template_names(self) -> list[str]:
        # htmx polls the live part only; the rest of the page does not change.
        if self.request.htmx:
            return ["provisioning/_request_status.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs, **request_context(self.request.user, self.object))


def request_timeline(transitions, approvals) -> list[dict[str, Any]]:
    """State changes and every stage's decision, in the order they happened: a first stage's
    approval changes no state, yet is what the next approver and the auditor look for."""
    entries = [
        {"label": t.to_state_label, "at": t.at, "by": t.actor or _("the portal"),
         "trace_id": t.trace_id,
         "note": note_shown(t.note), "decision": False}
        for t in transitions
    ] + [
        {"label": _("%(stage)s: %(decision)s") % {"stage": a.get_stage_display(),
                                                   "decision": a.get_decision_display().lower()},
         "at": a.decided_at, "by": a.decided_by or _("policy"), "note": a.comment, "decision": True}
        for a in approvals
        if a.decided_at is not None
    ]  # fmt: skip
    # A decision comes before the state change it caused (same instant).
    return sorted(entries, key=lambda e: (e["at"], not e["decision"]))


def request_context(user, request: ResourceRequest) -> dict[str, Any]:
    """What the request page shows, and which buttons the user gets."""
    transitions = list(request.transitions.select_related("actor"))
    approvals = list(request.approvals.select_related("decided_by"))
    return {
        "transitions": transitions,
        "approvals": approvals,
        "timeline": request_timeline(transitions, approvals),
        "servers": request.built_servers.all(),
        "networks": request.built_networks.all(),
        "volumes": request.built_volumes.all(),
        "live": request.state in IN_FLIGHT,
        "can_retry": request.state == RequestState.FAILED
        and (request.requester_id == user.pk or can(user, Action.APPROVE, request)
             or is_operator(user)),
        "can_cancel": request.state in (RequestState.PENDING_APPROVAL, RequestState.APPROVED)
        and (request.requester_id == user.pk or can(user, Action.MANAGE, request)
             or is_operator(user)),
        "awaits_me": requests_awaiting(user).filter(pk=request.pk).exists(),
    }  # fmt: skip


class RequestActionView(LoginRequiredMixin, View):
    """POST-only buttons of the request page: cancel and retry."""

    action: str = ""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = get_object_or_404(requests_visible_to(request.user), pk=pk)
        try:
            if self.action == "retry":
                services.request_retry(user=request.user, request=target)
                messages.success(
                    request, _("Request #%(request)s is being provisioned again.") % {"request": pk}
                )
            else:
                services.request_cancel(user=request.user, request=target,
                                        reason=request.POST.get("reason", ""))  # fmt: skip
                messages.success(request, _("Request #%(request)s cancelled.") % {"request": pk})
        except (ValidationError, PermissionDenied) as err:
            messages.error(request, " ".join(getattr(err, "messages", [str(err)])))
        return redirect(target.get_absolute_url())


class RequestCreateView(LoginRequiredMixin, ClassifiedPageMixin, View):
    """Form -> plan (what will be built where, quota impact) -> submit.

    The plan page carries the form as hidden fields, so "Change" returns to a filled form and
    nothing typed is lost.
    """

    kind: Kind
    form_class: type[RequestForm]
    template_name = "provisioning/request_form.html"
    plan_template = "provisioning/request_plan.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = (
            {"allocation": request.GET.get("allocation")} if request.GET.get("allocation") else {}
        )
        form = self.form_class(user=request.user, initial=initial)
        return self.render_form(form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST, user=request.user)
        action = request.POST.get("action", "plan")
        if action in ("refresh", "edit"):
            # Allocation changed, or back from the plan: show what was typed, no errors yet.
            initial = _typed(request)
            for name, field in self.form_class.base_fields.items():
                if isinstance(field, forms.BooleanField):
                    initial.setdefault(name, False)  # an unticked box is simply absent
            return self.render_form(self.form_class(initial=initial, user=request.user))
        if not form.is_valid():
            return self.render_form(form)
        allocation = form.cleaned_data["allocation"]
        plan = plan_request(
            allocation=allocation, kind=self.kind, spec=form.spec(), requester=request.user
        )
        if plan.errors:
            for field, errors in plan.errors.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.render_form(form)
        if action == "submit" and plan.ok:
            try:
                created = services.request_submit(
                    user=request.user, kind=self.kind, allocation=allocation,
                    spec=form.spec(), justification=form.cleaned_data["justification"],
                )  # fmt: skip
            except QuotaExceeded as err:
                return self.render_plan(form, plan, error=err.messages[0])
            except ValidationError as err:
                for field, errors in err.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                return self.render_form(form)
            except PermissionDenied as err:
                form.add_error("allocation", str(err))
                return self.render_form(form)
            messages.success(
                request, _("Request #%(request)s submitted.") % {"request": created.pk}
            )
            return redirect(created.get_absolute_url())
        return self.render_plan(form, plan)

    def render_form(self, form: RequestForm) -> HttpResponse:
        allocations = list(form.fields["allocation"].queryset)
        context = {
            "form": form,
            "kind": self.kind,
            "no_allocations": not allocations,
            "page_domains": {a.region.domain for a in allocations},
            "preview_url": reverse(f"request-preview-{self.kind}"),
        }
        template = self.template_name
        if self.request.htmx and self.request.POST.get("action") == "refresh":
            template = "provisioning/_request_fields.html"
        return render(self.request, template, context)

    def render_plan(self, form: RequestForm, plan, error: str = "") -> HttpResponse:
        context = {
            "form": form,
            "kind": self.kind,
            "plan": plan,
            "error": error or (plan.over_quota[0].message if plan.over_quota else ""),
            "page_domains": [plan.allocation.region.domain],
        }
        return render(self.request, self.plan_template, context)


def _typed(request: HttpRequest) -> dict[str, Any]:
    """The POSTed values as a form's initial data (lists kept for multi-valued fields)."""
    return {
        key: values if len(values) > 1 or key in ("networks", "security_groups") else values[0]
        for key, values in request.POST.lists()
        if key not in ("csrfmiddlewaretoken", "action")
    }


class QuotaPreviewView(LoginRequiredMixin, View):
    """htmx: what the form as filled so far would use of what is left."""

    kind: Kind = Kind.SERVER
    form_class: type[RequestForm] = ServerRequestForm

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST, user=request.user)
        allocation = form.selected_allocation
        plan = None
        if allocation is not None:
            needs = preview_needs(allocation=allocation, kind=self.kind, data=request.POST.dict())
            plan = Plan(allocation=allocation, kind=self.kind,
                        impact=quota_impact(allocation, needs))  # fmt: skip
        return render(request, "provisioning/_quota_preview.html",
                      {"plan": plan, "allocation": allocation})  # fmt: skip


class ServerRequestCreateView(RequestCreateView):
    kind = Kind.SERVER
    form_class = ServerRequestForm


class NetworkRequestCreateView(RequestCreateView):
    kind = Kind.NETWORK
    form_class = NetworkRequestForm


class SecurityGroupRequestCreateView(RequestCreateView):
    kind = Kind.SECURITY_GROUP
    form_class = SecurityGroupRequestForm


class VolumeRequestCreateView(RequestCreateView):
    kind = Kind.VOLUME
    form_class = VolumeRequestForm


urlpatterns = [
    path("requests/", RequestListView.as_view(), name="request-list"),
    path("requests/new/server/", ServerRequestCreateView.as_view(), name="request-create-server"),
    path("requests/new/network/", NetworkRequestCreateView.as_view(),
         name="request-create-network"),
    path("requests/new/security-group/", SecurityGroupRequestCreateView.as_view(),
         name="request-create-security-group"),
    path("requests/new/security-group/preview/",
         QuotaPreviewView.as_view(kind=Kind.SECURITY_GROUP, form_class=SecurityGroupRequestForm),
         name="request-preview-security_group"),
    path("requests/new/volume/", VolumeRequestCreateView.as_view(),
         name="request-create-volume"),
    path("requests/new/volume/preview/",
         QuotaPreviewView.as_view(kind=Kind.VOLUME, form_class=VolumeRequestForm),
         name="request-preview-volume"),
    path("requests/new/server/preview/",
         QuotaPreviewView.as_view(kind=Kind.SERVER, form_class=ServerRequestForm),
         name="request-preview-server"),
    path("requests/new/network/preview/",
         QuotaPreviewView.as_view(kind=Kind.NETWORK, form_class=NetworkRequestForm),
         name="request-preview-network"),
    path("requests/<int:pk>/", RequestDetailView.as_view(), name="request-detail"),
    path("requests/<int:pk>/retry/", RequestActionView.as_view(action="retry"),
         name="request-retry"),
    path("requests/<int:pk>/cancel/", RequestActionView.as_view(action="cancel"),
         name="request-cancel"),
]  # fmt: skip
