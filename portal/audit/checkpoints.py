"""Checkpoints: the sealed head, signed, written to a sink outside the database.

The chain alone cannot show that its newest events were removed or that it was rewritten from
some point on; a line kept outside the database, signed with a key the database does not hold,
can.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.audit.recording import _iso, _now, canonical_json
from portal.audit.sealing import audit_seal, chain_head


@dataclass(frozen=True)
class Checkpoint:
    """The sealed head at a moment, signed with a key the database does not hold."""

    seq: int
    event_id: int
    hash: str
    at: datetime.datetime
    sig: str

    def line(self) -> str:
        fields = {"seq": self.seq, "event_id": self.event_id, "hash": self.hash}
        fields |= {"at": _iso(self.at), "sig": self.sig}
        return json.dumps(fields, separators=(",", ":"))


def _signature(*, seq: int, event_id: int, hash_: str, at: datetime.datetime) -> str:
    signed = canonical_json({"seq": seq, "event_id": event_id, "hash": hash_, "at": _iso(at)})
    key = settings.PORTAL_AUDIT_CHECKPOINT_KEY.encode()
    return hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()


def _sink() -> tuple[str, str]:
    """``("file", path)`` or ``("syslog", address)`` from PORTAL_AUDIT_CHECKPOINT_SINK."""
    value = settings.PORTAL_AUDIT_CHECKPOINT_SINK
    kind, _, target = value.partition(":")
    if (kind == "file" and target) or kind == "syslog":
        return kind, target
    raise ImproperlyConfigured(
        "PORTAL_AUDIT_CHECKPOINT_SINK must be 'file:<path>', 'syslog' or 'syslog:<address>', "
        f"not {value!r}"
    )


def _syslog_address(target: str) -> str | tuple[str, int]:
    """``/dev/log`` by default; a socket path; or ``host[:port]`` over UDP."""
    if not target:
        return "/dev/log" if Path("/dev/log").exists() else ("localhost", 514)
    if target.startswith("/"):
        return target
    host, _, port = target.partition(":")
    return host, int(port or 514)


def _last_line(handle: Any) -> str:
    """The file's last line, read backwards from the end rather than the whole file."""
    end = handle.seek(0, os.SEEK_END)
    position, tail = end, b""
    while position > 0 and tail.rstrip(b"\n").count(b"\n") == 0:
        step = min(4096, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
    return tail.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")


def _last_line_of(path: Path) -> str:
    """The file's last line, or "" when there is no such file."""
    try:
        with path.open("rb") as handle:
            return _last_line(handle)
    except FileNotFoundError:
        return ""


def _write_to_file(path: Path, checkpoint: Checkpoint) -> bool:
    """Append the line unless the file's last checkpoint is already at that head."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        # Two checkpoints at once (beat and an operator) would otherwise both see the old head.
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            last = _parse_line(_last_line(handle))
            if last is not None and (last.seq, last.hash) == (checkpoint.seq, checkpoint.hash):
                return False
            handle.seek(0, os.SEEK_END)
            handle.write((checkpoint.line() + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return True


def _write_to_syslog(target: str, checkpoint: Checkpoint) -> None:
    handler = logging.handlers.SysLogHandler(
        address=_syslog_address(target), facility=logging.handlers.SysLogHandler.LOG_AUTH
    )
    handler.ident = "portal-audit-checkpoint: "
    try:
        record = logging.LogRecord(__name__, logging.INFO, __file__, 0, checkpoint.line(), (), None)
        handler.emit(record)
    finally:
        handler.close()


def audit_checkpoint() -> Checkpoint | None:
    """Seal, then write the sealed head to the checkpoint sink, signed; return what was written.

    None when nothing was written: nothing is sealed yet, or (file sink) the head has not moved
    since the file's last checkpoint. The sink is outside the database and the key is not in
    it, so a checkpoint shows later whether the chain up to it was truncated or rewritten.
    Holds no transaction while writing to the sink.
    """
    audit_seal()
    head = chain_head()
    if head is None:
        return None
    at = _now()
    checkpoint = Checkpoint(
        seq=head.seq,
        event_id=head.id,
        hash=head.hash,
        at=at,
        sig=_signature(seq=head.seq, event_id=head.id, hash_=head.hash, at=at),
    )
    kind, target = _sink()
    if kind == "file":
        return checkpoint if _write_to_file(Path(target), checkpoint) else None
    _write_to_syslog(target, checkpoint)
    return checkpoint


def _parse_line(line: str) -> Checkpoint | None:
    """A checkpoint line as written; None when the line is empty or not one."""
    try:
        data = json.loads(line)
        return Checkpoint(
            seq=int(data["seq"]),
            event_id=int(data["event_id"]),
            hash=str(data["hash"]),
            at=datetime.datetime.fromisoformat(data["at"]),
            sig=str(data["sig"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
