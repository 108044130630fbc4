"""One search box for everything a person may see: servers, networks, volumes and requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import path
from django.views.generic import TemplateView

from portal.views import ClassifiedPageMixin
from provisioning.selectors import search_everything
from tenants.models import SecurityDomain

#: Shorter than this finds too much to be worth reading.
MIN_QUERY = 2


class SearchView(LoginRequiredMixin, ClassifiedPageMixin, TemplateView):
    template_name = "provisioning/search.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        query = self.request.GET.get("q", "").strip()
        kwargs["query"] = query
        kwargs["too_short"] = bool(query) and len(query) < MIN_QUERY
        kwargs["min_query"] = MIN_QUERY
        if len(query) >= MIN_QUERY:
            kwargs["results"] = search_everything(self.request.user, query)
        return super().get_context_data(**kwargs)

    def get_page_domains(self, context: dict[str, Any]) -> Iterable[SecurityDomain]:
        results = context.get("results")
        return results.domains if results else ()


urlpatterns = [path("search/", SearchView.as_view(), name="search")]
