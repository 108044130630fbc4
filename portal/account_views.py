"""The user's own account pages: SSH keys (add, remove), API tokens (create, revoke), the second
factor, and preferences (time zone, language; the header's language switch)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from portal.preferences import (
    language_codes,
    language_cookie_set,
    preferences_of,
    preferences_set,
    time_zone_choices,
)
from portal.ssh_keys import ssh_key_add, ssh_key_remove, ssh_keys_of
from portal.tokens import MAX_TOKEN_DAYS, token_create, token_revoke, tokens_of


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label=gettext_lazy("Token name"),
        help_text=gettext_lazy("What will use it, e.g. 'ci-pipeline'."),
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        initial=90,
        label=gettext_lazy("Expires in (days)"),
        help_text=gettext_lazy("Leave empty for a token that does not expire."),
    )
    read_only = forms.BooleanField(
        required=False,
        label=gettext_lazy("Read-only"),
        help_text=gettext_lazy("It may only read, never change."),
    )


@method_decorator(never_cache, name="dispatch")
class TokenListView(LoginRequiredMixin, View):
    """The user's own tokens. The secret of a new token is in the answer to its POST only."""

    template_name = "portal/tokens.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, TokenCreateForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if "revoke" in request.POST:
            token = get_object_or_404(tokens_of(request.user), pk=request.POST.get("revoke"))
            token_revoke(user=request.user, token=token)
            messages.success(
                request,
                _("Token %(name)s (%(prefix)s…) is revoked.")
                % {"name": token.name, "prefix": token.prefix},
            )
            return redirect("account-tokens")
        form = TokenCreateForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        days = form.cleaned_data.get("expires_in_days")
        try:
            token, secret = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                read_only=form.cleaned_data["read_only"],
            )
        except ValidationError as err:
            for field, errors in err.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self._render(request, form, status=400)
        # Rendered, not redirected: the secret must not survive in a session or a cache.
        return self._render(request, TokenCreateForm(), created=token, secret=secret)

    def _render(self, request: HttpRequest, form, status: int = 200, **extra) -> HttpResponse:
        context = {"form": form, "tokens": tokens_of(request.user), "now": timezone.now(), **extra}
        return render(request, self.template_name, context, status=status)


class SshKeyAddForm(forms.Form):
    public_key = forms.CharField(
        label=gettext_lazy("Public key"),
        max_length=8192,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text=gettext_lazy(
            "The contents of your .pub file, e.g. ~/.ssh/id_ed25519.pub: ed25519, ECDSA, "
            "or RSA of at least 3072 bits."
        ),
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Empty: the key's comment (often user@host)."),
    )


@method_decorator(never_cache, name="dispatch")
class SshKeyListView(LoginRequiredMixin, View):
    """The user's public keys, which their server requests can put on the servers."""

    template_name = "portal/ssh_keys.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, SshKeyAddForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if "remove" in request.POST:
            try:
                pk = int(request.POST.get("remove", ""))
            except ValueError:
                pk = 0
            key = get_object_or_404(ssh_keys_of(request.user), pk=pk)
            ssh_key_remove(user=request.user, key=key)
            messages.success(
                request,
                _(
                    "Key %(name)s is removed. Servers built with it keep it until they are "
                    "decommissioned."
                )
                % {"name": key.name},
            )
            return redirect("account-ssh-keys")
        form = SshKeyAddForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            key = ssh_key_add(
                user=request.user,
                public_key=form.cleaned_data["public_key"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as err:
            for field, errors in err.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self._render(request, form, status=400)
        messages.success(
            request,
            _("Key %(name)s (%(fingerprint)s) is added.")
            % {"name": key.name, "fingerprint": key.fingerprint},
        )
        return redirect("account-ssh-keys")

    def _render(self, request: HttpRequest, form, status: int = 200) -> HttpResponse:
        context = {"form": form, "keys": ssh_keys_of(request.user)}
        return render(request, self.template_name, context, status=status)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=gettext_lazy(
            "The six digits your authenticator app shows now, or one of your recovery codes."
        ),
    )


def _next(request: HttpRequest) -> str:
    """Where to go once the second factor is given: back where the person was headed."""
    from django.utils.http import url_has_allowed_host_and_scheme

    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure())
    return wanted if safe and wanted else "/"


