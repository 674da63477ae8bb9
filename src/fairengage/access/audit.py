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

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access.models import AuditEntry, AuditHead, AuditPending
from fairengage.db import insert_or_skip

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


_LOG = AuditEntry.__table__
_HEAD = AuditHead.__table__
_PENDING = AuditPending.__table__
_JOURNAL = insert(_PENDING)
# Entries sealed per transaction: enough to keep up with any load, few enough to hold the head briefly.
SEAL_BATCH = 2000


_HEAD_FOR_UPDATE = select(_HEAD.c.seq, _HEAD.c.digest).where(_HEAD.c.id == 1).with_for_update()


def _lock_head(connection: Connection) -> tuple[int, str]:
    # FOR UPDATE serialises appenders on PostgreSQL; on SQLite every write transaction already
    # holds the database's write lock (BEGIN IMMEDIATE, see db.py). The lock is held until commit.
    head = connection.execute(_HEAD_FOR_UPDATE).first()
    if head is None:
        # The very first entry: writers racing to create the head must not fail on its key, so the
        # loser skips its insert, waits for the winner's row and locks that.
        connection.execute(insert_or_skip(connection, _HEAD, ("id",)).values(id=1, seq=0, digest=GENESIS))
        head = connection.execute(_HEAD_FOR_UPDATE).one()
    return head.seq, head.digest


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
) -> dict[str, Any]:
    """Append one entry in the caller's transaction: it lands if and only if the change it records does.

    Written with Core statements rather than ORM objects: recording an engagement appends on every
    request, and no session may keep a stale copy of the head in its identity map.
    """
    # The caller's pending changes go first, so that every writer takes its row locks before the
    # head's and two writers can never wait on each other in opposite orders.
    session.flush()
    connection = session.connection()
    seq, prev = _lock_head(connection)
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    row = _chained(seq + 1, prev, moment, actor, action, entity, entity_id, purpose, details or {})
    connection.execute(insert(_LOG), row)
    connection.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq + 1, digest=row["digest"]))
    return row


def _chained(
    seq: int,
    prev: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    purpose: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    """An audit_log row at place `seq`, its digest chaining it to `prev`."""
    record: dict[str, Any] = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "purpose": purpose,
        "details": details,
        "prev_digest": prev,
    }
    record["digest"] = record_digest(prev, record)
    # The stored time is the datetime itself; the digest covers its canonical text.
    return {**record, "at": at}


def journal(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    purpose: str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Write an entry in the caller's transaction for `seal` to chain moments later.

    For the busiest writes: `append` makes every writer queue on the chain's head until it commits,
    which caps recording at one transaction at a time. A journalled entry still lands if and only
    if its change does; only its place in the chain is given later, in commit order.
    """
    session.connection().execute(
        _JOURNAL,
        {
            "at": (at or datetime.now(UTC)).astimezone(UTC),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "purpose": purpose,
            "details": details or {},
        },
    )


def seal(session: Session, *, limit: int = SEAL_BATCH) -> int:
    """Chain up to `limit` journalled entries, oldest first, in the caller's transaction; how many."""
    connection = session.connection()
    # Cheap test first, so an idle sealer never takes the head's lock.
    if connection.execute(select(_PENDING.c.id).limit(1)).first() is None:
        return 0
    seq, prev = _lock_head(connection)
    pending = connection.execute(select(_PENDING).order_by(_PENDING.c.id).limit(limit)).all()
    entries = []
    for row in pending:
        seq += 1
        details = row.details or {}
        entry = _chained(
            seq, prev, row.at, row.actor, row.action, row.entity, row.entity_id, row.purpose, details
        )
        prev = entry["digest"]
        entries.append(entry)
    if not entries:
        return 0
    connection.execute(insert(_LOG), entries)
    connection.execute(delete(_PENDING).where(_PENDING.c.id.in_([row.id for row in pending])))
    connection.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, digest=prev))
    return len(entries)


def seal_all(sessions: sessionmaker[Session]) -> int:
    """Seal every journalled entry, a batch per transaction; how many. Run before reading the log."""
    total = 0
    while True:
        with sessions.begin() as session:
            sealed = seal(session)
        total += sealed
        if sealed < SEAL_BATCH:
            return total


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
