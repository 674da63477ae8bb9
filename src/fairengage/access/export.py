"""The audit log as JSON Lines, and a check of such a file that needs no database.

An export holds one entry per line, in sequence order, with every stored field (the chain's links
`prev_digest` and `digest` included), then one last line with the chain's head as it stood when the
export began. `verify_export` re-computes every digest from the exported fields alone, the same way
`audit.entry_digest` does, so a reviewer outside the service can check a file with nothing but it.
docs/auditor.md gives the recipe precisely enough to re-implement in any language.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit
from fairengage.access.models import AuditEntry, AuditHead

GENESIS = audit.GENESIS
CANONICAL_FIELDS = audit.CANONICAL_FIELDS
ENTRY_FIELDS = audit.ENTRY_FIELDS
FORMAT = "fairengage-audit-export/1"
entry_record = audit.entry_record
canonical_bytes = audit.canonical_bytes
record_digest = audit.record_digest


def local_bounds(
    first: date | None, last: date | None, tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """The UTC instants from the start of local day `first` to the start of the day after `last`.

    A bound at the edge of the calendar (0001-01-01 east of UTC, 9999-12-31 anywhere) has no instant a
    datetime can hold; it is no bound at all, since no entry can lie beyond it.
    """
    return _midnight_utc(first, tz), _midnight_utc(last, tz, days_after=1)


def _midnight_utc(day: date | None, tz: tzinfo, *, days_after: int = 0) -> datetime | None:
    if day is None:
        return None
    try:
        return datetime.combine(day + timedelta(days=days_after), time(), tzinfo=tz).astimezone(UTC)
    except OverflowError:
        return None


@dataclass(frozen=True)
class ExportRange:
    """The contiguous run of sequence numbers an export covers, and the head when it was taken."""

    first_seq: int
    last_seq: int
    head_seq: int
    head_digest: str

    @property
    def empty(self) -> bool:
        """True when no entry falls in the range."""
        return self.last_seq < self.first_seq


def export_range(*, session: Session, start: datetime | None, end: datetime | None) -> ExportRange:
    """From the first entry at or after `start` to the last one before `end`, both within the head.

    The run is contiguous in sequence numbers even if an entry was given an earlier time than the one
    before it (bulk loads may state their own time): a run with gaps could not be verified as a chain.
    """
    head = session.get(AuditHead, 1)
    head_seq, head_digest = (head.seq, head.digest) if head else (0, GENESIS)
    within = AuditEntry.seq <= head_seq
    first = 1
    if start is not None:
        first = session.scalar(select(func.min(AuditEntry.seq)).where(within, AuditEntry.at >= start)) or 0
    last = head_seq
    if end is not None:
        last = session.scalar(select(func.max(AuditEntry.seq)).where(within, AuditEntry.at < end)) or 0
    if first == 0 or last == 0:
        first, last = 1, 0
    return ExportRange(first, last, head_seq, head_digest)


def export_lines(
    sessions: sessionmaker[Session],
    *,
    tz: tzinfo,
    first: date | None = None,
    last: date | None = None,
    batch: int = 1000,
) -> Iterator[str]:
    """The export, line by line (each ending in a newline), read in batches of short transactions.

    The head is fixed when the export starts and entries are never changed once written, so reading
    batch by batch gives the same file as one long read without holding a transaction open (on SQLite
    a transaction holds the write lock) while the file is sent.
    """
    start, end = local_bounds(first, last, tz)
    audit.seal_all(sessions)
    with sessions() as session:
        span = export_range(session=session, start=start, end=end)
    exported_at = datetime.now(UTC).isoformat(timespec="seconds")
    count = 0
    cursor = span.first_seq
    while cursor <= span.last_seq:
        upper = min(cursor + batch - 1, span.last_seq)
        with sessions() as session:
            rows = session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq >= cursor, AuditEntry.seq <= upper)
                .order_by(AuditEntry.seq)
            ).all()
            for entry in rows:
                count += 1
                yield json.dumps(entry_record(entry), ensure_ascii=False, separators=(",", ":")) + "\n"
        cursor = upper + 1
    trailer = {
        "format": FORMAT,
        "head": {"seq": span.head_seq, "digest": span.head_digest},
        "first_seq": None if span.empty else span.first_seq,
        "last_seq": None if span.empty else span.last_seq,
        "entries": count,
        "from": first.isoformat() if first else None,
        "to": last.isoformat() if last else None,
        "exported_at": exported_at,
    }
    yield json.dumps(trailer, separators=(",", ":")) + "\n"


def record_export(*, session: Session, actor: str, first: date | None, last: date | None) -> None:
    """Log that someone took a copy of the audit log, and of which days, in the caller's transaction."""
    audit.append(
        session,
        actor=actor,
        action="audit.export",
        entity="audit_log",
        entity_id=None,
        purpose="oversight",
        details={"from": first.isoformat() if first else None, "to": last.isoformat() if last else None},
    )


def write_export(
    sessions: sessionmaker[Session], path: Path, *, tz: tzinfo, first: date | None, last: date | None
) -> dict[str, Any]:
    """Write the export to `path` (whole or not at all) and return its head line."""
    partial = path.with_name(path.name + ".part")
    trailer = ""
    try:
        # Owner-only, like a backup: the export names who read whose record and why.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with open(fd, "w", encoding="utf-8", newline="\n") as handle:
            for line in export_lines(sessions, tz=tz, first=first, last=last):
                handle.write(line)
                trailer = line
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    summary: dict[str, Any] = json.loads(trailer)
    return summary


