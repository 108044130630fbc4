"""Guards that keep the demo's known secrets out of production.

The demo prints its password and runs with a key anyone can read in the repository. In the
production profile the portal refuses to start while any of that is in use, and refuses to let
anyone set the demo password again.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext as _

#: Secret keys the repository holds (development's default, the demo's): never production's.
KNOWN_KEYS_PREFIX = "insecure-"


def demo_accounts_with_the_demo_password() -> list[str]:
    """The demo's accounts that exist here and still take the demo password.

    Only the demo's own user names are tried (each try is a full password hash): the password
    validator below keeps the demo password from being given to anyone else.
    """
    from django.contrib.auth import get_user_model

    from tenants import demo

    names = [spec.username for spec in demo.USERS]
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    return sorted(u.username for u in users if u.check_password(demo.DEMO_PASSWORD))


@register(Tags.security, Tags.database)
def check_production_guards(app_configs: Any = None, databases: Any = None, **kwargs: Any):
    """In production: no repository secret key, no demo account with the demo password."""
    if not settings.IS_PRODUCTION:
        return []
    errors: list[CheckMessage] = []
    if settings.SECRET_KEY.startswith(KNOWN_KEYS_PREFIX):
        errors.append(Error("DJANGO_SECRET_KEY is a key from the repository.", id="portal.E001"))
    if databases:
        names = demo_accounts_with_the_demo_password()
        if names:
            errors.append(
                Error(
                    f"Accounts with the demo password: {', '.join(names)}.",
                    hint="Remove them or set their passwords; the demo's data is not for "
                    "production.",
                    id="portal.E002",
                )
            )
    return errors


def refuse_to_start_if_unsafe() -> None:
    """Run at a production process's start (wsgi): the guards' errors stop it."""
    errors = check_production_guards(databases=["default"])
    if errors:
        raise ImproperlyConfigured(" ".join(str(e.msg) for e in errors))


class NotTheDemoPasswordValidator:
    """The demo's password is printed in the README: nobody may choose it in production."""

    def validate(self, password: str, user: Any = None) -> None:
        from tenants import demo

        if settings.IS_PRODUCTION and password == demo.DEMO_PASSWORD:
            raise ValidationError(
                _("This is the demo's published password; choose another."), code="password_demo"
            )

    def get_help_text(self) -> str:
        return _("Your password cannot be the demo's published password.")
