"""Fixtures for the analyses: a DuckDB backend and tiny analytic tables built row by row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fairengage.analytics import engine
from fairengage.ingest.synth import ANALYTIC_COLUMNS, write_table

# Every column of a row the test does not set.
ROW_DEFAULTS: dict[str, Any] = {
    "occurred_at": pd.Timestamp("2025-06-01T16:00:00Z"),
    "division": "D1",
    "neighbourhood": None,
    "lat": None,
    "lon": None,
    "officer_key": "k1",
    "purpose": "intelligence",
    "perceived_race": "White",
    "perceived_gender": "man",
    "perceived_age": 30,
    "informed": True,
    "receipt_offered": True,
    "identifying_info_collected": True,
    "searched": False,
    "contraband_found": None,
    "outcome": "none",
    "compliant": True,
}


def analytic_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A DataFrame of the analytic table from partial rows (the rest from ROW_DEFAULTS)."""
    full = [{"engagement_id": f"E{i}", **ROW_DEFAULTS, **row} for i, row in enumerate(rows)]
    return pd.DataFrame(full, columns=list(ANALYTIC_COLUMNS)).astype(ANALYTIC_COLUMNS)


@pytest.fixture
def make_frame() -> Callable[[list[dict[str, Any]]], pd.DataFrame]:
    """``analytic_frame``, for tests that spoil a table before writing it."""
    return analytic_frame


@pytest.fixture
def duck():  # type: ignore[no-untyped-def]
    """An in-process DuckDB backend."""
    backend = engine.connect("duckdb")
    yield backend
    engine.disconnect(backend)


@pytest.fixture
def table_file(tmp_path: Path) -> Callable[..., Path]:
    """Write partial rows as an analytic table file (Parquet unless named .csv); its path."""

    def write(rows: list[dict[str, Any]], name: str = "table.parquet") -> Path:
        path = tmp_path / name
        write_table(analytic_frame(rows), path)
        return path

    return write


def _hand_rows() -> list[dict[str, Any]]:
    """Fifteen engagements whose every figure the tests work out by hand.

    D1: Black 4 (2 searched, 1 hit; 1 arrest), White 5 (1 searched, no hit; 1 ticket), Unknown 1.
    D2: Black 1, White 4 (1 searched, 1 hit). Duties: 2 not informed in D1, 1 receipt missed in D2.
    """
    rows: list[dict[str, Any]] = []
    # fmt: off
    rows += [{"division": "D1", "perceived_race": "Black", "searched": True, "contraband_found": True,
              "outcome": "arrest"}]
    rows += [{"division": "D1", "perceived_race": "Black", "searched": True, "contraband_found": False}]
    rows += [{"division": "D1", "perceived_race": "Black", "informed": False, "compliant": False}] * 2
    rows += [{"division": "D1", "perceived_race": "White", "searched": True, "contraband_found": False}]
    rows += [{"division": "D1", "perceived_race": "White", "outcome": "ticket"}]
    rows += [{"division": "D1", "perceived_race": "White"}] * 3
    rows += [{"division": "D1", "perceived_race": "Unknown", "identifying_info_collected": False}]
    rows += [{"division": "D2", "perceived_race": "Black"}]
    rows += [{"division": "D2", "perceived_race": "White", "searched": True, "contraband_found": True}]
    rows += [{"division": "D2", "perceived_race": "White", "receipt_offered": False, "compliant": False}]
    rows += [{"division": "D2", "perceived_race": "White"}] * 2
    # fmt: on
    return rows


@pytest.fixture
def hand_rows() -> list[dict[str, Any]]:
    """The hand table's rows (see ``_hand_rows``)."""
    return _hand_rows()


@pytest.fixture
def hand_table(duck, table_file, hand_rows):  # type: ignore[no-untyped-def]
    """The hand table, loaded through the engine."""
    return engine.load_table(duck, table_file(hand_rows))


@pytest.fixture
def hand_benchmark() -> pd.DataFrame:
    """Residents of the hand table's two divisions: Black 20% in D1, 10% in D2, 15% city-wide."""
    rows = [("D1", "Black", 200), ("D1", "White", 800), ("D2", "Black", 100), ("D2", "White", 900),
            ("ALL", "Black", 300), ("ALL", "White", 1700)]  # fmt: skip
    return pd.DataFrame(rows, columns=["area", "group", "population"])
