"""Shared web machinery: access-filtered generic views, the classification banner, the dashboard.

Page views are configuration on top of these classes (NetBox's shape): a ``queryset`` whose model
declares ``access_paths``, and a path to each row's security domain for the banner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView

from portal.pagination import first_rows, ordered_to_the_row, page_for_people
from tenants.access import Action, anchor_check, is_auditor, is_operator
from tenants.models import SecurityDomain
from tenants.selectors import dashboard_allocations, memberships_of


class ClassifiedPageMixin:
    """Collects the security domains whose data a page shows, for the classification banner."""

    def get_page_domains(self, context: dict[str, Any]) -> Iterable[SecurityDomain]:
        return ()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["page_domains"] = [d for d in self.get_page_domains(context) if d is not None]
        return context


def _follow(obj: Any, path: str | None) -> Any:
    if path is None:
        return None
    for part in filter(None, path.split("__")):
        obj = getattr(obj, part)
    return obj


class RestrictedMixin(LoginRequiredMixin, ClassifiedPageMixin):
    """Narrows the view's queryset with the access layer; objects out of reach answer 404."""

    access_action = Action.VIEW
    #: True only inside ``RestrictedDetailView.get_object`` while it fetches a row it checks.
    _row_checked_after_fetch = False

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if self._row_checked_after_fetch:
            return queryset
        return queryset.restrict(self.request.user, self.access_action)

    @classmethod
    def domain_path(cls, model: type) -> str | None:
        return model.access_paths.domain


class KeysetPageMixin:
    """Pages of a list by keyset cursor (``?cursor=``), with a bounded count of the whole list.

    ``page_obj`` is a ``portal.pagination.KeysetPage``; ``provisioning/_pager.html`` draws its
    links. A cursor that does not fit the list (an edited URL, a sort changed under it) shows
    the first page instead of an error.
    """

    def paginate_queryset(self, queryset: QuerySet, page_size: int):
        queryset = ordered_to_the_row(queryset)
        cursor = self.request.GET.get("cursor")
        page = page_for_people(queryset, cursor, page_size, count=getattr(self, "count", None))
        return None, page, page.rows, page.has_other_pages


class RestrictedListView(RestrictedMixin, KeysetPageMixin, ListView):
    paginate_by = 50

    def get_page_domains(self, context: dict[str, Any]) -> Iterable[SecurityDomain]:
        path = self.domain_path(self.model or self.get_queryset().model)
        return {_follow(obj, path) for obj in context["object_list"]} if path is not None else ()


class RestrictedDetailView(RestrictedMixin, DetailView):
    def get_object(self, queryset: QuerySet | None = None) -> Any:
        """The object named in the URL, if the user may see it (else 404, the same answer as
        for a key that names nothing). A row under an allocation is fetched by its key and its
        allocation checked against the user's remembered ones (``tenants.access.anchor_check``),
        as the API's details are: the same rule as ``restrict()``, without compiling the user's
        allocation ids into a one-row statement."""
        model = self.queryset.model if self.queryset is not None else self.model
        check = None
        if queryset is None and model is not None:
            check = anchor_check(model, self.request.user, self.access_action)
        if check is None:
            return super().get_object(queryset)
        self._row_checked_after_fetch = True
        try:
            obj = super().get_object()
        finally:
            self._row_checked_after_fetch = False
        if not check(obj):
            raise Http404(
                _("No %(verbose_name)s found matching the query")
                % {"verbose_name": model._meta.verbose_name}
            )
        return obj

    def get_page_domains(self, context: dict[str, Any]) -> Iterable[SecurityDomain]:
        path = self.domain_path(type(self.object))
        return (_follow(self.object, path),) if path is not None else ()


#: The dashboard's demand trend: new requests in the last week against the week before.
TREND_DAYS = 7


class DashboardView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    """A summary of bounded size and cost, whatever the number of allocations a user sees:
    totals per site and security domain, the allocations closest to their quota, the user's
    recent requests (live), decisions waiting, and alerts."""

    template_name = "portal/dashboard.html"
    #: Waiting decisions are counted up to this many ("100+"), so the count stays cheap.
    awaiting_cap = 100
    memberships_shown = 24

    def get_template_names(self) -> list[str]:
        if self.request.htmx:
            return ["portal/_dashboard_requests.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from provisioning import selectors
        from provisioning.listing import attach_allocations, without_places

        user = self.request.user
        kwargs["recent_requests"] = list(
            without_places(selectors.recent_requests_of(user), "requester")
        )
        if not self.request.htmx:
            kwargs["allocations"] = dashboard_allocations(user)
            if kwargs["allocations"].regions:
                trends = selectors.request_trend_by_region(user, days=TREND_DAYS)
                for totals in kwargs["allocations"].regions:
                    totals.trend = trends.get(totals.region.pk, selectors.Trend())
                kwargs["trend_days"] = TREND_DAYS
            kwargs["memberships"], kwargs["more_memberships"] = first_rows(
                memberships_of(user), self.memberships_shown
            )
            kwargs["awaiting"], kwargs["awaiting_count"] = selectors.requests_awaiting_first(
                user, first=5, cap=self.awaiting_cap
            )
            kwargs["awaiting_cap"] = self.awaiting_cap
            kwargs["may_request"] = not is_auditor(user) or is_operator(user)
            kwargs["failed_requests"] = list(
                without_places(selectors.recent_failures_of(user), "requester")
            )
            kwargs["leases_ending"] = list(without_places(selectors.leases_ending_for(user)))
        # Their places once for all the lists: joined into each list's statement, they made
        # four seven-table joins that PostgreSQL planned again at every view.
        lists = ("recent_requests", "awaiting", "failed_requests", "leases_ending")
        attach_allocations([row for key in lists for row in kwargs.get(key, ())], user)
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]) -> Iterable[SecurityDomain]:
        domains = {r.allocation.region.domain for r in context["recent_requests"]}
        if "allocations" in context:
            domains.update(context["allocations"].domains)
        for key in ("awaiting", "failed_requests"):
            domains.update(r.allocation.region.domain for r in context.get(key, ()))
        domains.update(s.allocation.region.domain for s in context.get("leases_ending", ()))
        return domains


def markings_stylesheet(request: HttpRequest) -> HttpResponse:
    """Each security domain's banner colours as a class, ``.marking-<id>``.

    The banner and the badges take their colours from here rather than from ``style``
    attributes, which the Content-Security-Policy forbids. Ids and colours only: nothing here
    names a domain, so anyone may load it (the sign-in page is marked too).
    """
    from portal.templatetags.portal_tags import UNMARKED

    lines = [
        f".marking-unmarked {{ background: {UNMARKED['colour']}; "
        f"color: {UNMARKED['text_colour']}; }}"
    ]
    for domain in SecurityDomain.objects.all().order_by("pk"):
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", domain.banner_colour):
            continue  # only a colour may reach the stylesheet, whatever was stored
        lines.append(
            f".marking-{domain.pk} {{ background: {domain.banner_colour}; "
            f"color: {domain.banner_text_colour}; }}"
        )
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "max-age=60"
    return response
