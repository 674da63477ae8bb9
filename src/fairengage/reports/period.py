"""Reporting periods: a calendar year (`2025`) or quarter (`2025-Q3`) in the service's local time.

A period is a half-open interval [start, end) of local time (FAIRENGAGE_TIMEZONE); the analytic table
stores `occurred_at` in UTC, so the bounds are turned into UTC instants before filtering. An engagement
at 23:30 on 31 December in Toronto belongs to that year even though it is 1 January in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import ibis
import pandas as pd

from fairengage.analytics.engine import as_count

# Trends look back this many periods of the same kind, keeping those the data cover.
TREND_QUARTERS = 4
TREND_YEARS = 3
_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4]))?$")


class PeriodError(ValueError):
    """A period that cannot be read; the message says how to write one."""


@dataclass(frozen=True)
class Period:
    """A calendar year or quarter, with its local bounds [start, end)."""

    year: int
    quarter: int | None
    tz: str

    @property
    def label(self) -> str:
        """`2025` or `2025-Q3`."""
        return f"{self.year}" if self.quarter is None else f"{self.year}-Q{self.quarter}"

    @property
    def kind(self) -> str:
        """`year` or `quarter`."""
        return "year" if self.quarter is None else "quarter"

    @property
    def start(self) -> datetime:
        """The first local instant of the period."""
        month = 1 if self.quarter is None else 3 * self.quarter - 2
        return datetime(self.year, month, 1, tzinfo=ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        """The first local instant after the period."""
        return self.following().start

    @property
    def start_utc(self) -> datetime:
        """The start as a UTC instant."""
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The end as a UTC instant."""
        return self.end.astimezone(UTC)

    def following(self) -> Period:
        """The next period of the same kind."""
        if self.quarter is None:
            return Period(self.year + 1, None, self.tz)
        if self.quarter == 4:
            return Period(self.year + 1, 1, self.tz)
        return Period(self.year, self.quarter + 1, self.tz)

    def preceding(self) -> Period:
        """The previous period of the same kind."""
        if self.quarter is None:
            return Period(self.year - 1, None, self.tz)
        if self.quarter == 1:
            return Period(self.year - 1, 4, self.tz)
        return Period(self.year, self.quarter - 1, self.tz)

    def describe(self) -> str:
        """In words, for report titles: `1 January to 31 December 2025` or `July to September 2025`."""
        if self.quarter is None:
            return f"1 January to 31 December {self.year}"
        first, last = _QUARTER_MONTHS[self.quarter]
        return f"{first} to {last} {self.year}"


_QUARTER_MONTHS = {
    1: ("January", "March"),
    2: ("April", "June"),
    3: ("July", "September"),
    4: ("October", "December"),
}


def parse_period(text: str, tz: str) -> Period:
    """Read `2025` (a calendar year) or `2025-Q3` (a quarter) in the time zone `tz`."""
    found = _PATTERN.match(text.strip().upper())
    if not found:
        raise PeriodError(f"period {text!r}: write a year like 2025 or a quarter like 2025-Q3")
    quarter = found.group("quarter")
    return Period(int(found.group("year")), int(quarter) if quarter else None, tz)


def in_period(table: ibis.Table, period: Period) -> ibis.Table:
    """The engagements of the table whose `occurred_at` (UTC) falls within the period."""
    return _between(table, period.start_utc, period.end_utc)


def _between(table: ibis.Table, start: datetime, end: datetime) -> ibis.Table:
    low = ibis.literal(pd.Timestamp(start), type="timestamp('UTC')")
    high = ibis.literal(pd.Timestamp(end), type="timestamp('UTC')")
    return table.filter((table.occurred_at >= low) & (table.occurred_at < high))


def trend_periods(table: ibis.Table, period: Period) -> list[Period]:
    """The period and those before it that the data cover (4 quarters or 3 years back), oldest first."""
    back = TREND_QUARTERS if period.quarter is not None else TREND_YEARS
    candidates = [period]
    for _ in range(back):
        candidates.insert(0, candidates[0].preceding())
    counts = period_counts(table, candidates)
    # The reported period is always kept; an earlier one only when it holds engagements.
    return [p for p in candidates if p == period or counts[p.label] > 0]


def period_counts(table: ibis.Table, periods: list[Period]) -> dict[str, int]:
    """Engagements in each period, counted in one pass over the table."""
    if not periods:
        return {}
    measures = {}
    for i, p in enumerate(periods):
        low = ibis.literal(pd.Timestamp(p.start_utc), type="timestamp('UTC')")
        high = ibis.literal(pd.Timestamp(p.end_utc), type="timestamp('UTC')")
        inside = (table.occurred_at >= low) & (table.occurred_at < high)
        measures[f"p{i}"] = inside.cast("int64").sum()
    row = table.aggregate(**measures).to_pandas().iloc[0]
    return {p.label: as_count(row[f"p{i}"]) for i, p in enumerate(periods)}
