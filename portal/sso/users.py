"""What every sign-in backend shares: the signed-in user is remembered between requests, and a
disabled user is nobody, whichever backend signed them in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from tenants import access_memory


def remembered_user(user_id: Any) -> Any:
    """The active user with this id and their model permissions, read once per access
    generation (``tenants.access_memory``); None for a disabled or deleted user, so that a
    session ends at its next request when the directory or an operator disables its user."""
    generation = access_memory.generation()

    def read() -> Any:
        user_model = get_user_model()
        user = user_model._default_manager.filter(pk=user_id).first()
        if user is None or not user.is_active:
            return None
        user.get_all_permissions()
        return user

    user = access_memory.recall(("user", str(user_id)), generation, read)
    if user is not None:
        access_memory.remember_generation(user, generation)
    return user
