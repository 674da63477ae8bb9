"""The tamper-evident audit log: every write and every read of personal information, chained by hash
and gathered into a Merkle tree whose signed checkpoints are published outside the database.

Each entry's digest is SHA-256 over the previous digest and the entry's canonical JSON, and the
chain's head (last sequence number and digest) is kept in its own row. Altering, inserting or
removing any entry, the last one included, breaks that chain, but whoever controls the database can
recompute it. So the same canonical bytes are also the leaves of an RFC 9162 Merkle tree (merkle.py),
grown in the same transaction as each append or seal: the head keeps the tree's frontier (the roots
of its complete subtrees) and the table audit_tree keeps every complete subtree's hash, written once,
so that inclusion and consistency proofs read O(log n) rows. transparency.py signs the tree's root in
checkpoints kept outside the database (a folder, the public page /transparency/audit, and any copy an
auditor keeps); `fairengage audit verify --checkpoint FILE` proves the log still extends each one, so
truncation, a rewrite, a fork, a re-ordering or a wiped log is caught even when the chain was redone.

Two more guards: the head never moves below the size of the latest checkpoint in the folder (`Guard`,
set by transparency.bind), and journalled rows carry an HMAC under a key derived from the secret key,
which a database administrator does not have, so a row forged into the journal is refused at sealing
and reported by an entry of its own ("audit.journal_forgery").
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Row, RowMapping, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import merkle
from fairengage.access.models import AuditEntry, AuditHead, AuditPending, AuditTreeNode
from fairengage.config import get_settings
from fairengage.db import insert_or_skip

GENESIS = "0" * 64


# The fields an entry's digest covers, and every field an exported line carries.
CANONICAL_FIELDS = ("seq", "at", "actor", "action", "entity", "entity_id", "purpose", "details")
ENTRY_FIELDS = (*CANONICAL_FIELDS, "prev_digest", "digest")


def entry_record(entry: AuditEntry | Row[Any]) -> dict[str, Any]:
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
_TREE = AuditTreeNode.__table__
_JOURNAL = insert(_PENDING)
# Entries sealed per transaction: enough to keep up with any load, few enough to hold the head briefly.
SEAL_BATCH = 2000
# The label that derives the journal's MAC key from the secret key (an HMAC-based KDF, RFC 5869's
# extract step with the label as salt): the same secret never keys two different things.
JOURNAL_MAC_LABEL = b"fairengage/audit-journal-mac/v1"
FORGERY_ACTION = "audit.journal_forgery"
# Fields of a journalled row its MAC covers: all but its database id.
JOURNAL_FIELDS = ("at", "actor", "action", "entity", "entity_id", "purpose", "details")


class AuditRolledBack(RuntimeError):
    """The log in the database is shorter than a checkpoint already published: refuse to write on it."""


@dataclass
class Guard:
    """What the database does not hold: the journal's MAC key and the least size the log may have."""

    mac_key: bytes
    # The tree size of the latest checkpoint written to the folder; the head may never go below it.
    floor: int = 0


# One guard per engine (engine_for caches one engine per URL); set by transparency.bind.
_GUARDS: WeakKeyDictionary[Engine, Guard] = WeakKeyDictionary()


def journal_mac_key(secret: bytes) -> bytes:
    """The journal's MAC key, derived from the secret key under its own label."""
    return hmac.new(JOURNAL_MAC_LABEL, secret, hashlib.sha256).digest()


def set_guard(engine: Engine, guard: Guard) -> None:
    """Use `guard` for every append and seal on `engine`."""
    _GUARDS[engine] = guard


def raise_floor(engine: Engine, size: int) -> None:
    """A checkpoint of `size` entries was kept: the log on `engine` may no longer shrink below it."""
    guard = _GUARDS.get(engine)
    if guard is not None:
        guard.floor = max(guard.floor, size)


def guard_of(connection: Connection) -> Guard:
    """The guard of the connection's engine; the environment's secret key if none was set."""
    engine = connection.engine
    guard = _GUARDS.get(engine)
    if guard is None:
        guard = _GUARDS.setdefault(engine, Guard(journal_mac_key(get_settings().secret)))
    return guard


def journal_mac(key: bytes, row: Mapping[str, Any] | RowMapping) -> str:
    """HMAC-SHA256, in hex, of a journalled row's fields as canonical JSON."""
    body = {name: row[name] for name in JOURNAL_FIELDS}
    body["at"] = row["at"].astimezone(UTC).isoformat(timespec="microseconds")
    body["details"] = body["details"] or {}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hmac.new(key, text, hashlib.sha256).hexdigest()


_HEAD_FOR_UPDATE = select(_HEAD).where(_HEAD.c.id == 1).with_for_update()


