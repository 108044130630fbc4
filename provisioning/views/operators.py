"""The operators' page: orphans, drift, stuck and failed requests, with re-drive and retry.

Only operators reach it; everyone else gets the same 404 as for a page that does not exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from portal.audit import sealing_lag
from portal.outbox import outbox_lag
from portal.views import ClassifiedPageMixin
from provisioning.models import Orphan, RequestState
from provisioning.selectors import requests_stuck, requests_visible_to, servers_visible_to
from provisioning.services import RequestNotAllowed, request_retry
from provisioning.services.operations import request_redrive
from tenants.access import is_operator

#: A live server the reconciler has not seen for this long has drifted from the cloud's view.
DRIFT_AFTER = timedelta(minutes=10)
#: Failed requests shown: the recent ones, newest first.
FAILED_WINDOW = timedelta(days=7)
ROWS_PER_SECTION = 50


class OperatorOnlyMixin(LoginRequiredMixin):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not is_operator(request.user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class OperatorOverviewView(OperatorOnlyMixin, ClassifiedPageMixin, TemplateView):
    template_name = "provisioning/operator_overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user, now = self.request.user, timezone.now()
        drift_cutoff = now - DRIFT_AFTER
        requests = requests_visible_to(user)
        kwargs["outbox_waiting"], kwargs["outbox_age"] = outbox_lag()
        kwargs.update(
            orphans=list(
                Orphan.objects.restrict(user)
                .filter(resolved_at__isnull=True)
                .select_related("region__site", "region__domain")[:ROWS_PER_SECTION]
            ),
            drift=list(
                servers_visible_to(user)
                .live()
                .filter(
                    Q(last_seen_at__lt=drift_cutoff)
                    | Q(last_seen_at__isnull=True, created_at__lt=drift_cutoff)
                )
                .order_by("last_seen_at")[:ROWS_PER_SECTION]
            ),
            stuck=list(requests_stuck(user)[:ROWS_PER_SECTION]),
            failed=list(
                requests.filter(
                    state=RequestState.FAILED, state_changed_at__gte=now - FAILED_WINDOW
                ).order_by("-state_changed_at")[:ROWS_PER_SECTION]
            ),
            drift_minutes=int(DRIFT_AFTER.total_seconds() // 60),
            sealing=sealing_lag(),
            failed_days=FAILED_WINDOW.days,
        )
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]) -> set:
        domains = {o.region.domain for o in context["orphans"]}
        for row in (*context["drift"], *context["stuck"], *context["failed"]):
            domains.add(row.allocation.region.domain)
        return domains


class OperatorRequestActionView(OperatorOnlyMixin, View):
    """Re-drive a stuck request or retry a failed one, then back to the overview."""

    http_method_names = ["post"]
    actions = {"redrive": request_redrive, "retry": request_retry}

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in self.actions:
            raise Http404
        target = get_object_or_404(requests_visible_to(request.user), pk=pk)
        try:
            self.actions[action](user=request.user, request=target)
        except (ValidationError, RequestNotAllowed) as err:
            for text in getattr(err, "messages", [str(err)]):
                messages.error(
                    request,
                    _("Request #%(request)s: %(error)s") % {"request": target.pk, "error": text},
                )
        else:
            if action == "redrive":
                done = _("Request #%(request)s re-driven.")
            else:
                done = _("Request #%(request)s sent back to provisioning.")
            messages.success(request, done % {"request": target.pk})
        return redirect("operator-overview")


urlpatterns = [
    path("operations/", OperatorOverviewView.as_view(), name="operator-overview"),
    path(
        "operations/requests/<int:pk>/<slug:action>/",
        OperatorRequestActionView.as_view(),
        name="operator-request-action",
    ),
]
