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


def language_codes() -> frozenset[str]:
    return frozenset(code for code, _name in settings.LANGUAGES)


def preferences_of(user) -> tuple[str, str]:
    """The person's time zone and language ("" while they follow their browser), one query;
    the defaults while they have chosen nothing."""
    from portal.models import Preferences

    found = Preferences.objects.filter(user=user).values_list("time_zone", "language").first()
    zone, language = found or (settings.PORTAL_DEFAULT_TIME_ZONE, "")
    return zone, language if language in language_codes() else ""


def language_of(user) -> str:
    """The language to write to someone in when they are not there to ask (e-mails)."""
    return preferences_of(user)[1] or settings.LANGUAGE_CODE


def preferences_set(
    *, request: HttpRequest, time_zone: str | None = None, language: str | None = None
) -> None:
    """Keep what the signed-in person chose (``None``: unchanged; a language of "" follows the
    browser) and show the pages so from the next answer on."""
    from portal.models import Preferences

    preferences, _ = Preferences.objects.get_or_create(user=request.user)
    if time_zone is not None:
        preferences.time_zone = time_zone
    if language is not None:
        preferences.language = language
    preferences.full_clean()
    preferences.save()
    request.session[SESSION_KEY] = preferences.time_zone
    request.session[LANGUAGE_SESSION_KEY] = preferences.language


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


def preferences_at_sign_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """``user_logged_in``: read the zone and the language once, into the session."""
    if hasattr(request, "session"):
        request.session[SESSION_KEY], request.session[LANGUAGE_SESSION_KEY] = preferences_of(user)


class PreferencesMiddleware:
    """Pages in the signed-in person's zone (``Europe/Brussels`` until they choose) and chosen
    language, both read from the session.

    Runs after authentication and after ``LocaleMiddleware``, whose pick (the cookie's or the
    browser's language) stands while the person has chosen none. The API is left alone: UTC,
    and the language its client asks for.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if request.path.startswith("/api/") or session is None:
            return self.get_response(request)
        language = session.get(LANGUAGE_SESSION_KEY)
        if language in language_codes():
            translation.activate(language)
            request.LANGUAGE_CODE = language
        zone = session.get(SESSION_KEY)
        if zone not in time_zone_names():
            zone = settings.PORTAL_DEFAULT_TIME_ZONE
        timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
