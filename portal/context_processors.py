"""Values every page template needs."""

from django.conf import settings
from django.http import HttpRequest

from tenants.access import is_auditor, is_operator


def portal(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "portal_profile": settings.PORTAL_PROFILE,
        "user_is_operator": signed_in and is_operator(user),
        "user_is_auditor": signed_in and is_auditor(user),
    }