@dataclass(frozen=True)
class ExportReport:
    """What checking an export found; the first five fields mean what they mean in `audit.ChainReport`."""

    ok: bool
    checked: int
    head_digest: str
    first_bad_seq: int | None = None
    problem: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    # True when the file runs from the first entry ever written to the head it names.
    complete: bool = False


class _Bad(Exception):
    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def verify_export(lines: Iterable[str | bytes]) -> ExportReport:
    """Check an exported file from its own fields: every link, every digest, and the head line."""
    state: dict[str, Any] = {"prev": GENESIS, "expected": None, "checked": 0, "first": None, "last": None}
    try:
        trailer = _walk(lines, state)
        complete = _check_trailer(trailer, state)
    except _Bad as bad:
        return ExportReport(
            False, state["checked"], state["prev"], bad.seq, bad.problem, state["first"], state["last"]
        )
    return ExportReport(
        True, state["checked"], state["prev"], None, None, state["first"], state["last"], complete
    )


def _walk(lines: Iterable[str | bytes], state: dict[str, Any]) -> dict[str, Any]:
    trailer: dict[str, Any] | None = None
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            raise _Bad(state["expected"], f"line {number} is not UTF-8") from None
        if not text.strip():
            continue
        if trailer is not None:
            raise _Bad(state["expected"], f"line {number} comes after the head line")
        try:
            obj = json.loads(text)
        except ValueError:
            raise _Bad(state["expected"], f"line {number} is not valid JSON") from None
        if not isinstance(obj, dict):
            raise _Bad(state["expected"], f"line {number} is not a JSON object")
        if "head" in obj and "seq" not in obj:
            trailer = obj
            continue
        _check_entry(obj, number, state)
    if trailer is None:
        raise _Bad(state["expected"], "the file has no head line: it was cut short")
    return trailer


def _check_entry(obj: dict[str, Any], number: int, state: dict[str, Any]) -> None:
    missing = [name for name in ENTRY_FIELDS if name not in obj]
    seq = obj.get("seq")
    if missing or not _is_int(seq):
        raise _Bad(
            seq if _is_int(seq) else state["expected"],
            f"line {number} lacks {', '.join(missing) or 'a whole-number seq'}",
        )
    if state["expected"] is None:
        # A file of selected days starts mid-chain: its first link is taken as given, and can be
        # matched against the last digest of the export before it.
        state["first"] = state["expected"] = seq
        state["prev"] = GENESIS if seq == 1 else obj["prev_digest"]
    if seq != state["expected"]:
        if seq > state["expected"]:
            raise _Bad(state["expected"], f"entry {state['expected']} is missing")
        raise _Bad(seq, f"entry {seq} is repeated or out of order")
    if obj["prev_digest"] != state["prev"]:
        raise _Bad(seq, "its link to the previous entry is broken")
    try:
        digest = record_digest(state["prev"], obj)
    except (TypeError, ValueError):
        raise _Bad(seq, "its fields cannot be put in canonical form") from None
    if digest != obj["digest"]:
        raise _Bad(seq, "its contents were altered")
    state["prev"] = obj["digest"]
    state["last"] = seq
    state["expected"] = seq + 1
    state["checked"] += 1


def _check_trailer(trailer: dict[str, Any], state: dict[str, Any]) -> bool:
    head = trailer.get("head")
    if not isinstance(head, dict) or not _is_int(head.get("seq")) or not isinstance(head.get("digest"), str):
        raise _Bad(state["expected"], "the head line does not give the head's seq and digest")
    if trailer.get("entries") != state["checked"]:
        raise _Bad(
            state["expected"],
            f"the head line counts {trailer.get('entries')} entries but the file holds {state['checked']}",
        )
    if (trailer.get("first_seq"), trailer.get("last_seq")) != (state["first"], state["last"]):
        raise _Bad(
            state["expected"],
            f"the head line says entries {trailer.get('first_seq')} to {trailer.get('last_seq')} "
            f"but the file holds {state['first']} to {state['last']}",
        )
    last = state["last"] or 0
    if last > head["seq"]:
        raise _Bad(head["seq"] + 1, f"entries run past the head ({head['seq']})")
    if last == head["seq"] and state["prev"] != head["digest"]:
        raise _Bad(last, "the last entry's digest is not the head digest")
    return state["first"] in (None, 1) and last == head["seq"]


def main(argv: list[str] | None = None) -> int:
    """`python -m fairengage.access.export FILE`: check an export; exit 1 naming the first bad entry."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m fairengage.access.export FILE", file=sys.stderr)
        return 2
    with open(args[0], "rb") as handle:
        report = verify_export(handle)
    if not report.ok:
        print(f"error: {args[0]}: entry {report.first_bad_seq}: {report.problem}", file=sys.stderr)
        return 1
    scope = "the whole log" if report.complete else f"entries {report.first_seq} to {report.last_seq}"
    print(f"export intact: {report.checked} entries ({scope}); last digest {report.head_digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
