"""Check the audit chain from the command line, for operators and for a periodic job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.audit import (
    audit_checkpoint,
    audit_seal,
    chain_head,
    sealing_lag,
    verify_anchor,
    verify_chain,
    verify_checkpoint,
)


def _anchor(value: str) -> tuple[int, str]:
    event_id, _, expected_hash = value.partition(":")
    if not event_id.isdigit() or len(expected_hash) != 64:
        raise ValueError(value)
    return int(event_id), expected_hash.lower()


class Command(BaseCommand):
    help = (
        "Seal what waits to be sealed, recompute every sealed audit event's hash and check the "
        "chain, then check it still holds the latest checkpoint; exit 1 at the first break. "
        "--print-head prints the last sealed event as ID:HASH to export to a separate system; "
        "--anchor ID:HASH checks that an exported head is still in the chain; --checkpoint "
        "writes a checkpoint after a successful check."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="events per query")
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="check only what is sealed already, without sealing first",
        )
        parser.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="do not compare the chain with the latest checkpoint in the file sink",
        )
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="after a successful check, write a checkpoint of the head to the sink",
        )
        parser.add_argument(
            "--print-head",
            action="store_true",
            help="after a successful check, print the last event as 'Audit chain head: ID:HASH'",
        )
        parser.add_argument(
            "--anchor",
            type=_anchor,
            metavar="ID:HASH",
            help="a head printed earlier by --print-head (or a checkpoint's event_id and hash), "
            "which must still be in the chain",
        )

    def handle(self, *args: Any, batch_size: int, print_head: bool, **options: Any) -> None:
        if not options["no_seal"]:
            audit_seal()
        result = verify_chain(batch_size=batch_size)
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event #{result.first_broken_id}: {result.reason}"
            )
        checkpoint_note = ""
        if not options["no_checkpoint"]:
            checked = verify_checkpoint()
            if not checked.ok:
                raise CommandError(f"Audit checkpoint check failed: {checked.reason}")
            checkpoint_note = f"Audit checkpoint: {checked.reason}"
        if options["anchor"] is not None:
            event_id, expected_hash = options["anchor"]
            anchored = verify_anchor(event_id=event_id, expected_hash=expected_hash)
            if not anchored.ok:
                raise CommandError(
                    f"Audit chain broken at event #{anchored.first_broken_id}: {anchored.reason}"
                )
        lag = sealing_lag()
        waiting = (
            f"{lag.pending} waiting to be sealed, oldest {lag.seconds:.0f} s"
            if lag.pending
            else "none waiting to be sealed"
        )
        self.stdout.write(f"Audit chain intact: {result.checked} events ({waiting})")
        if checkpoint_note:
            self.stdout.write(checkpoint_note)
        if print_head:
            head = chain_head()
            self.stdout.write(
                f"Audit chain head: {head.id}:{head.hash}" if head else "Audit chain is empty"
            )
        if options["checkpoint"]:
            written = audit_checkpoint()
            self.stdout.write(
                f"Audit checkpoint written: seq {written.seq}, event #{written.event_id}"
                if written
                else "Audit checkpoint not written: nothing sealed, or no new event since the last"
            )
