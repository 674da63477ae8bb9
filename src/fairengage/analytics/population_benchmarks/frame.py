"""The benchmark file (docs/architecture.md, "Benchmark file"): residents by area and perceived-race group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fairengage.analytics import population_benchmarks as benchmarks
from fairengage.analytics.counts import CITY
from fairengage.analytics.engine import AnalyticsInputError

BENCHMARK_COLUMNS = benchmarks.FIELDS


def read_benchmark(path: str | Path) -> pd.DataFrame:
    """The benchmark file as the analyses take it: area, group, population (int64), sorted by area and group.

    The file is read and checked by the one reader, `population_benchmarks.read_benchmark`; its errors
    come back as the analyses' input error, with the same message.
    """
    try:
        rows = benchmarks.read_benchmark(path)
    except benchmarks.BenchmarkError as exc:
        raise AnalyticsInputError(str(exc)) from None
    frame = pd.DataFrame(rows, columns=list(BENCHMARK_COLUMNS))
    frame = frame.astype({"area": str, "group": str, "population": "int64"})
    return frame.sort_values(["area", "group"]).reset_index(drop=True)


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