@method_decorator(never_cache, name="dispatch")
class TwoFactorView(LoginRequiredMixin, View):
    """Set up the authenticator app (a secret to scan or type, a code to confirm it), then
    show the recovery codes once; later, renew the recovery codes."""

    template_name = "portal/two_factor.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        from portal.two_factor import (
            has_second_factor,
            recovery_codes_renew,
            totp_enrol_confirm,
            totp_enrol_start,
        )

        if "renew" in request.POST and has_second_factor(request.user):
            if not request.user.is_verified():
                return redirect("two-factor-verify")
            codes = recovery_codes_renew(request.user)
            return self._render(request, CodeForm(), codes=codes)
        form = CodeForm(request.POST)
        if form.is_valid():
            device = totp_enrol_start(request.user)
            codes = totp_enrol_confirm(request, device, form.cleaned_data["code"])
            if codes is not None:
                return self._render(request, CodeForm(), codes=codes, done=True)
            form.add_error("code", _("That is not the code your app shows now; try the next one."))
        return self._render(request, form, status=400)

    def _render(self, request: HttpRequest, form, status: int = 200, **extra) -> HttpResponse:
        from portal.two_factor import has_second_factor, second_factor_required, totp_enrol_start

        enrolled = has_second_factor(request.user)
        device = None if enrolled else totp_enrol_start(request.user)
        context = {
            "form": form,
            "enrolled": enrolled,
            "required": second_factor_required(request.user),
            "device": device,
            "secret": _base32(device.bin_key) if device else "",
            "next": _next(request),
            **extra,
        }
        return render(request, self.template_name, context, status=status)


def _base32(key: bytes) -> str:
    from base64 import b32encode

    text = b32encode(key).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@method_decorator(never_cache, name="dispatch")
class TwoFactorVerifyView(LoginRequiredMixin, View):
    """The second step of a sign-in: a code from the app (or a recovery code)."""

    template_name = "registration/two_factor_verify.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": CodeForm(), "next": _next(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        from portal.two_factor import second_factor_verify

        form = CodeForm(request.POST)
        if form.is_valid() and second_factor_verify(request, form.cleaned_data["code"]):
            return redirect(_next(request))
        if form.is_valid():
            form.add_error("code", _("That code is not right (or was used already)."))
        context = {"form": form, "next": _next(request)}
        return render(request, self.template_name, context, status=400)


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        help_text=gettext_lazy(
            "Every date and time on the pages is shown in this zone, with its name."
        ),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        help_text=gettext_lazy("The language of the pages and of the e-mails you receive."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()
        self.fields["language"].choices = [("", _("As my browser asks")), *settings.LANGUAGES]


class PreferencesView(LoginRequiredMixin, View):
    """The person's time zone and language."""

    template_name = "portal/preferences.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        zone, language = preferences_of(request.user)
        initial = {"time_zone": zone, "language": language}
        return render(request, self.template_name, {"form": PreferencesForm(initial=initial)})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PreferencesForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        zone, language = form.cleaned_data["time_zone"], form.cleaned_data["language"]
        preferences_set(request=request, time_zone=zone, language=language)
        # The confirmation already speaks the language just chosen.
        translation.activate(language or translation.get_language_from_request(request))
        messages.success(request, _("Dates and times are now shown in %(zone)s.") % {"zone": zone})
        response = redirect("account-preferences")
        language_cookie_set(response, language)
        return response


class LanguageSwitchView(View):
    """The header's switch: signed in, the choice is kept with the person; signed out (the
    sign-in page), in the language cookie only."""

    def post(self, request: HttpRequest) -> HttpResponse:
        language = request.POST.get("language", "")
        if language not in language_codes():
            return HttpResponseBadRequest(_("Unknown language."))
        if request.user.is_authenticated:
            preferences_set(request=request, language=language)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = "/"
        response = redirect(target)
        language_cookie_set(response, language)
        return response
