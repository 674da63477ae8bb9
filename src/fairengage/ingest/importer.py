"""`fairengage import`: load engagements from a file, all or nothing, and never twice.

An import reads the file twice. The first pass checks every row; by default the first bad row stops
the import with one line naming the file, row and column, before anything is stored. With a rejects
file, bad rows are listed there and the good ones go on. The second pass loads the good rows through
the bulk loader (`engagements/bulk.py`) in one transaction, so they are judged by the rule set in force
on their date and stored with their findings; refusal is for the point of entry, an import records what
happened. Each row's engagement id is derived from its own id in the file (our `engagement_id`, the
Open Policing Project's `raw_row_number`), and ids already in the database are skipped: importing a
file again stores nothing new.

This module holds the machinery and our own format (`fairengage`: the analytic table of docs/architecture.md,
with or without the detail columns of `ingest/synth.py`); `opp.py` holds the Open Policing format.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit
from fairengage.config import Settings
from fairengage.db import transaction
from fairengage.engagements import bulk
from fairengage.engagements.models import Engagement, ImportBatch
from fairengage.ingest import opp
from fairengage.ingest.rows import (
    MAX_AGE,
    Parsed,
    RowError,
    bool_value,
    check_columns,
    choice_value,
    csv_rows,
    date_value,
    float_value,
    has_control_characters,
    int_value,
    quote,
    text_value,
    timestamp_value,
)
from fairengage.ingest.synth import ANALYTIC_COLUMNS, GENDERS, OUTCOMES
from fairengage.officers.models import Division
from fairengage.progress import NO_PROGRESS, Progress
from fairengage.vocabulary import PERCEIVED_RACES

FORMATS = ("fairengage", "opp")
LOAD_CHUNK = 2000
class ImportRefused(Exception):
    """The import stopped at a bad row or a bad file; nothing was stored."""

    def __init__(self, path: Path, error: RowError) -> None:
        super().__init__(f"{path}:{error.row}:{error.column}: {error.reason}")
        self.path = path
        self.error = error


class RowFormat(Protocol):
    """What an import format provides: the rows of a file, and one row's checked fields."""

    name: str
    id_column: str
    # False for another jurisdiction's or source's records, which are never "legacy" by our rule dates.
    own_records: bool

    def rows(self, path: Path) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
        """Each row with its number, or the row's error; raises RowError when the file cannot be read."""
        ...

    def parse(self, row: int, raw: Mapping[str, Any]) -> Parsed:
        """The row's fields, checked; raises RowError naming the first bad column."""
        ...


