"""The benchmark file (docs/architecture.md, "Benchmark file"): residents by area and perceived-race group."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fairengage.analytics.counts import CITY, PERCEIVED_RACES, UNKNOWN
from fairengage.analytics.engine import AnalyticsInputError

BENCHMARK_COLUMNS = ("area", "group", "population")


def read_benchmark(path: str | Path, *, categories: Sequence[str] = PERCEIVED_RACES) -> pd.DataFrame:
    """Read and check a benchmark CSV; columns area, group, population (int64), sorted by area and group."""
    path = Path(path)
    if not path.is_file():
        raise AnalyticsInputError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for name in BENCHMARK_COLUMNS:
            if name not in header:
                raise AnalyticsInputError(f"{path}: column {name!r}: missing from the header (row 1)")
        rows = [_benchmark_row(path, line, record, categories) for line, record in enumerate(reader, start=2)]
    return check_benchmark(pd.DataFrame(rows, columns=["line", *BENCHMARK_COLUMNS]), path)


def _benchmark_row(path: Path, line: int, record: dict[str, Any], categories: Sequence[str]) -> tuple:
    def bad(column: str, problem: str) -> AnalyticsInputError:
        return AnalyticsInputError(f"{path}: row {line}, column {column!r}: {problem}")

    area = (record.get("area") or "").strip()
    group = (record.get("group") or "").strip()
    text = (record.get("population") or "").strip()
    if not area:
        raise bad("area", "empty; use a division code or ALL")
    if group == UNKNOWN:
        raise bad("group", f"{UNKNOWN!r} is an officer's answer, not a population group: leave it out")
    if group not in categories:
        known = ", ".join(c for c in categories if c != UNKNOWN)
        raise bad("group", f"{group!r} is not a perceived-race category ({known})")
    try:
        population = int(text)
    except ValueError:
        raise bad("population", f"{text!r} is not a whole number") from None
    if population < 0:
        raise bad("population", f"{population} is negative")
    return line, area, group, population


def check_benchmark(frame: pd.DataFrame, path: str | Path = "benchmark") -> pd.DataFrame:
    """Refuse duplicate (area, group) rows and a missing `ALL`; return area, group, population sorted."""
    if "line" not in frame:
        frame = frame.assign(line=range(2, len(frame) + 2))
    repeated = frame[frame.duplicated(["area", "group"], keep="first")]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise AnalyticsInputError(
            f"{path}: row {first['line']}, column 'group': {first['group']!r} appears twice for area "
            f"{first['area']!r}"
        )
    if not (frame["area"] == CITY).any():
        raise AnalyticsInputError(f"{path}: column 'area': no {CITY!r} rows (the city-wide population)")
    result = frame.loc[:, list(BENCHMARK_COLUMNS)].astype({"area": str, "group": str, "population": "int64"})
    return result.sort_values(["area", "group"]).reset_index(drop=True)


def describe_benchmark(frame: pd.DataFrame, path: str | Path) -> dict[str, Any]:
    """What the report says about its benchmark: file, areas, groups and the city-wide population."""
    divisions = sorted(set(frame["area"]) - {CITY})
    return {
        "file": Path(path).name,
        "kind": "residential population by area and perceived-race group (census-based)",
        "areas": divisions,
        "groups": sorted(set(frame["group"])),
        "population_total": int(frame.loc[frame["area"] == CITY, "population"].sum()),
    }
