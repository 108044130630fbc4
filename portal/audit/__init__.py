"""The hash-chained audit log: recording, sealing, checkpointing and verifying its events.

Every service that decides or changes state calls ``audit_record()`` inside its own transaction;
the event commits or rolls back with the change it describes, inserted *unsealed* (``recording``).
``audit_seal()``, run right after the commit and periodically, then gives the committed events
their place in the chain, one sealer at a time (``sealing``). Changing, removing or reordering
sealed rows with raw SQL breaks the chain, which ``verify_chain()`` reports (``verifying``);
removing the newest ones, or rewriting the chain from some point on, is caught against
``audit_checkpoint()``'s signed lines kept outside the database (``checkpoints``). See
docs/audit.md for what this does and does not protect against.

Why not a library: django-auditlog, django-simple-history and django-reversion record changes
through model signals but none chains the rows or verifies them, and recording from signals
would miss decisions that change no row (a rejection, a refused request).

Import from here rather than from the submodules.
"""

from portal.audit.checkpoints import Checkpoint, audit_checkpoint
from portal.audit.recording import (
    ACTION_PATTERN,
    SYSTEM_ACTOR_NAME,
    audit_record,
    audit_record_many,
    audit_value,
    canonical_json,
    event_hash,
)
from portal.audit.sealing import (
    HEAD_ID,
    AuditChainHeadMissing,
    ChainHead,
    SealingLag,
    audit_seal,
    chain_head,
    sealing_lag,
)
from portal.audit.verifying import (
    VerifyResult,
    verify_anchor,
    verify_chain,
    verify_checkpoint,
)

__all__ = [
    "ACTION_PATTERN",
    "HEAD_ID",
    "SYSTEM_ACTOR_NAME",
    "AuditChainHeadMissing",
    "ChainHead",
    "Checkpoint",
    "SealingLag",
    "VerifyResult",
    "audit_checkpoint",
    "audit_record",
    "audit_record_many",
    "audit_seal",
    "audit_value",
    "canonical_json",
    "chain_head",
    "event_hash",
    "sealing_lag",
    "verify_anchor",
    "verify_chain",
    "verify_checkpoint",
]
