"""Check the audit chain from the command line, for operators and for a periodic job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.audit import chain_head, verify_anchor, verify_chain


def _anchor(value: str) -> tuple[int, str]:
    event_id, _, expected_hash = value.partition(":")
    if not event_id.isdigit() or len(expected_hash) != 64:
        raise ValueError(value)
    return int(event_id), expected_hash.lower()


class Command(BaseCommand):
    help = (
        "Recompute every audit event's hash and check the chain; exit 1 at the first broken "
        "event. --print-head prints the last event as ID:HASH to export to a separate system; "
        "--anchor ID:HASH checks that an exported head is still in the chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="events per query")
        parser.add_argument(
            "--print-head",
            action="store_true",
            help="after a successful check, print the last event as 'Audit chain head: ID:HASH'",
        )
        parser.add_argument(
            "--anchor",
            type=_anchor,
            metavar="ID:HASH",
            help="a head printed earlier by --print-head, which must still be in the chain",
        )

    def handle(self, *args: Any, batch_size: int, print_head: bool, **options: Any) -> None:
        result = verify_chain(batch_size=batch_size)
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event #{result.first_broken_id}: {result.reason}"
            )
        if options["anchor"] is not None:
            event_id, expected_hash = options["anchor"]
            anchored = verify_anchor(event_id=event_id, expected_hash=expected_hash)
            if not anchored.ok:
                raise CommandError(
                    f"Audit chain broken at event #{anchored.first_broken_id}: {anchored.reason}"
                )
        self.stdout.write(f"Audit chain intact: {result.checked} events")
        if print_head:
            head = chain_head()
            self.stdout.write(
                f"Audit chain head: {head.id}:{head.hash}" if head else "Audit chain is empty"
            )
