"""Disproportionality: each group's share of engagements over its share of the area's population."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from fairengage.analytics.counts import as_rows, cell_counts
from fairengage.analytics.intervals import wilson_interval
from fairengage.vocabulary import UNKNOWN

COLUMNS = ("area", "group", "count", "total", "population", "population_total", "index", "ci_low", "ci_high",
           "notable")  # fmt: skip


def disproportionality(table: ibis.Table, benchmark: pd.DataFrame, *, threshold: float) -> list[dict]:
    """Disproportionality rows for every benchmark area (divisions and ALL) and group."""
    return disproportionality_rows(cell_counts(table), benchmark, threshold=threshold)


def disproportionality_rows(cells: pd.DataFrame, benchmark: pd.DataFrame, *, threshold: float) -> list[dict]:
    """The same, from grouped counts (``counts.cell_counts``) already executed."""
    counted = cells.loc[:, ["area", "group", "engagements"]].rename(columns={"engagements": "count"})
    frame = benchmark.merge(counted, on=["area", "group"], how="left")
    frame["count"] = frame["count"].fillna(0).astype("int64")
    # Unknown is left out of the denominator: it has no population share to be compared with
    # (docs/architecture.md, report.json). Engagements of a group absent from the benchmark still count.
    known = cells[cells["group"] != UNKNOWN].groupby("area")["engagements"].sum()
    frame["total"] = frame["area"].map(known).fillna(0).astype("int64")
    frame["population_total"] = frame.groupby("area")["population"].transform("sum").astype("int64")

    count = frame["count"].to_numpy(dtype=float)
    total = frame["total"].to_numpy(dtype=float)
    population = frame["population"].to_numpy(dtype=float)
    population_total = frame["population_total"].to_numpy(dtype=float)
    defined = (total > 0) & (population > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        population_share = population / population_total
        index = np.where(defined, (count / total) / population_share, np.nan)
        # The census share is treated as known (it counts the whole resident population, with far
        # less sampling error than the engagement share), so the 95% interval of the index is the
        # Wilson interval of the engagement share, divided by the population share.
        low, high = wilson_interval(count, total)
        frame["ci_low"] = np.where(defined, low / population_share, np.nan)
        frame["ci_high"] = np.where(defined, high / population_share, np.nan)
    frame["index"] = index
    # Notable: at or above the rule set's threshold AND the whole interval above 1, so that a large
    # index resting on a handful of engagements is not called out.
    frame["notable"] = (frame["index"] >= threshold) & (frame["ci_low"] > 1)
    frame = frame.sort_values(["area", "group"]).loc[:, list(COLUMNS)]
    return as_rows(frame)
