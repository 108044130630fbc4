"""Each person's time zone and language: pages speak them, with every date and time zoned.

Both are read from the database once, at sign-in (or when changed), and kept in the session,
so pages spend no query on them. A person who has not chosen a language gets the browser's
(``Accept-Language``, through Django's ``LocaleMiddleware``); the choice is also kept in the
language cookie so the sign-in page after signing out still speaks it. The API answers in UTC
whatever the preference, and in the language its client asks for with ``Accept-Language``:
automation should not change with the person who holds the token.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

#: The zones of the agency's sites first, then UTC, then every other zone.
PREFERRED_ZONES = ("Europe/Brussels", "Europe/Amsterdam", "Europe/Lisbon", "UTC")
SESSION_KEY = "portal_time_zone"
LANGUAGE_SESSION_KEY = "portal_language"


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


def language_codes() -> frozenset[str]:
    return frozenset(code for code, _name in settings.LANGUAGES)


def language_chosen(user) -> str:
    """The language the person chose ("" while they follow their browser)."""
    from portal.models import Preferences

    found = Preferences.objects.filter(user=user).values_list("language", flat=True).first()
    return found if found in language_codes() else ""


def language_of(user) -> str:
    """The language to write to someone in when they are not there to ask (e-mails)."""
    return language_chosen(user) or settings.LANGUAGE_CODE


def language_set(*, request: HttpRequest, language: str) -> None:
    """Keep the person's language ("" follows the browser) from the next answer on."""
    from portal.models import Preferences

    if request.user.is_authenticated:
        preferences, _ = Preferences.objects.get_or_create(user=request.user)
        preferences.language = language
        preferences.full_clean()
        preferences.save()
        request.session[LANGUAGE_SESSION_KEY] = language


def language_cookie_set(response: HttpResponse, language: str) -> None:
    """The language outlives the session: the sign-in page after signing out speaks it too."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, samesite="Lax")


def zone_at_sign_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """``user_logged_in``: read the zone and the language once, into the session."""
    from portal.models import Preferences

    if hasattr(request, "session"):
        found = Preferences.objects.filter(user=user).values_list("time_zone", "language").first()
        zone, language = found or (settings.PORTAL_DEFAULT_TIME_ZONE, "")
        request.session[SESSION_KEY] = zone
        request.session[LANGUAGE_SESSION_KEY] = language


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


class LanguageMiddleware:
    """Pages in the signed-in person's chosen language.

    Runs after ``LocaleMiddleware`` (which picked the cookie's or the browser's language) and
    after authentication; leaves the API to ``Accept-Language``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and not request.path.startswith("/api/"):
            chosen = session.get(LANGUAGE_SESSION_KEY)
            if chosen in language_codes():
                translation.activate(chosen)
                request.LANGUAGE_CODE = chosen
        return self.get_response(request)
