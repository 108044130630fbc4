"""Each person's time zone: every date and time on the pages is shown in it, with its zone.

The zone is read from the database once, at sign-in (or when changed), and kept in the session,
so pages spend no query on it. The API answers in UTC whatever the preference: automation
should not change with the person who holds the token.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

#: The zones of the agency's sites first, then UTC, then every other zone.
PREFERRED_ZONES = ("Europe/Brussels", "Europe/Amsterdam", "Europe/Lisbon", "UTC")
SESSION_KEY = "portal_time_zone"


@cache
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def time_zone_choices() -> list[tuple[str, str]]:
    others = sorted(time_zone_names() - set(PREFERRED_ZONES))
    return [(z, z.replace("_", " ")) for z in (*PREFERRED_ZONES, *others)]


def time_zone_of(user) -> str:
    from portal.models import Preferences

    found = Preferences.objects.filter(user=user).values_list("time_zone", flat=True).first()
    return found or settings.PORTAL_DEFAULT_TIME_ZONE


def time_zone_set(*, request: HttpRequest, time_zone: str) -> None:
    """Keep the person's zone and show the pages in it from the next answer on."""
    from portal.models import Preferences

    preferences, _ = Preferences.objects.get_or_create(user=request.user)
    preferences.time_zone = time_zone
    preferences.full_clean()
    preferences.save()
    request.session[SESSION_KEY] = time_zone


def zone_at_sign_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """``user_logged_in``: read the zone once, into the session."""
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = time_zone_of(user)


class TimeZoneMiddleware:
    """Pages in the signed-in person's zone (``Europe/Brussels`` until they choose)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return self.get_response(request)
        session = getattr(request, "session", None)
        name = session.get(SESSION_KEY) if session is not None else None
        if name not in time_zone_names():
            name = settings.PORTAL_DEFAULT_TIME_ZONE
        timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
