"""Values every page template needs."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.navigation import SECTIONS, decides_somewhere, section_of
from tenants.access import is_auditor, is_operator


def portal(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    match = getattr(request, "resolver_match", None)
    return {
        "portal_profile": settings.PORTAL_PROFILE,
        "user_is_operator": signed_in and is_operator(user),
        "user_is_auditor": signed_in and is_auditor(user),
        # Worked out once, when the header (or the dashboard) first asks.
        "user_decides": SimpleLazyObject(lambda: decides_somewhere(user)) if signed_in else False,
        "nav_section": section_of(match.url_name if match else None),
        "nav_sections": {section.key: section for section in SECTIONS},
        "languages": settings.LANGUAGES,
    }
