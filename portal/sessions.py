"""Sessions that end: after an idle time and after an absolute lifetime, whatever happens.

An accreditation asks both: a browser left open at a desk signs out after
``PORTAL_SESSION_IDLE_SECONDS`` without a request, and no session lives longer than
``PORTAL_SESSION_MAX_SECONDS`` however busy. Answers to signed-in people are never stored by
browsers or proxies (``Cache-Control: no-store``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import ngettext

STARTED = "portal_started_at"
SEEN = "portal_seen_at"
#: ``SEEN`` is written at most this often (s): a session write per request would cost every
#: page a database write for a figure that needs no finer grain.
SEEN_GRAIN = 60


class SessionLimitsMiddleware:
    """Signs out idle and too-old sessions; marks signed-in answers ``no-store``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ended = self._ended(request) if request.user.is_authenticated else ""
        if ended:
            logout(request)
            return self._signed_out(request, ended)
        response = self.get_response(request)
        signed_in = request.user.is_authenticated or "HTTP_AUTHORIZATION" in request.META
        if signed_in and not response.has_header("Cache-Control"):  # unless it said otherwise
            patch_cache_control(response, no_store=True, private=True)
        return response

    def _ended(self, request: HttpRequest) -> str:
        session, now = request.session, int(time.time())
        started = session.setdefault(STARTED, now)
        seen = session.get(SEEN, now)
        if now - seen > settings.PORTAL_SESSION_IDLE_SECONDS:
            minutes = settings.PORTAL_SESSION_IDLE_SECONDS // 60
            return ngettext(
                "You were signed out after %(count)d minute without activity.",
                "You were signed out after %(count)d minutes without activity.",
                minutes,
            ) % {"count": minutes}
        if now - started > settings.PORTAL_SESSION_MAX_SECONDS:
            hours = settings.PORTAL_SESSION_MAX_SECONDS // 3600
            return ngettext(
                "You were signed out: a session lasts at most %(count)d hour.",
                "You were signed out: a session lasts at most %(count)d hours.",
                hours,
            ) % {"count": hours}
        if now - seen >= SEEN_GRAIN or SEEN not in session:
            session[SEEN] = now
        return ""

    def _signed_out(self, request: HttpRequest, why: str) -> HttpResponse:
        if request.path.startswith("/api/"):
            body = {"message": why, "code": "not_authenticated", "fields": {}}
            return JsonResponse(body, status=401)
        messages.info(request, why)
        login = reverse(settings.LOGIN_URL)
        return redirect(f"{login}?{urlencode({'next': request.get_full_path()})}")


def session_started(sender, request: HttpRequest, user, **kwargs) -> None:
    """``user_logged_in``: the idle and absolute clocks start at the sign-in."""
    if hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED] = request.session[SEEN] = now
