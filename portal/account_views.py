"""The browser page for personal API tokens: list, create (secret shown once), revoke."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from portal.tokens import MAX_TOKEN_DAYS, token_create, token_revoke, tokens_of


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. 'ci-pipeline'.")
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        initial=90,
        label="Expires in (days)",
        help_text="Leave empty for a token that does not expire.",
    )
    read_only = forms.BooleanField(required=False, help_text="It may only read, never change.")


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
            messages.success(request, f"Token {token.name} ({token.prefix}…) is revoked.")
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
