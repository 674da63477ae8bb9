"""The outcome test: how often a search finds contraband (the hit rate), by group and area."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from fairengage.analytics.counts import as_rows, cell_counts
from fairengage.analytics.intervals import wilson_interval

COLUMNS = ("area", "group", "searches", "hits", "hit_rate", "ci_low", "ci_high")


def outcome_test(table: ibis.Table) -> list[dict]:
    """Hit-rate rows for every area (divisions and ALL) and group present there."""
    return outcome_test_rows(cell_counts(table))


def outcome_test_rows(cells: pd.DataFrame) -> list[dict]:
    """The same, from grouped counts (``counts.cell_counts``) already executed."""
    # Becker's outcome test (Knowles, Persico & Todd 2001, J Polit Econ 109:203): if searches of one
    # group find contraband less often, the bar for searching that group was lower. A lower hit rate
    # is evidence to look at, not proof: it assumes officers search to find contraband.
    frame = cells.loc[:, ["area", "group", "searched", "hits"]].rename(columns={"searched": "searches"})
    searches = frame["searches"].to_numpy(dtype=float)
    hits = frame["hits"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["hit_rate"] = np.where(searches > 0, hits / searches, np.nan)
    # Wilson score interval (Wilson 1927; Newcombe 1998 method 3): sound for the small search counts
    # of a group in a division.
    frame["ci_low"], frame["ci_high"] = wilson_interval(hits, searches)
    frame = frame.sort_values(["area", "group"]).loc[:, list(COLUMNS)]
    return as_rows(frame)
