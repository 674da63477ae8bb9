"""Compliance: how often the duties at the time were done, by area (divisions and ALL)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from fairengage.analytics.counts import COMPLIANCE_MEASURES, as_rows, cell_counts

COLUMNS = ("area", "measure", "count", "total", "rate")


def compliance(table: ibis.Table) -> list[dict]:
    """Compliance rows: for each area and measure, engagements where it holds, of all engagements."""
    return compliance_rows(cell_counts(table))


def compliance_rows(cells: pd.DataFrame) -> list[dict]:
    """The same, from grouped counts (``counts.cell_counts``) already executed."""
    # Every perceived-race group, Unknown included: the duties are owed to everyone.
    by_area = cells.groupby("area", as_index=False)[["engagements", *COMPLIANCE_MEASURES]].sum()
    frame = by_area.melt(
        id_vars=["area", "engagements"], value_vars=list(COMPLIANCE_MEASURES), var_name="measure",
        value_name="count",
    ).rename(columns={"engagements": "total"})  # fmt: skip
    count = frame["count"].to_numpy(dtype=float)
    total = frame["total"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["rate"] = np.where(total > 0, count / total, np.nan)
    frame = frame.sort_values(["area", "measure"]).loc[:, list(COLUMNS)]
    return as_rows(frame)