@dataclass
class _Head:
    seq: int
    digest: str
    tree_size: int
    frontier: str


def _lock_head(connection: Connection) -> _Head:
    # FOR UPDATE serialises appenders on PostgreSQL; on SQLite every write transaction already
    # holds the database's write lock (BEGIN IMMEDIATE, see db.py). The lock is held until commit.
    head = connection.execute(_HEAD_FOR_UPDATE).first()
    if head is None:
        # The very first entry: writers racing to create the head must not fail on its key, so the
        # loser skips its insert, waits for the winner's row and locks that.
        connection.execute(
            insert_or_skip(connection, _HEAD, ("id",)).values(
                id=1, seq=0, digest=GENESIS, tree_size=0, frontier=""
            )
        )
        head = connection.execute(_HEAD_FOR_UPDATE).one()
    floor = guard_of(connection).floor
    if head.seq < floor:
        raise AuditRolledBack(
            f"the audit log has {head.seq} entries but a published checkpoint covers {floor}: "
            "it was truncated or rolled back; nothing more is written until it is restored"
        )
    return _Head(head.seq, head.digest, head.tree_size, head.frontier)


def _frontier(head: _Head) -> merkle.Frontier:
    text = head.frontier
    return merkle.Frontier(head.tree_size, [bytes.fromhex(text[i : i + 64]) for i in range(0, len(text), 64)])


def _catch_up(connection: Connection, head: _Head, tree: merkle.Frontier) -> None:
    """Add to the tree the entries it lacks (a log written before the tree existed), in batches."""
    while tree.size < head.seq:
        rows = connection.execute(
            select(_LOG).where(_LOG.c.seq > tree.size).order_by(_LOG.c.seq).limit(SEAL_BATCH)
        ).all()
        if not rows or rows[0].seq != tree.size + 1:
            raise RuntimeError(f"audit entry {tree.size + 1} is missing: run `fairengage audit verify`")
        nodes: list[dict[str, Any]] = []
        for row in rows:
            if row.seq > head.seq:
                break
            _store(nodes, tree.push(merkle.leaf_hash(canonical_bytes(entry_record(row)))))
        connection.execute(insert(_TREE), nodes)


def complete_tree(session: Session) -> int:
    """Bring the Merkle tree up to the head (a log from before the tree existed); the tree's size.

    Run by `fairengage audit checkpoint` and at start-up, so that the first append after an upgrade
    does not carry the whole catch-up, and a checkpoint always covers every entry.
    """
    connection = session.connection()
    head = connection.execute(select(_HEAD.c.seq, _HEAD.c.tree_size).where(_HEAD.c.id == 1)).first()
    if head is None or head.tree_size >= head.seq:
        return head.tree_size if head else 0
    locked = _lock_head(connection)
    tree = _frontier(locked)
    _catch_up(connection, locked, tree)
    connection.execute(
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(tree_size=tree.size, frontier="".join(h.hex() for h in tree.roots))
    )
    return tree.size


def _store(nodes: list[dict[str, Any]], made: list[tuple[int, int, bytes]]) -> None:
    nodes.extend({"level": level, "idx": idx, "hash": h} for level, idx, h in made)


