"""Reporting periods: years and quarters in local time, filtering the analytic table, trend periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from fairengage.analytics import engine
from fairengage.ingest import synth
from fairengage.reports.period import (
    Period,
    PeriodError,
    in_period,
    parse_period,
    period_counts,
    trend_periods,
)

TZ = "America/Toronto"


def test_year_and_quarter_bounds_are_local():
    year = parse_period("2025", TZ)
    assert (year.label, year.kind) == ("2025", "year")
    assert year.start_utc == datetime(2025, 1, 1, 5, tzinfo=UTC)  # EST, UTC-5
    assert year.end_utc == datetime(2026, 1, 1, 5, tzinfo=UTC)
    q3 = parse_period(" 2025-q3 ", TZ)
    assert q3.label == "2025-Q3"
    assert q3.start_utc == datetime(2025, 7, 1, 4, tzinfo=UTC)  # EDT, UTC-4
    assert q3.end_utc == datetime(2025, 10, 1, 4, tzinfo=UTC)
    assert parse_period("2025-Q4", TZ).end == parse_period("2026-Q1", TZ).start
    assert parse_period("2025-Q1", TZ).preceding().label == "2024-Q4"
    assert parse_period("2025", TZ).describe() == "1 January to 31 December 2025"


@pytest.mark.parametrize("text", ["25", "2025-Q5", "2025Q3", "2025-07", "", "Q3-2025"])
def test_bad_periods_say_how_to_write_one(text):
    with pytest.raises(PeriodError, match="2025-Q3"):
        parse_period(text, TZ)


@pytest.fixture
def table(tmp_path):
    """Engagements placed around the local new year and in earlier quarters."""
    frame = synth.generate(40, seed=5, start=date(2024, 1, 1), end=date(2024, 12, 31))
    moments = [
        "2024-12-31T23:30:00-05:00",  # local 2024, UTC 2025
        "2025-01-01T00:10:00-05:00",
        "2025-03-31T23:59:00-04:00",  # last minute of Q1 (EDT)
        "2025-04-01T00:00:00-04:00",  # first instant of Q2
    ]
    stamps = [pd.Timestamp(m).tz_convert("UTC") for m in moments]
    stamps += [pd.Timestamp("2024-05-15T12:00:00Z")] * 10 + [pd.Timestamp("2023-02-01T12:00:00Z")] * 26
    frame["occurred_at"] = pd.Series(stamps, dtype=frame["occurred_at"].dtype)
    synth.write_table(frame, tmp_path / "t.parquet")
    backend = engine.connect("duckdb")
    yield engine.load_table(backend, tmp_path / "t.parquet")
    engine.disconnect(backend)


def test_filtering_uses_local_time(table):
    assert in_period(table, parse_period("2025-Q1", TZ)).count().execute() == 2
    assert in_period(table, parse_period("2025-Q2", TZ)).count().execute() == 1
    assert in_period(table, parse_period("2024", TZ)).count().execute() == 11
    assert period_counts(table, [parse_period("2025", TZ), parse_period("2023", TZ)]) == {
        "2025": 3,
        "2023": 26,
    }


def test_trends_keep_periods_the_data_cover(table):
    years = trend_periods(table, parse_period("2025", TZ))
    assert [p.label for p in years] == ["2023", "2024", "2025"]
    quarters = trend_periods(table, parse_period("2025-Q2", TZ))
    # Four quarters back: 2024-Q2 (May 2024) and 2025-Q1 hold engagements, 2024-Q3 and 2024-Q4 hold none
    # except the 31 December one (local 2024-Q4).
    assert [p.label for p in quarters] == ["2024-Q2", "2024-Q4", "2025-Q1", "2025-Q2"]
    assert all(isinstance(p, Period) for p in quarters)
