"""The sign-in page and the OpenID Connect hand-over, which answer 404 while no provider is
configured (rather than failing on the missing settings)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.views import View
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from portal.lockout import LockoutAuthenticationForm
from portal.sso.ldap import ldap_enabled
from portal.sso.oidc import oidc_enabled

log = logging.getLogger(__name__)


class SignInView(LoginView):
    """Password sign-in (local accounts, the directory) and the provider's button, as
    configured."""

    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            password_sign_in=settings.PORTAL_LOCAL_SIGN_IN or ldap_enabled(),
            oidc_sign_in=oidc_enabled(),
            oidc_name=settings.PORTAL_OIDC_NAME,
            sso_failed=self.request.GET.get("sso") == "failed",
        )
        return context


class ProviderSignInView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider (with state, nonce and a PKCE challenge)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if oidc_enabled():
            super().__init__(*args, **kwargs)
        else:
            View.__init__(self, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("No OpenID Connect provider is configured.")
        return super().get(request)


class ProviderCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back with a code. A state this browser was never
    given (a forged or replayed link, an expired session) is a failed sign-in, said on the
    sign-in page, not a bare 400."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("No OpenID Connect provider is configured.")
        try:
            return super().get(request)
        except SuspiciousOperation as refused:
            log.warning("OpenID Connect callback refused: %s", refused)
            return self.login_failure()
