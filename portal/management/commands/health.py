"""``manage.py health``: the readiness checks, for containers without a web server (the worker's
and beat's probes): prints them as JSON, exits 1 when one that is required fails."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from portal.health import REQUIRED, readiness


class Command(BaseCommand):
    help = "Check the database, migrations and broker (and, with --require, the schedule)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--require", default="",
            help="Also require these checks, comma-separated: schedule (beat and a worker "
            "ran the heartbeat lately), probes (every region answered its last probe).",
        )  # fmt: skip

    def handle(self, *args, **options) -> None:
        extra = {name.strip() for name in options["require"].split(",") if name.strip()}
        unknown = extra - {"schedule", "probes"}
        if unknown:
            raise CommandError(f"Unknown checks: {', '.join(sorted(unknown))}")
        state = readiness()
        for check in state.checks:
            check.required = check.name in REQUIRED or check.name in extra
        self.stdout.write(json.dumps(state.as_dict(), indent=2))
        if not state.ready:
            failed = [c.name for c in state.checks if c.required and not c.ok]
            raise CommandError(f"Not ready: {', '.join(failed)}")
