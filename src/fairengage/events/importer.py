"""`fairengage events import`: dispatch and body-worn camera events from a CSV file, all or nothing.

Every row is checked before anything is stored; the first bad row stops the import with
`FILE:ROW:COLUMN: reason`, as the engagement importer does. An event whose `event_id` is already stored
is left as it is (counted as already present), so a file can be imported again, or a later export that
overlaps an earlier one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit
from fairengage.db import transaction
from fairengage.events.models import OPEN, ExternalEvent
from fairengage.ingest.rows import (
    RowError,
    check_columns,
    csv_rows,
    float_value,
    quote,
    text_value,
    timestamp_value,
)
from fairengage.officers.models import Division, Officer

COLUMNS = ("event_id", "occurred_at", "badge", "division", "lat", "lon", "kind")
# A kind is the source system's word for what happened (person_stop, bwc_recording, …): any short
# lower-case word is accepted, since each system has its own list; reconciliation matches kinds apart.
_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Checked in chunks: SQLite allows only so many bound parameters in one IN (...).
_CHUNK = 900


class EventsRefused(Exception):
    """The import stopped at a bad row or file; nothing was stored."""

    def __init__(self, path: Path, error: RowError) -> None:
        super().__init__(f"{path}:{error.row}:{error.column}: {error.reason}")
        self.path = path
        self.error = error


@dataclass(frozen=True)
class EventRow:
    """One checked row, before its officer is looked up."""

    row: int
    event_id: str
    occurred_at: datetime
    badge: str
    division: str
    lat: float | None
    lon: float | None
    kind: str


@dataclass(frozen=True)
class ImportResult:
    rows: int
    stored: int
    already_present: int

    def summary(self) -> str:
        return f"stored {self.stored:,} of {self.rows:,} events ({self.already_present:,} already present)"


def read_rows(path: Path, now: datetime | None = None) -> list[EventRow]:
    """Every row of the file, checked; raises EventsRefused at the first bad one."""
    now = now or datetime.now(UTC)
    out: list[EventRow] = []
    seen: dict[str, int] = {}
    try:
        for line, row in csv_rows(path, lambda header: check_columns(header, COLUMNS)):
            if isinstance(row, RowError):
                raise row
            event = _checked(line, row, now)
            if event.event_id in seen:
                raise RowError(
                    line, "event_id", f"{quote(event.event_id)} repeats row {seen[event.event_id]}"
                )
            seen[event.event_id] = line
            out.append(event)
    except RowError as error:
        raise EventsRefused(path, error) from None
    return out


def _checked(line: int, row: dict[str, Any], now: datetime) -> EventRow:
    event_id = _required(line, "event_id", row, 80)
    badge = _required(line, "badge", row, 32)
    division = _required(line, "division", row, 16)
    kind = _required(line, "kind", row, 40)
    if not _KIND.fullmatch(kind):
        raise RowError(line, "kind", f"{quote(kind)} is not a lower-case word (e.g. person_stop)")
    lat = float_value(line, "lat", row["lat"], low=-90, high=90)
    lon = float_value(line, "lon", row["lon"], low=-180, high=180)
    if (lat is None) != (lon is None):
        # Half a position is no position; saying so beats silently dropping the half given.
        raise RowError(line, "lon" if lon is None else "lat", "missing: give both lat and lon, or neither")
    return EventRow(
        row=line,
        event_id=event_id,
        occurred_at=timestamp_value(line, "occurred_at", row["occurred_at"], now=now),
        badge=badge,
        division=division,
        lat=lat,
        lon=lon,
        kind=kind,
    )


def _required(line: int, column: str, row: dict[str, Any], limit: int) -> str:
    value = text_value(line, column, row[column], limit=limit, required=True)
    if value is None:  # required=True raises instead; this keeps the type a str
        raise RowError(line, column, "missing")
    return value


def import_events(*, sessions: sessionmaker[Session], path: Path, actor: str) -> ImportResult:
    """Check the file, then store its new events in one transaction, with one audit entry."""
    rows = read_rows(path)
    with transaction(sessions) as session:
        officers = _by_key(session, Officer, Officer.badge, {r.badge for r in rows})
        divisions = _by_key(session, Division, Division.code, {r.division for r in rows})
        present = set(_by_key(session, ExternalEvent, ExternalEvent.event_id, {r.event_id for r in rows}))
        moment = datetime.now(UTC)
        stored = 0
        for r in rows:
            officer = officers.get(r.badge)
            if officer is None:
                raise EventsRefused(path, RowError(r.row, "badge", f"no officer with badge {quote(r.badge)}"))
            if r.division not in divisions:
                raise EventsRefused(path, RowError(r.row, "division", f"no division {quote(r.division)}"))
            if r.event_id in present:
                continue
            session.add(
                ExternalEvent(
                    event_id=r.event_id,
                    occurred_at=r.occurred_at,
                    officer_id=officer.id,
                    division_code=r.division,
                    lat=r.lat,
                    lon=r.lon,
                    kind=r.kind,
                    imported_at=moment,
                    status=OPEN,
                )
            )
            stored += 1
        audit.append(
            session,
            actor=actor,
            action="events.import",
            entity="external_events",
            entity_id=None,
            purpose="import dispatch and body-worn camera events to reconcile with engagements",
            details={"file": path.name[:200], "rows": len(rows), "stored": stored},
        )
    return ImportResult(rows=len(rows), stored=stored, already_present=len(rows) - stored)


def _by_key(session: Session, model: Any, column: Any, keys: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for item in session.scalars(select(model).where(column.in_(chunk))):
            found[getattr(item, column.key)] = item
    return found
