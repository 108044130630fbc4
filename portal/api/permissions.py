"""Permissions every API view applies on top of the access layer."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal.models import ApiToken


class TokenScopePermission(BasePermission):
    """A read-only token may read, never change anything, whatever its owner may do."""

    message = gettext_lazy(
        "This token is read-only: it may only use GET, HEAD and OPTIONS. "
        "Create a read-write token to make changes."
    )

    def has_permission(self, request, view) -> bool:
        token = request.auth
        return not (
            isinstance(token, ApiToken) and token.read_only and request.method not in SAFE_METHODS
        )
