"""Look every directory account up again now, as the periodic sync does."""

from django.core.management.base import BaseCommand, CommandError

from portal.singleflight import single_flight
from portal.sso.sync import directory_sync


class Command(BaseCommand):
    help = "Re-map directory groups to rights and remove people the directory no longer knows."

    def handle(self, *args, **options) -> None:
        with single_flight("directory-sync") as mine:
            if not mine:
                raise CommandError("A directory sync is already running.")
            outcome = directory_sync()
        for source, text in outcome.items():
            self.stdout.write(f"{source}: {text}")
        if any(text.startswith("failed") for text in outcome.values()):
            raise CommandError("A directory could not be synced; nobody was removed from it.")
