"""Remove a person's second factor (a lost phone and lost recovery codes): they set it up again
at their next sign-in. Audited."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.two_factor import second_factor_reset


class Command(BaseCommand):
    help = "Reset a user's second factor; they enrol again at their next sign-in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--by", required=True, help="The operator doing it (for the audit).")

    def handle(self, *args, username: str, by: str, **options) -> None:
        users = get_user_model().objects
        user = users.filter(username=username).first()
        actor = users.filter(username=by).first()
        if user is None or actor is None:
            raise CommandError(f"No user {username if user is None else by!r}.")
        second_factor_reset(user=user, actor=actor)
        self.stdout.write(f"{username}'s second factor is reset: they set it up again.")
