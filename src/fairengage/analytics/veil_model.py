"""The veil-of-darkness model's shared rules: when counts can give an estimate, and when a fit is degenerate.

Used by the original specification (veil.py), the robust ones (veil_robust.py) and, for the same
"no estimate" on the same data, ``fairengage bench``'s pandas reference.
"""

from __future__ import annotations

import math

import pandas as pd

SPLINE_DF = 6  # the paper's natural spline of clock time has six degrees of freedom
# Beyond this standard error (in log-odds) the darkness effect is not estimable from the data.
MAX_STANDARD_ERROR = 5.0
# Days either side of a daylight-saving change that the DST-window variant takes.
DST_DAYS = 30
# Fewer stops than this of the group, or of the others, and no estimate is tried.
MIN_CASES = 10
# The cluster of stops whose officer is not recorded (imports without an officer id): one cluster.
NO_OFFICER = "(no officer recorded)"
# Why a fit could not be made, in words a board member understands. The keys go in report.json as
# ``reason_code`` (the board report translates them); the words as ``reason``.
REASONS = {
    "no_stops": "no stops with a date and a known perceived race fell between sunset and dark",
    "no_contrast": "the stops in the window were all in daylight or all in darkness, so there is nothing to "
    "compare",
    "no_variation": "every stop in the window was of the same group (or none of it was), so there is no "
    "variation to compare",
    "few_times": "the stops fall at too few different clock times to hold clock time fixed",
    "unstable": "too few stops of some kind (for example a group's stops in the dark) for a stable "
    "estimate: the model could only say the effect is very large or very small",
    "few_cases": "fewer than 10 stops of the group, or of the others compared with it, in the window: "
    "too few to estimate a difference",
    "one_officer": "all the stops in the window were made by one officer, so the uncertainty cannot be "
    "measured officer by officer",
    "no_mixed_division": "in no division were both the group and the others compared with it stopped in the "
    "window, so no division can compare them",
    "not_settled": "the model's calculation did not settle on one answer, so any figure it gave would "
    "depend on rounding",
}


def data_problem(cells: pd.DataFrame, spline_df: int) -> str | None:
    """Why these counts cannot give an estimate before any fit is tried, or None."""
    if cells.empty or int(cells["total"].sum()) == 0:
        return "no_stops"
    if cells["dark"].nunique() < 2:
        return "no_contrast"
    members = float(cells["members"].sum())
    if members == 0 or members == float(cells["total"].sum()):
        return "no_variation"
    # A spline of k degrees of freedom has k - 1 interior knots and two boundary knots.
    if cells["minute"].nunique() < spline_df + 1:
        return "few_times"
    # A handful of cases fits perfectly (separation) or rests on one officer's few stops.
    if min(members, float(cells["total"].sum()) - members) < MIN_CASES:
        return "few_cases"
    # None of the group (or of the others) in the dark, or in the light: the odds ratio is 0 or
    # infinite, and a fit only runs towards it.
    dark = cells["dark"].astype(bool)
    in_dark = float(cells.loc[dark, "members"].sum())
    others_dark = float(cells.loc[dark, "total"].sum()) - in_dark
    others_light = float(cells.loc[~dark, "total"].sum()) - (members - in_dark)
    if 0 in (in_dark, members - in_dark, others_dark, others_light):
        return "unstable"
    return None


def fit_problem(coefficient: float, standard_error: float, model_error: float | None = None) -> str | None:
    """``"unstable"`` when a fit ran away (separation, near-separation), else None.

    The one rule for a degenerate fit, shared with the pandas reference of ``fairengage bench`` so that
    both report "no estimate" for the same data: a coefficient or standard error that is not finite, a
    coefficient past what exp can hold, or a standard error above MAX_STANDARD_ERROR log-odds (an odds
    ratio interval wider than a factor of e^20 either way says nothing).
    """
    if not (math.isfinite(coefficient) and math.isfinite(standard_error)) or abs(coefficient) >= 700:
        return "unstable"
    if standard_error > MAX_STANDARD_ERROR:
        return "unstable"
    # A cluster-robust error collapses towards 0 under separation (every score is 0), so the model-based
    # error (inverse information) is checked too: it is the one that blows up.
    if model_error is not None and not (math.isfinite(model_error) and model_error <= MAX_STANDARD_ERROR):
        return "unstable"
    return None


def model_frame(cells: pd.DataFrame, levels: tuple[str, ...]) -> pd.DataFrame:
    """Counts as the darkness models read them: ``dark`` as 0/1, ``minute`` as a number, and ``levels``
    as pandas categoricals with sorted categories.

    Patsy reads a column of strings (or an Arrow-backed one) element by element in Python: 4.4 million
    calls, about 10 of the 25 s of the robust veil on a 300,000-row table. A categorical it reads by its
    codes, but only when the formula names it bare (``C(...)`` boxes it, and the box is read element by
    element again): see ``level_term``. Sorted categories are the levels patsy would have sorted itself,
    so the design is the same.
    """
    categories = {
        column: pd.Categorical(cells[column], categories=sorted(cells[column].unique()))
        for column in levels
        if column in cells.columns
    }
    return cells.assign(dark=cells["dark"].astype(int), minute=cells["minute"].astype(float), **categories)


def level_term(frame: pd.DataFrame, column: str) -> str:
    """The formula term of a column read as levels: bare for a categorical (``model_frame``), else C()."""
    return column if isinstance(frame[column].dtype, pd.CategoricalDtype) else f"C({column})"