@dataclass(frozen=True)
class Reject:
    """A row left out by `--skip-invalid`."""

    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rows read = stored + already present + rejected."""

    read: int
    stored: int
    rejected: int
    already_present: int
    sha256: str
    batch_id: int
    rejects: tuple[Reject, ...] = ()
    # Rows stored as legacy (made before the regulation): the default extract leaves them out.
    legacy: int = 0

    def summary(self) -> str:
        """The counts as printed by the command, and what the default extract will leave out and why."""
        text = f"read {self.read:,}, stored {self.stored:,}, rejected {self.rejected:,}"
        if self.already_present:
            text += f", already present {self.already_present:,}"
        if self.legacy:
            text += (
                f"; {self.legacy:,} of the stored rows are legacy records (made before the regulation): "
                "`fairengage extract` leaves them out unless given --include-legacy"
            )
        return text


def import_file(
    *,
    sessions: sessionmaker[Session],
    path: Path,
    fmt: str,
    settings: Settings,
    actor: str,
    rejects_path: Path | None = None,
    timezone: str | None = None,
    progress: Progress = NO_PROGRESS,
    now: datetime | None = None,
) -> ImportResult:
    """Import a file in `fmt` (`fairengage` or `opp`); raise ImportRefused when nothing may be stored.

    Without `rejects_path` the first bad row refuses the whole file. With it, bad rows are written there
    (row, column, reason) and the good rows are stored. A bad header always refuses the whole file.
    """
    path = Path(path)
    tz = check_timezone(timezone or settings.timezone)
    local = settings.model_copy(update={"timezone": tz})
    now = now or datetime.now(UTC)
    digest = file_sha256(path)
    with sessions() as session:
        divisions = set(session.scalars(select(Division.code)))
    parser = _parser(fmt, tz=tz, digest=digest, divisions=divisions, now=now)
    hook = progress

    # Pass 1: check every row. Only row numbers, ids, officers and divisions are kept, not the rows.
    checked = _check_rows(path, parser, stop_at_first=rejects_path is None, hook=hook)
    if rejects_path is not None:
        write_rejects(rejects_path, checked.rejects)

    # Pass 2: load the good rows in one transaction.
    with transaction(sessions) as session:
        batch = ImportBatch(
            sha256=digest,
            file_name=path.name[:300],
            format=fmt,
            actor=actor,
            imported_at=now,
            rows_read=checked.read,
            rows_rejected=len(checked.rejects),
        )
        session.add(batch)
        session.flush()
        for code, name in checked.divisions.items():
            if code not in divisions:
                session.add(Division(code=code, name=name))
        session.flush()
        officers = bulk.ensure_officers(session=session, roster=checked.officers.values())
        stored, present = _load_rows(
            session, path, parser, checked, officers=officers, settings=local, actor=actor, batch=batch,
            hook=hook,
        )  # fmt: skip
        batch.rows_stored = stored
        batch.rows_already_present = present
        legacy = session.scalar(
            select(func.count())
            .select_from(Engagement)
            .where(Engagement.import_batch_id == batch.id, Engagement.legacy.is_(True))
        )
        audit.append(
            session,
            actor=actor,
            action="import.batch",
            entity="import_batch",
            entity_id=str(batch.id),
            purpose="import of engagements",
            details={
                "file": path.name,
                "sha256": digest,
                "format": fmt,
                "read": checked.read,
                "stored": stored,
                "rejected": len(checked.rejects),
                "already_present": present,
                "legacy": legacy,
            },
        )
        batch_id = batch.id
    return ImportResult(
        read=checked.read,
        stored=stored,
        rejected=len(checked.rejects),
        already_present=present,
        sha256=digest,
        batch_id=batch_id,
        rejects=tuple(checked.rejects),
        legacy=int(legacy or 0),
    )


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    """The rejects file: one line per bad row with its row number, column and reason; owner-only."""
    # Reasons quote no personal information, but rows and reasons still describe the service's records:
    # readable by the importing account only, an existing file included (a mode given to open() applies
    # only to a file it creates).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with open(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "reason"])
        writer.writerows([r.row, r.column, r.reason] for r in rejects)


@dataclass
class _Checked:
    read: int = 0
    rejects: list[Reject] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)
    officers: dict[str, bulk.RosterEntry] = field(default_factory=dict)
    divisions: dict[str, str] = field(default_factory=dict)


def _check_rows(path: Path, parser: RowFormat, *, stop_at_first: bool, hook: Progress) -> _Checked:
    checked = _Checked()
    first_row_of: dict[str, int] = {}
    hook.phase(f"checking {path.name}", None)
    for row, raw in _rows_or_refuse(path, parser):
        checked.read += 1
        try:
            if isinstance(raw, RowError):
                raise raw
            parsed = parser.parse(row, raw)
            source_id = parsed.fields["engagement_id"]
            if source_id in first_row_of:
                raise RowError(row, parser.id_column, f"repeats the id of row {first_row_of[source_id]}")
        except RowError as error:
            if stop_at_first:
                raise ImportRefused(path, error) from None
            checked.rejects.append(Reject(error.row, error.column, error.reason))
            checked.bad_rows.add(row)
            continue
        finally:
            hook.advance(1)
        first_row_of[source_id] = row
        checked.officers.setdefault(parsed.officer.badge, parsed.officer)
        checked.divisions.setdefault(parsed.division, parsed.division_name)
    return checked


def _rows_or_refuse(path: Path, parser: RowFormat) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
    try:
        yield from parser.rows(path)
    except RowError as error:
        # A file-level problem (header, encoding, a broken Parquet file) refuses the whole file.
        raise ImportRefused(path, error) from None


def _load_rows(
    session: Session,
    path: Path,
    parser: RowFormat,
    checked: _Checked,
    *,
    officers: dict[str, Any],
    settings: Settings,
    actor: str,
    batch: ImportBatch,
    hook: Progress,
) -> tuple[int, int]:
    """Store the good rows that are not already in the database; returns (stored, already present)."""
    hook.phase(f"loading {path.name}", checked.read - len(checked.bad_rows))
    taken = set(session.scalars(select(Engagement.receipt_code)))
    stored = present = 0
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal stored, present
        ids = {bulk.engagement_uuid(p["engagement_id"]): p for p in pending}
        known = set(session.scalars(select(Engagement.id).where(Engagement.id.in_(list(ids)))))
        fresh = [p for eid, p in ids.items() if eid not in known]
        present += len(pending) - len(fresh)
        if fresh:
            frame = pd.DataFrame(fresh, dtype=object)
            stored += bulk.load_frame(
                session=session, frame=frame, officers=officers, settings=settings, actor=actor,
                batch=LOAD_CHUNK, import_batch_id=batch.id, taken=taken, status="imported",
                own_records=parser.own_records,
            )  # fmt: skip
        hook.advance(len(pending))
        pending.clear()

    for row, raw in parser.rows(path):
        if row in checked.bad_rows or isinstance(raw, RowError):
            continue
        try:
            pending.append(parser.parse(row, raw).fields)
        except RowError as error:
            # The first pass found this row good: the file changed while it was being imported.
            reason = f"the file changed during the import ({error.reason})"
            raise ImportRefused(path, RowError(error.row, error.column, reason)) from None
        if len(pending) >= LOAD_CHUNK:
            flush()
    if pending:
        flush()
    return stored, present


def check_timezone(name: str) -> str:
    """The time zone's name, or ValueError when the zone database does not know it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


