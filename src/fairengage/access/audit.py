"""The tamper-evident audit log: every write and every read of personal information, chained by hash.

Each entry's digest is SHA-256 over the previous digest and the entry's canonical JSON, and the
chain's head (last sequence number and digest) is kept in its own row. Altering, inserting or
removing any entry, the last one included, breaks verification. The head digest printed by
`fairengage audit verify` can be published (for example in the annual report) to anchor the chain
outside the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fairengage.access.models import AuditEntry, AuditHead

GENESIS = "0" * 64


# The fields an entry's digest covers, and every field an exported line carries.
CANONICAL_FIELDS = ("seq", "at", "actor", "action", "entity", "entity_id", "purpose", "details")
ENTRY_FIELDS = (*CANONICAL_FIELDS, "prev_digest", "digest")


def entry_record(entry: AuditEntry) -> dict[str, Any]:
    """An entry's fields as JSON values, `at` in the exact text the digest covers."""
    return {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "purpose": entry.purpose,
        "details": entry.details or {},
        "prev_digest": entry.prev_digest,
        "digest": entry.digest,
    }


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The bytes an entry's digest covers: its eight fields as sorted, compact, UTF-8 JSON."""
    body = {name: record[name] for name in CANONICAL_FIELDS}
    body["details"] = body["details"] or {}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_digest(prev_digest: str, record: Mapping[str, Any]) -> str:
    """SHA-256 of the previous digest, a newline and the entry's canonical bytes, in hex."""
    return hashlib.sha256(prev_digest.encode("ascii") + b"\n" + canonical_bytes(record)).hexdigest()


def entry_digest(prev_digest: str, entry: AuditEntry) -> str:
    """The digest chaining an entry to its predecessor."""
    return record_digest(prev_digest, entry_record(entry))


def _lock_head(session: Session) -> AuditHead:
    # FOR UPDATE serialises appenders on PostgreSQL; on SQLite every write transaction already
    # holds the database's write lock (BEGIN IMMEDIATE, see db.py).
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, digest=GENESIS)
        session.add(head)
        session.flush()
    return head


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    purpose: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction: it lands if and only if the change it records does."""
    head = _lock_head(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=(at or datetime.now(UTC)).astimezone(UTC),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        purpose=purpose,
        details=details or {},
        prev_digest=head.digest,
    )
    entry.digest = entry_digest(head.digest, entry)
    session.add(entry)
    head.seq = entry.seq
    head.digest = entry.digest
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    """What verification found: the entries checked, the head, and the first bad entry if any."""

    ok: bool
    checked: int
    head_digest: str
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the chain from the first entry and report the first one that does not fit."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq >= expected_seq).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(False, checked, prev, expected_seq, f"entry {expected_seq} is missing")
            if entry.prev_digest != prev:
                return ChainReport(
                    False, checked, prev, entry.seq, "its link to the previous entry is broken"
                )
            if entry_digest(prev, entry) != entry.digest:
                return ChainReport(False, checked, prev, entry.seq, "its contents were altered")
            prev = entry.digest
            last_seq = entry.seq
            expected_seq += 1
            checked += 1
    head = session.get(AuditHead, 1)
    head_seq, head_digest = (head.seq, head.digest) if head else (0, GENESIS)
    if head_seq != last_seq or head_digest != prev:
        return ChainReport(
            False,
            checked,
            prev,
            last_seq + 1,
            f"the chain ends at entry {last_seq} but its head says {head_seq}",
        )
    return ChainReport(True, checked, prev)
