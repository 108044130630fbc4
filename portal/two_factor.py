"""A second factor for passwords the portal checks: a TOTP authenticator app, and recovery codes.

Who must use one is a setting (``PORTAL_2FA_REQUIRED_FOR``: operators, auditors and security
officers by default; ``everyone`` for all): they are sent to enrol at their first sign-in, and
nothing else answers until they have. Anyone may enrol; once enrolled, every sign-in asks for
a code. Built on django-otp (its TOTP and static devices); the session remembers the device
that was verified, as django-otp does. A sign-in through the OpenID Connect provider is not
asked again (the provider enforces its own factors) unless ``PORTAL_2FA_TRUST_OIDC`` is off.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit import audit_record

RECOVERY_CODES = 10
#: Paths a signed-in person reaches before the second factor: enrolling, giving a code,
#: leaving, switching language, and what those pages load.
OPEN_PATHS = (
    "/login/verify/",
    "/account/two-factor/",
    "/logout/",
    "/language/",
    "/static/",
    "/markings.css",
)


def second_factor_required(user) -> bool:
    """Whether ``user``'s roles call for a second factor (``PORTAL_2FA_REQUIRED_FOR``)."""
    from tenants.access import is_auditor, is_operator, officer_domains_filter

    roles = set(settings.PORTAL_2FA_REQUIRED_FOR)
    if not user.is_authenticated:
        return False
    if "everyone" in roles:
        return True
    if "operator" in roles and (is_operator(user) or user.is_staff):
        return True
    if "auditor" in roles and is_auditor(user):
        return True
    if "officer" in roles:
        from tenants.models import SecurityDomain

        return SecurityDomain.objects.filter(officer_domains_filter(user)).exists()
    return False


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_enrol_start(user) -> TOTPDevice:
    """The authenticator to set up: an unconfirmed TOTP device (the same one until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def totp_enrol_confirm(request: HttpRequest, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the app with a code it shows; the recovery codes (shown once), or None."""
    if not device.verify_token(token.strip().replace(" ", "")):
        return None
    user = request.user
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_renew(user)
        audit_record(actor=user, action="auth.second_factor_enrolled", obj=user,
                     after={"device": "totp"})  # fmt: skip
    otp_login(request, device)
    return codes


def recovery_codes_renew(user) -> list[str]:
    """Ten new single-use codes (the old ones stop working), for a lost phone."""
    static, _created = StaticDevice.objects.get_or_create(user=user, name="recovery")
    static.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**10):010d}" for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes


def second_factor_verify(request: HttpRequest, token: str) -> bool:
    """A code from the app, or a recovery code (used up), verifies the session."""
    device = match_token(request.user, token.strip().replace(" ", ""))
    if device is None:
        return False
    otp_login(request, device)
    if isinstance(device, StaticDevice):
        audit_record(actor=request.user, action="auth.recovery_code_used", obj=request.user,
                     after={"left": device.token_set.count()})  # fmt: skip
    return True


def second_factor_reset(*, user, actor) -> None:
    """An operator removes someone's devices (a lost phone and lost codes): they enrol again."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_record(actor=actor, action="auth.second_factor_reset", obj=user, after={})


#: (access generation, has a second factor, must have one), kept in the session.
STANDING = "portal_second_factor"


def _real(user):
    """The user behind the middlewares' lazy wrappers (which remembers the access generation
    its request already read)."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


def _standing(request: HttpRequest) -> tuple[bool, bool]:
    """(has a second factor, must have one): kept in the session at the access generation it
    was worked out at, so most requests spend no query on it; worked out again once access (or
    someone's devices) changed anywhere."""
    from tenants import access_memory

    user = _real(request.user)
    generation = access_memory.generation_for(user)
    kept = request.session.get(STANDING)
    if kept and (generation is None or kept[0] == generation):
        return bool(kept[1]), bool(kept[2])
    enrolled, required = has_second_factor(user), second_factor_required(user)
    request.session[STANDING] = [generation, enrolled, required]
    return enrolled, required


def standing_at_sign_in(sender, request: HttpRequest, user, **kwargs) -> None:
    """``user_logged_in``: work the standing out once, at the sign-in."""
    if hasattr(request, "session"):
        from tenants import access_memory

        generation = access_memory.generation_for(user)
        request.session[STANDING] = [
            generation,
            has_second_factor(user),
            second_factor_required(user),
        ]


#: The backend of sessions opened by the OpenID Connect provider.
OIDC_BACKEND = "portal.sso.oidc.DirectoryOIDCBackend"


def _provider_vouched(request: HttpRequest) -> bool:
    """A session the provider opened: its own second factor counts (``PORTAL_2FA_TRUST_OIDC``).
    The directory's password alone does not: LDAP sign-ins are asked like local ones."""
    from django.contrib.auth import BACKEND_SESSION_KEY

    return (
        settings.PORTAL_2FA_TRUST_OIDC
        and hasattr(request, "session")
        and request.session.get(BACKEND_SESSION_KEY) == OIDC_BACKEND
    )


class SecondFactorMiddleware:
    """Holds a signed-in session at the second factor until it is given (or set up)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(OPEN_PATHS)
            and not _provider_vouched(request)
        ):
            enrolled, required = _standing(request)
            if enrolled:
                return self._send(request, "two-factor-verify", _("Give the code of your app."))
            if required:
                return self._send(
                    request,
                    "account-two-factor",
                    _("Your role needs a second factor: set it up."),
                )
        return self.get_response(request)

    def _send(self, request: HttpRequest, url_name: str, why: str) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse({"message": why, "code": "second_factor", "fields": {}},
                                status=403)  # fmt: skip
        return redirect(f"{reverse(url_name)}?{REDIRECT_FIELD_NAME}={request.get_full_path()}")