def _parser(fmt: str, *, tz: str, digest: str, divisions: set[str], now: datetime) -> RowFormat:
    if fmt == "opp":
        return opp.OppFormat(tz=tz, file_digest=digest, now=now)
    if fmt == "fairengage":
        return FairEngageFormat(divisions=divisions, now=now)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


# --- reading CSV ----------------------------------------------------------------------------------------


REQUIRED_COLUMNS = tuple(c for c in ANALYTIC_COLUMNS if c != "officer_key")
_PERSON_COLUMNS = ("person_name", "person_date_of_birth", "person_address")


class FairEngageFormat:
    """The analytic table (docs/architecture.md), Parquet or CSV, maybe with the synthetic detail columns.

    The analytic table names officers only by key: each key becomes an officer with badge `KEY-<key>`.
    `compliant` is read and checked but not kept: records are judged again under our rule sets.
    """

    name = "fairengage"
    id_column = "engagement_id"
    # Our own table (an extract, the demo's data): legacy sequestration applies.
    own_records = True

    def __init__(self, *, divisions: set[str], now: datetime) -> None:
        self.divisions = divisions
        self.now = now

    def rows(self, path: Path) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
        """Rows of a .csv (numbered by line, header 1) or .parquet file (numbered from 1)."""
        suffix = path.suffix.lower()
        if suffix == ".csv":
            yield from csv_rows(path, self._check_header)
        elif suffix == ".parquet":
            yield from self._parquet_rows(path)
        else:
            raise RowError(
                0, "-", f"cannot read a table with extension {suffix or '(none)'!r}: use .parquet or .csv"
            )

    def _check_header(self, header: list[str], row: int = 1) -> None:
        check_columns(header, REQUIRED_COLUMNS, row)
        if "officer_key" not in header and "officer_badge" not in header:
            raise RowError(row, "officer_key", "missing column (or officer_badge)")

    def _parquet_rows(self, path: Path) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
        # Parquet has no header line: rows are numbered from 1, and file-level problems are row 0.
        try:
            source = pq.ParquetFile(path)
            self._check_header(source.schema_arrow.names, 0)
            row = 0
            for batch in source.iter_batches(batch_size=LOAD_CHUNK):
                for record in batch.to_pylist():
                    row += 1
                    yield row, record
        except (pa.ArrowException, OSError) as exc:
            raise RowError(0, "-", f"is not a readable Parquet file ({exc})") from None

    def parse(self, row: int, raw: Mapping[str, Any]) -> Parsed:
        """Check one row of the analytic (or detailed) table."""
        source_id = text_value(row, "engagement_id", raw.get("engagement_id"), limit=200, required=True)
        occurred = timestamp_value(row, "occurred_at", raw.get("occurred_at"), now=self.now)
        division = text_value(row, "division", raw.get("division"), limit=16, required=True)
        if division not in self.divisions:
            raise RowError(row, "division", f"{quote(division)} is not a division of this service")
        badge = text_value(row, "officer_badge", raw.get("officer_badge"), limit=32)
        if badge is not None:
            officer = bulk.RosterEntry(badge, f"Officer {badge}", division or "", ())
        else:
            key = text_value(row, "officer_key", raw.get("officer_key"), limit=28, required=True) or ""
            officer = bulk.RosterEntry(f"KEY-{key}", f"Officer {key[:8]}", division or "", ())
        searched = bool_value(row, "searched", raw.get("searched"), required=True)
        contraband = bool_value(row, "contraband_found", raw.get("contraband_found"))
        has_person = any(name in raw for name in _PERSON_COLUMNS)
        person_name = _person_text(row, "person_name", raw.get("person_name"), 200) if has_person else None
        fields = {
            "engagement_id": source_id,
            "occurred_at": occurred,
            "division": division,
            "neighbourhood": text_value(row, "neighbourhood", raw.get("neighbourhood"), limit=120),
            "lat": float_value(row, "lat", raw.get("lat"), low=-90, high=90),
            "lon": float_value(row, "lon", raw.get("lon"), low=-180, high=180),
            "officer_badge": officer.badge,
            "purpose": text_value(row, "purpose", raw.get("purpose"), limit=40, required=True),
            "perceived_race": choice_value(row, "perceived_race", raw.get("perceived_race"), PERCEIVED_RACES),
            "perceived_gender": choice_value(row, "perceived_gender", raw.get("perceived_gender"), GENDERS),
            "perceived_age": int_value(row, "perceived_age", raw.get("perceived_age"), low=0, high=MAX_AGE),
            "informed": bool_value(row, "informed", raw.get("informed"), required=True),
            "receipt_offered": bool_value(row, "receipt_offered", raw.get("receipt_offered"), required=True),
            "identifying_info_collected": bool_value(
                row, "identifying_info_collected", raw.get("identifying_info_collected"), required=True
            ),
            "searched": searched,
            # Contraband is a search's result: kept only where a search was made (docs/architecture.md).
            "contraband_found": contraband if searched else None,
            "outcome": choice_value(row, "outcome", raw.get("outcome"), OUTCOMES),
            "reason": text_value(row, "reason", raw.get("reason"), limit=5000) or "",
            "reason_grounds": _grounds(row, raw.get("reason_grounds")),
            "inform_exception": text_value(row, "inform_exception", raw.get("inform_exception"), limit=40),
            "receipt_exception": text_value(row, "receipt_exception", raw.get("receipt_exception"), limit=40),
            "location_description": text_value(
                row, "location_description", raw.get("location_description"), limit=300
            ),
            "person_name": person_name,
            # Personal values are never quoted in messages: a rejects file must not carry them.
            "person_date_of_birth": date_value(
                row, "person_date_of_birth", raw.get("person_date_of_birth"), quote_value=False
            ),
            "person_address": _person_text(row, "person_address", raw.get("person_address"), 300),
            "legacy": bool_value(row, "legacy", raw.get("legacy")) or False,
            # Optional: the source id of the encounter's first record (an extract's own id for one person).
            "encounter_id": text_value(row, "encounter_id", raw.get("encounter_id"), limit=200),
        }
        bool_value(row, "compliant", raw.get("compliant"), required=True)
        return Parsed(fields=fields, officer=officer, division=division or "", division_name=division or "")


def _person_text(row: int, column: str, value: Any, limit: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RowError(row, column, "is not text")
    if len(value.strip()) > limit:
        raise RowError(row, column, f"longer than {limit} characters")
    if has_control_characters(value):
        raise RowError(row, column, "contains control characters")
    return value.strip()


def _grounds(row: int, value: Any) -> list[str]:
    """Reason grounds: a list, or codes joined with ";" (as `synth.write_table` writes them to CSV)."""
    if value is None:
        return []
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise RowError(row, "reason_grounds", f"{quote(value)} is not a list of ground codes")
    grounds = [i.strip() for i in items if i.strip()]
    if any(len(g) > 60 for g in grounds):
        raise RowError(row, "reason_grounds", "a ground code is longer than 60 characters")
    if any(has_control_characters(g) for g in grounds):
        raise RowError(row, "reason_grounds", "a ground code contains control characters")
    return grounds
