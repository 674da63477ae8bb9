"""`fairengage reconcile`: match a period's events to engagements, keep the result, list the unmatched.

The matching rule is `matching.py`'s. The result is stored on each event (the engagement it matched, or
none), so that the supervisor's worklist shows the events reconciliation left unmatched; a supervisor's
decision (not an engagement, escalated) stands until a later run finds the engagement after all.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit
from fairengage.db import transaction
from fairengage.engagements.models import Engagement
from fairengage.events import matching
from fairengage.events.models import MATCHED, OPEN, ExternalEvent
from fairengage.spreadsheet import safe_cell

OUT_COLUMNS = (
    "event_id",
    "occurred_at",
    "badge",
    "division",
    "lat",
    "lon",
    "kind",
    "status",
    "nearest_engagement_id",
    "nearest_minutes",
    "nearest_metres",
)
_CHUNK = 900


@dataclass(frozen=True)
class ReconcileResult:
    events: int
    matched: int

    @property
    def unmatched(self) -> int:
        return self.events - self.matched

    def last_line(self) -> str:
        share = 100 * self.unmatched / self.events if self.events else 0.0
        return f"matched {self.matched} of {self.events} events; unmatched {self.unmatched} ({share:.1f}%)"


def period_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end] as local days, as UTC instants [first, last)."""
    zone = ZoneInfo(tz)
    first = datetime.combine(start, time(), zone).astimezone(UTC)
    last = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    return first, last


def reconcile(
    *,
    sessions: sessionmaker[Session],
    start: date,
    end: date,
    tz: str,
    out: Path,
    actor: str,
    window: timedelta = matching.WINDOW,
    radius_m: float = matching.RADIUS_M,
) -> ReconcileResult:
    """Match the events of [start, end] (local days), store the result, write the unmatched to `out`."""
    first, last = period_bounds(start, end, tz)
    with transaction(sessions) as session:
        events = list(
            session.scalars(
                select(ExternalEvent)
                .where(ExternalEvent.occurred_at >= first, ExternalEvent.occurred_at < last)
                .order_by(ExternalEvent.occurred_at, ExternalEvent.id)
            )
        )
        engagements = _engagements(session, {e.officer_id for e in events}, first - window, last + window)
        outcome = matching.match(
            [
                matching.Point(str(e.id), e.officer_id, e.occurred_at, e.division_code, e.lat, e.lon, e.kind)
                for e in events
            ],
            engagements,
            window=window,
            radius_m=radius_m,
        )
        moment = datetime.now(UTC)
        for event in events:
            found = outcome.matches.get(str(event.id))
            event.matched_engagement_id = found
            event.reconciled_at = moment
            if found is not None:
                event.status = MATCHED
            elif event.status == MATCHED:
                # The engagement it matched is gone or moved: the event is open again.
                event.status = OPEN
        _write(out, events, outcome)
        result = ReconcileResult(events=len(events), matched=len(outcome.matches))
        audit.append(
            session,
            actor=actor,
            action="events.reconcile",
            entity="external_events",
            entity_id=None,
            purpose="match dispatch and camera events to engagements; list those never recorded",
            details={
                "from": start.isoformat(),
                "to": end.isoformat(),
                "events": result.events,
                "matched": result.matched,
                "window_minutes": window.total_seconds() / 60,
                "radius_m": radius_m,
            },
        )
    return result


def _engagements(
    session: Session, officers: set[int], first: datetime, last: datetime
) -> list[matching.Point]:
    points: list[matching.Point] = []
    ordered = sorted(officers)
    for i in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            select(
                Engagement.id,
                Engagement.officer_id,
                Engagement.occurred_at,
                Engagement.division_code,
                Engagement.lat,
                Engagement.lon,
            ).where(
                Engagement.officer_id.in_(ordered[i : i + _CHUNK]),
                Engagement.occurred_at >= first,
                Engagement.occurred_at < last,
            )
        )
        points.extend(matching.Point(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows)
    return points


def _write(out: Path, events: list[ExternalEvent], outcome: matching.Outcome) -> None:
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUT_COLUMNS)
        for event in events:
            if str(event.id) in outcome.matches:
                continue
            near = outcome.nearest.get(str(event.id))
            writer.writerow(
                [
                    safe_cell(event.event_id),
                    event.occurred_at.isoformat(),
                    event.officer.badge,
                    event.division_code,
                    "" if event.lat is None else event.lat,
                    "" if event.lon is None else event.lon,
                    event.kind,
                    event.status,
                    near.engagement_id if near else "",
                    near.minutes if near else "",
                    "" if near is None or near.metres is None else near.metres,
                ]
            )
