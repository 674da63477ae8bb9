"""Disparity: each group's rate of searches and of each outcome over the White rate in the same area."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd

from fairengage.analytics.counts import as_rows, cell_counts, outcome_measures
from fairengage.analytics.intervals import katz_interval
from fairengage.vocabulary import OUTCOMES, REFERENCE_GROUP

COLUMNS = ("area", "group", "measure", "count", "total", "rate", "reference_rate", "index", "ci_low",
           "ci_high", "notable")  # fmt: skip


def disparity_measures(outcomes: Sequence[str] = OUTCOMES) -> tuple[str, ...]:
    """The measures: `searched`, then every outcome but `none`."""
    return ("searched", *outcome_measures(outcomes))


def disparity(
    table: ibis.Table,
    *,
    threshold: float,
    reference_group: str = REFERENCE_GROUP,
    outcomes: Sequence[str] = OUTCOMES,
) -> list[dict]:
    """Disparity rows for every area (divisions and ALL), group present there, and measure."""
    return disparity_rows(
        cell_counts(table, outcomes), threshold=threshold, reference_group=reference_group, outcomes=outcomes
    )


def disparity_rows(
    cells: pd.DataFrame,
    *,
    threshold: float,
    reference_group: str = REFERENCE_GROUP,
    outcomes: Sequence[str] = OUTCOMES,
) -> list[dict]:
    """The same, from grouped counts (``counts.cell_counts``) already executed."""
    measures = list(disparity_measures(outcomes))
    long = cells.melt(
        id_vars=["area", "group", "engagements"], value_vars=measures, var_name="measure", value_name="count"
    ).rename(columns={"engagements": "total"})
    reference = long[long["group"] == reference_group].loc[:, ["area", "measure", "count", "total"]]
    reference = reference.rename(columns={"count": "ref_count", "total": "ref_total"})
    frame = long.merge(reference, on=["area", "measure"], how="left")

    a = frame["count"].to_numpy(dtype=float)
    n1 = frame["total"].to_numpy(dtype=float)
    c = frame["ref_count"].to_numpy(dtype=float)  # NaN where the area has no reference group
    n0 = frame["ref_total"].to_numpy(dtype=float)
    is_reference = (frame["group"] == reference_group).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = a / n1
        reference_rate = c / n0
        # Undefined (null) where the reference rate is 0 or missing; 0 where only the group's count is 0.
        index = np.where(reference_rate > 0, rate / reference_rate, np.nan)
    # Katz log interval for a ratio of two independent proportions; null with a zero count (see
    # intervals.katz_interval). The reference row compares the group with itself: index 1, no interval.
    low, high = katz_interval(a, n1, c, n0)
    frame["rate"] = rate
    frame["reference_rate"] = reference_rate
    frame["index"] = np.where(is_reference & (reference_rate > 0), 1.0, index)
    frame["ci_low"] = np.where(is_reference, np.nan, low)
    frame["ci_high"] = np.where(is_reference, np.nan, high)
    # Notable: at or above the rule set's threshold and the interval excluding 1 (above it).
    frame["notable"] = (frame["index"] >= threshold) & (frame["ci_low"] > 1)
    frame = frame.sort_values(["area", "group", "measure"]).loc[:, list(COLUMNS)]
    return as_rows(frame)
