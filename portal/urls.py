"""Top-level URLs: pages, the REST API under /api/v1/, its schema and docs, the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

from portal.account_views import (
    LanguageSwitchView,
    PreferencesView,
    SshKeyListView,
    TokenListView,
    TwoFactorVerifyView,
    TwoFactorView,
)
from portal.lockout import LockoutAdminAuthenticationForm
from portal.sso.views import ProviderCallbackView, ProviderSignInView, SignInView
from portal.views import DashboardView, markings_stylesheet

admin.site.login_form = LockoutAdminAuthenticationForm

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("markings.css", markings_stylesheet, name="markings-css"),
    path("login/", SignInView.as_view(), name="login"),
    path("oidc/authenticate/", ProviderSignInView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", ProviderCallbackView.as_view(), name="oidc_authentication_callback"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/verify/", TwoFactorVerifyView.as_view(), name="two-factor-verify"),
    path("account/two-factor/", TwoFactorView.as_view(), name="account-two-factor"),
    path("account/keys/", SshKeyListView.as_view(), name="account-ssh-keys"),
    path("account/preferences/", PreferencesView.as_view(), name="account-preferences"),
    path("language/", LanguageSwitchView.as_view(), name="set-language"),
    path("account/tokens/", TokenListView.as_view(), name="account-tokens"),
    path("", include("tenants.urls")),
    path("", include("provisioning.urls")),
    path("api/v1/", include("portal.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
