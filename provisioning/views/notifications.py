"""The bell: what the portal told a person, unread first counted in the header, all on a page.

A person sees only their own notifications. The header asks for the count after the page has
loaded (htmx), so no page pays a query for it, and again every minute while it stays open.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from provisioning.notifications import notifications_read
from provisioning.selectors import notifications_of

#: The bell counts up to this many ("99+" beyond).
BELL_CAP = 99
#: The page shows the latest this many.
PAGE_SIZE = 50


class NotificationBellView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        unread = notifications_of(request.user).filter(read_at__isnull=True)
        count = unread.order_by()[: BELL_CAP + 1].count()
        context = {"count": min(count, BELL_CAP), "more": count > BELL_CAP}
        return render(request, "provisioning/_bell.html", context)


class NotificationListView(LoginRequiredMixin, TemplateView):
    template_name = "provisioning/notification_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["notifications"] = list(notifications_of(self.request.user)[:PAGE_SIZE])
        kwargs["page_size"] = PAGE_SIZE
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest) -> HttpResponse:
        """Mark all read."""
        notifications_read(request.user)
        return redirect("notification-list")


class NotificationOpenView(LoginRequiredMixin, View):
    """Follow a notification to what it is about, marking it read on the way."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        notification = get_object_or_404(notifications_of(request.user), pk=pk)
        if notification.read_at is None:
            notifications_read(request.user, pk=pk)
        target = notification.url
        if not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
            target = "notification-list"
        # The target page applies the access rules of now: access lost since means a 404 there.
        return redirect(target)


urlpatterns = [
    path("notifications/", NotificationListView.as_view(), name="notification-list"),
    path("notifications/bell/", NotificationBellView.as_view(), name="notification-bell"),
    path("notifications/<int:pk>/", NotificationOpenView.as_view(), name="notification-open"),
]