def _advance(connection: Connection, head: _Head, rows: list[dict[str, Any]], leaves: list[bytes]) -> None:
    """Insert chained entries and their tree nodes, and move the head, all in the caller's transaction."""
    tree = _frontier(head)
    if tree.size < head.seq:
        _catch_up(connection, head, tree)
    nodes: list[dict[str, Any]] = []
    for leaf in leaves:
        _store(nodes, tree.push(leaf))
    connection.execute(insert(_LOG), rows)
    connection.execute(insert(_TREE), nodes)
    connection.execute(
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(
            seq=rows[-1]["seq"],
            digest=rows[-1]["digest"],
            tree_size=tree.size,
            frontier="".join(h.hex() for h in tree.roots),
        )
    )


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
    head = _lock_head(connection)
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    row, leaf = _chained(
        head.seq + 1, head.digest, moment, actor, action, entity, entity_id, purpose, details or {}
    )
    _advance(connection, head, [row], [leaf])
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
) -> tuple[dict[str, Any], bytes]:
    """An audit_log row at place `seq`, its digest chaining it to `prev`, and its Merkle leaf hash."""
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
    canonical = canonical_bytes(record)
    record["digest"] = hashlib.sha256(prev.encode("ascii") + b"\n" + canonical).hexdigest()
    # The stored time is the datetime itself; the digest covers its canonical text.
    return {**record, "at": at}, merkle.leaf_hash(canonical)


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
    if its change does; only its place in the chain is given later, in commit order. Its MAC proves
    to the sealer that the service wrote it, not someone with only the database's password.
    """
    connection = session.connection()
    row = {
        "at": (at or datetime.now(UTC)).astimezone(UTC),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "purpose": purpose,
        "details": details or {},
    }
    row["mac"] = journal_mac(guard_of(connection).mac_key, row)
    connection.execute(_JOURNAL, row)


def _forgery_report(row: Any) -> dict[str, Any]:
    """The details of the entry that stands in for a journalled row whose MAC is missing or wrong."""
    return {
        "pending_id": row.id,
        "at": row.at.astimezone(UTC).isoformat(timespec="microseconds") if row.at else None,
        "actor": row.actor,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "purpose": row.purpose,
        "details": row.details or {},
        "mac": row.mac,
    }


def seal(session: Session, *, limit: int = SEAL_BATCH) -> int:
    """Chain up to `limit` journalled entries, oldest first, in the caller's transaction; how many.

    A row whose MAC is missing or wrong was not written by the service: it is not chained but
    replaced by an "audit.journal_forgery" entry carrying its fields, and still leaves the journal.
    """
    connection = session.connection()
    # Cheap test first, so an idle sealer never takes the head's lock.
    if connection.execute(select(_PENDING.c.id).limit(1)).first() is None:
        return 0
    head = _lock_head(connection)
    key = guard_of(connection).mac_key
    pending = connection.execute(select(_PENDING).order_by(_PENDING.c.id).limit(limit)).all()
    entries, leaves = [], []
    seq, prev = head.seq, head.digest
    now = datetime.now(UTC)
    for row in pending:
        seq += 1
        fields = row._mapping
        if row.mac is not None and hmac.compare_digest(row.mac, journal_mac(key, fields)):
            entry, leaf = _chained(
                seq, prev, row.at, row.actor, row.action, row.entity, row.entity_id, row.purpose,
                row.details or {},
            )
        else:
            entry, leaf = _chained(
                seq, prev, now, "fairengage", FORGERY_ACTION, "audit_pending", str(row.id),
                "integrity", _forgery_report(row),
            )
        prev = entry["digest"]
        entries.append(entry)
        leaves.append(leaf)
    if not entries:
        return 0
    _advance(connection, head, entries, leaves)
    connection.execute(delete(_PENDING).where(_PENDING.c.id.in_([row.id for row in pending])))
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
    """What verification found: the entries checked, the head, and the first bad entry if any.

    `root` is the Merkle root over the entries checked, and `roots` the root at each size asked for.
    """

    ok: bool
    checked: int
    head_digest: str
    first_bad_seq: int | None = None
    problem: str | None = None
    root: bytes = merkle.EMPTY_ROOT
    roots: dict[int, bytes] = field(default_factory=dict)
    forgeries: tuple[int, ...] = ()


def verify(session: Session, *, batch: int = 5000, sizes: Collection[int] = ()) -> ChainReport:
    """Walk the chain from the first entry, growing its Merkle tree, and report the first entry that
    does not fit; the tree's root at each of `sizes` the walk reaches is in the report."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    tree = merkle.Frontier()
    wanted = set(sizes)
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in wanted else {}
    forgeries: list[int] = []

    def report(ok: bool, bad: int | None = None, problem: str | None = None) -> ChainReport:
        return ChainReport(ok, checked, prev, bad, problem, tree.root(), roots, tuple(forgeries))

    while True:
        rows = session.execute(
            select(_LOG).where(_LOG.c.seq >= expected_seq).order_by(_LOG.c.seq).limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return report(False, expected_seq, f"entry {expected_seq} is missing")
            if entry.prev_digest != prev:
                return report(False, entry.seq, "its link to the previous entry is broken")
            canonical = canonical_bytes(entry_record(entry))
            if hashlib.sha256(prev.encode("ascii") + b"\n" + canonical).hexdigest() != entry.digest:
                return report(False, entry.seq, "its contents were altered")
            tree.push(merkle.leaf_hash(canonical))
            if tree.size in wanted:
                roots[tree.size] = tree.root()
            if entry.action == FORGERY_ACTION:
                forgeries.append(entry.seq)
            prev = entry.digest
            last_seq = entry.seq
            expected_seq += 1
            checked += 1
    head = session.get(AuditHead, 1)
    head_seq, head_digest = (head.seq, head.digest) if head else (0, GENESIS)
    if head_seq != last_seq or head_digest != prev:
        return report(False, last_seq + 1, f"the chain ends at entry {last_seq} but its head says {head_seq}")
    kept = "".join(h.hex() for h in tree.roots)
    if head is not None and head.tree_size == head_seq and head.frontier != kept:
        return report(False, None, "the Merkle tree kept with the head does not match the entries")
    return report(True)
