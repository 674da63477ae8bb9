"""The veil of darkness, robust: every group against the reference, the DST window, officers, divisions.

A union's expert or a board's statistician asks more of the test than its one original specification
(analytics/veil.py). Each row here answers one of those questions, on the same counts:

- **every group against the reference group**: among stops of the group or of the reference group, the
  odds that the person was of the group, dark against light at the same clock time. A planted daylight
  bias against the group gives an odds ratio below 1;
- **the DST window** (as RTI's STAR tool does): only stops within 30 days of a daylight-saving change and
  in that period's own inter-twilight window, so "the same clock time" compares days a few weeks apart,
  on which who is out differs least; the clock change turns 18:00 from dark to light overnight;
- **standard errors clustered by officer**: an officer's stops are not independent of each other; a
  cluster-robust (sandwich) covariance lets them be correlated within officer. Counts are summed within
  officer, so the grouped fit's clustered errors are those of the row-level fit;
- **controls for year and weekday**: who is stopped shifts between years and between weekdays, and the
  share of dark stops at a clock time shifts with the season, so both enter the model as fixed effects;
- **per division**, one model per division, with Benjamini–Hochberg across the divisions of each group
  (one family per group), since with twenty divisions one would be "significant" by chance;
- **spline-degrees sensitivity**: the clock-time curve with 3, 4, 6 and 8 degrees of freedom. An estimate
  that moves with the curve's flexibility leans on how clock time is modelled, not on the data.

Where a model cannot be fitted the row says why in plain words (veil.REASONS), never a blank.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import patsy
from scipy import sparse
from scipy.special import expit
from statsmodels.stats.multitest import multipletests

from fairengage.analytics.design_blocks import Blocks
from fairengage.analytics.intervals import Z95
from fairengage.analytics.veil_model import (
    REASONS,
    SPLINE_DF,
    data_problem,
    fit_problem,
    level_term,
    model_frame,
)

# Each specification's window, by the veil.window_cells flag that marks its stops.
WINDOWS = {"inter-twilight": "in_window", "dst": "in_dst_window"}
SPECIFICATIONS = tuple(WINDOWS)
# What a robust model's terms are made of: cells alike in these are alike to the model.
PATTERN = ("division", "minute", "dark", "year", "weekday")
SENSITIVITY_DF = (3, 4, 6, 8)
FDR = 0.05
MAX_ITERATIONS = 100
MAX_HALVINGS = 40
TOLERANCE = 1e-10
# A fitted share this close to 0 or 1 is a term running off (separation), not a maximum: e^-28.
RAN_OFF = 1e-12
# A fit is given only if a second solver's darkness coefficient and errors agree with the first's to
# this (relative, or absolute near 0): the report shows at most three digits, which then do not depend
# on where rounding stopped the steps.
SAME_DIGITS = 1e-4
ROBUST_METHOD = (
    "For each group against the reference group: logistic regression (binomial GLM on counts) of being "
    "of the group, among stops of the group or the reference group, on darkness, with a natural cubic "
    "spline of clock time per division and fixed effects for year and weekday; standard errors "
    "clustered by officer (cluster-robust sandwich). Inter-twilight window as in the original test; DST "
    "window: stops within 30 days of a daylight-saving change, in that period's own inter-twilight "
    "window. Per division, one model each, p-values adjusted by Benjamini–Hochberg across divisions "
    "(one family per group). Sensitivity: the clock-time spline with 3, 4, 6 and 8 degrees of freedom."
)


def robust_sections(cells: pd.DataFrame, *, reference: str, dst: dict[str, str] | None) -> dict[str, Any]:
    """``by_group``, ``by_division`` and ``sensitivity`` rows from veil.window_cells's counts (robust).

    ``dst`` is the DST window's label (``{"from", "to"}``), None when the data hold no clock change.
    """
    clear = cells.loc[~cells["ambiguous"]]
    # The cells are grouped by division and officer again for each group and window: as categoricals
    # with sorted categories they are grouped by their codes, in the same order as the strings, where
    # each grouping hashed the strings anew (1.5 s of the robust veil on the 3,000,000-row benchmark).
    clear = clear.astype(
        {column: pd.CategoricalDtype(sorted(clear[column].unique())) for column in ("division", "officer")}
    )
    groups = sorted(set(clear["perceived_race"].unique()) - {reference})
    by_group: list[dict[str, Any]] = []
    by_division: list[dict[str, Any]] = []
    sensitivity: list[dict[str, Any]] = []
    for group in groups:
        pair = clear.loc[clear["perceived_race"].isin([group, reference])]
        pair = pair.assign(members=pair["total"].where(pair["perceived_race"] == group, 0))
        # Summed by officer once per window: the window's headline, its spline sensitivity and its
        # divisions are all fitted on these sums (a division's are its rows of them).
        summed = {
            specification: officer_cells(pair.loc[pair[flag]]) for specification, flag in WINDOWS.items()
        }
        fitted = {}
        for specification in SPECIFICATIONS:
            fitted[specification] = _contrast(summed[specification], SPLINE_DF)
            row = {"specification": specification, "area": "ALL", "group": group, "reference": reference}
            by_group.append(row | fitted[specification])
        window = summed["inter-twilight"]
        for spline_df in SENSITIVITY_DF:
            # The sensitivity's row at the headline's degrees is the headline's own fit.
            same = fitted["inter-twilight"] if spline_df == SPLINE_DF else _contrast(window, spline_df)
            sensitivity.append({"spline_df": spline_df, "group": group, "reference": reference} | same)
        by_division += _per_division(window, group, reference)
    return {
        "reference": reference,
        "dst_window": dst,
        "robust_method": ROBUST_METHOD,
        "by_group": by_group,
        "by_division": by_division,
        "sensitivity": sensitivity,
    }


def _per_division(window: pd.DataFrame, group: str, reference: str) -> list[dict[str, Any]]:
    rows = [
        {"area": str(division), "group": group, "reference": reference} | _contrast(part, SPLINE_DF)
        for division, part in window.groupby("division", sort=True, observed=True)
    ]
    fitted = [row for row in rows if row["p_value"] is not None]
    if fitted:
        # One Benjamini–Hochberg family per group: its divisions.
        adjusted = multipletests([row["p_value"] for row in fitted], alpha=FDR, method="fdr_bh")[1]
        for row, value in zip(fitted, adjusted, strict=True):
            row["p_adjusted"] = float(value)
            row["notable"] = bool(value < FDR)
    for row in rows:
        row.setdefault("p_adjusted", None)
        row.setdefault("notable", False)
    return rows


def contrast(cells: pd.DataFrame, *, spline_df: int = SPLINE_DF) -> dict[str, Any]:
    """The darkness odds ratio on these cells (``members`` of ``total``), officer-clustered; or why not."""
    return _contrast(officer_cells(cells), spline_df)


def officer_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """``total`` and ``members`` summed by PATTERN and officer, sorted by them: what a contrast sees."""
    keys = [*PATTERN, "officer"]
    return cells.groupby(keys, sort=True, observed=True)[["total", "members"]].sum().reset_index()


def _contrast(summed: pd.DataFrame, spline_df: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "n": int(summed["total"].sum()) if len(summed) else 0,
        "members": int(summed["members"].sum()) if len(summed) else 0,
        "coefficient": None, "std_error": None, "odds_ratio": None, "ci_low": None, "ci_high": None,
        "p_value": None, "reason_code": None, "reason": None,
    }  # fmt: skip
    problem = data_problem(summed, spline_df) or ("one_officer" if summed["officer"].nunique() < 2 else None)
    fit = problem or _fit(summed, spline_df)
    if isinstance(fit, str):
        result["reason_code"], result["reason"] = fit, REASONS[fit]
        return result
    return result | fit


def robust_formula(frame: pd.DataFrame, spline_df: int) -> str:
    """Darkness, the clock-time spline (per division when there are several), year and weekday effects."""
    spline = f"cr(minute, df={spline_df}, constraints='center')"
    division = level_term(frame, "division")
    terms = ["dark", spline if frame["division"].nunique() < 2 else f"{spline} * {division}"]
    # A control with one value is the intercept already.
    terms += [level_term(frame, column) for column in ("year", "weekday") if frame[column].nunique() > 1]
    return " + ".join(terms)


def _fit(summed: pd.DataFrame, spline_df: int) -> dict[str, Any] | str:
    summed = informative_divisions(summed)
    if summed.empty:
        # Each side stopped only in divisions where the other was not: before this, the spline was
        # asked for knots on no data and the error stopped the whole analysis.
        return "no_mixed_division"
    # No term of the model names the officer, so its likelihood depends only on the sums over officers
    # of each pattern of the terms: the fit runs on those patterns, a few thousand where the officers'
    # cells are hundreds of thousands on a city's year (each Newton step costs the rows times the
    # terms squared). The officers' own cells come back only for the clustered error's scores.
    cells, pattern_of = _patterns(summed)
    frame = model_frame(cells, ("division", "year", "weekday"))
    # The spline's knots are taken from the distinct clock times, and a centring constraint moves only
    # the intercept: the same model as on the officers' cells or on the rows (tests check both).
    design = patsy.dmatrix(robust_formula(frame, spline_df), frame)
    # The patterns are sorted by division first, and a division's rows are zero in every other
    # division's columns: the design is taken block by block (Blocks).
    matrix = Blocks.of(np.asarray(design), frame["division"].cat.codes.to_numpy())
    position = design.design_info.column_names.index("dark")
    members = cells["members"].to_numpy(dtype=float)
    totals = cells["total"].to_numpy(dtype=float)
    officer_members = summed["members"].to_numpy(dtype=float)
    officer_totals = summed["total"].to_numpy(dtype=float)
    clusters = pd.factorize(summed["officer"], sort=True)[0]

    def darkness(step: Callable[..., np.ndarray] | None = None) -> tuple[Fit, float, float, float]:
        """One fit by one solver: the fit, the darkness coefficient, its clustered and model errors."""
        fit = irls(matrix, members, totals, step=step)
        error, model_error = cluster_error(
            matrix, officer_members, officer_totals, fit.probability, clusters, position, rows_of=pattern_of
        )
        return fit, float(fit.params[position]), error, model_error

    fit, coefficient, error, model_error = darkness()
    problem = fit_problem(coefficient, error, model_error)
    if problem:
        return problem
    # Each fit is made twice, by two exact solvers of the Newton step. Where the likelihood has a maximum
    # both reach it. Where a separated nuisance term has none, or a near-collinear one makes the steps
    # crawl, each stops where its rounding leaves it: the darkness figures are given only if the
    # darkness coefficient had stopped moving in both and the two agree to SAME_DIGITS, so that they do
    # not depend on that rounding.
    again, *figures = darkness(eigen_step)
    agree = all(
        math.isclose(a, b, rel_tol=SAME_DIGITS, abs_tol=SAME_DIGITS)
        for a, b in zip((coefficient, error, model_error), figures, strict=True)
    )
    moving = max(abs(fit.last_step[position]), abs(again.last_step[position]))
    if not agree or moving > SAME_DIGITS * max(1, abs(coefficient)):
        return "not_settled"
    low, high = coefficient - Z95 * error, coefficient + Z95 * error
    p_value = 2 * (1 - NormalDist().cdf(abs(coefficient) / error)) if error > 0 else 0.0
    return {
        "coefficient": coefficient,
        "std_error": error,
        "odds_ratio": float(np.exp(coefficient)),
        "ci_low": float(np.exp(low)),
        "ci_high": float(np.exp(high)),
        "p_value": float(p_value),
    }


def _patterns(summed: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The counts summed over officers by PATTERN, and each of ``summed``'s cells' row among them.

    ``summed`` comes sorted by PATTERN and then officer (contrast's grouping), so each pattern's cells
    are one run of rows: the sums are taken run by run, where a grouping hashed every key again.
    """
    changed = np.zeros(len(summed), dtype=bool)
    changed[:1] = True
    for column in PATTERN:
        values = summed[column]
        codes = (
            values.cat.codes.to_numpy()
            if isinstance(values.dtype, pd.CategoricalDtype)
            else values.to_numpy()
        )
        changed[1:] |= codes[1:] != codes[:-1]
    starts = np.flatnonzero(changed)
    sums = {
        column: np.add.reduceat(summed[column].to_numpy(), starts)
        if len(starts)
        else summed[column].to_numpy()
        for column in ("members", "total")
    }
    cells = summed.iloc[starts][list(PATTERN)].reset_index(drop=True).assign(**sums)
    return cells, np.cumsum(changed) - 1


def informative_divisions(summed: pd.DataFrame) -> pd.DataFrame:
    """The cells of divisions where the group and the others were both stopped.

    Each division has its own level in the model, so a division with stops of only one side is fitted
    perfectly by that level whatever darkness does: it says nothing about darkness, and its level
    runs off to infinity, dragging the fit with it (a separated nuisance term). Leaving it out gives
    the same darkness estimate as the limit of the full fit, and a fit that converges.
    """
    division = pd.factorize(summed["division"])[0]
    members, total = (np.bincount(division, weights=summed[column]) for column in ("members", "total"))
    mixed = (members > 0) & (members < total)
    return summed.loc[mixed[division]]


class Fit(NamedTuple):
    """IRLS's answer: the coefficients, the fitted share per cell, and whether the steps settled."""

    params: np.ndarray
    probability: np.ndarray
    converged: bool
    last_step: np.ndarray


def irls(
    design: np.ndarray | Blocks,
    members: np.ndarray,
    totals: np.ndarray,
    step: Callable[..., np.ndarray] | None = None,
) -> Fit:
    """Maximum-likelihood logistic coefficients for grouped counts, the fitted shares, and convergence.

    Newton's method (iteratively reweighted least squares) on the normal equations, through the
    pseudo-inverse: the same estimates as statsmodels' GLM (tests/analytics/test_veil_robust.py checks)
    at a fraction of the time, since statsmodels solves each step by a least-squares SVD of the full
    design. A step that lowers the likelihood is halved until it does not: where a nuisance term is
    separated (a division's clock time at which the group was never stopped), a full Newton step on
    the near-singular information overshoots, and undamped the fit ran off to shares of exactly 0 and 1,
    errors of 0 and a false estimate. A separated darkness term still runs away, and fit_problem says so.

    ``converged`` is True only when a step moved no coefficient by TOLERANCE or more and no cell's
    fitted share is within RAN_OFF of 0 or 1. A fit with a separated nuisance term has no maximum: its
    steps go on until MAX_ITERATIONS, or until the solver stops seeing the term, and where they stop
    depends on rounding (see eigen_step). A fit in which no fraction of a step raises the likelihood
    has stopped short of the maximum and has not converged either. ``step`` solves for the Newton step
    (newton_step unless given).
    """
    solve = step or newton_step
    design = design if isinstance(design, Blocks) else Blocks.of(design)
    params = np.zeros(design.shape[1])
    current = _log_likelihood(design.times(params), members, totals)
    converged = False
    change = np.full(design.shape[1], np.inf)
    for _ in range(MAX_ITERATIONS):
        probability = expit(design.times(params))
        weights = totals * probability * (1 - probability)
        gradient = design.transposed_times(members - totals * probability)
        change = solve(design.information(weights), gradient)
        for _ in range(MAX_HALVINGS):
            likelihood = _log_likelihood(design.times(params + change), members, totals)
            if likelihood >= current - 1e-12 * abs(current):
                break
            change = change / 2
        else:
            change = np.full(design.shape[1], np.inf)
            break  # stuck short of the maximum
        params, current = params + change, likelihood
        if not np.all(np.isfinite(params)):
            break
        if np.max(np.abs(change)) < TOLERANCE:
            converged = True
            break
    probability = expit(design.times(params))
    # Steps that stopped because the solver no longer sees a term running off (its cells' weights fell
    # below the pseudo-inverse's cut-off) leave those cells at shares of 0 or 1: no maximum was reached.
    ran_off = np.any((probability < RAN_OFF) | (probability > 1 - RAN_OFF))
    return Fit(params, probability, converged and not ran_off, change)


def newton_step(information: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """The Newton step, through the pseudo-inverse so that a clock-time column the cells cannot identify
    does not stop the fit."""
    return np.linalg.pinv(information) @ gradient


def eigen_step(information: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """The same step through an eigendecomposition, dropping directions below 1e-15 of the largest.

    Where the fit settles both give the same figures. Where it does not they part: on a synthetic
    20,000-record year, 19 of 107 fits reached MAX_ITERATIONS with coefficients near 10^5, and this
    solver in place of the pseudo-inverse moved one group's p-value from 0.0510 to 0.0513, since each
    drops a different share of the vanishing directions.
    """
    values, vectors = np.linalg.eigh(information)
    kept = values > values.max() * 1e-15
    return vectors[:, kept] @ ((vectors[:, kept].T @ gradient) / values[kept])


def _log_likelihood(linear: np.ndarray, members: np.ndarray, totals: np.ndarray) -> float:
    # log(1 + e^x) through logaddexp: no overflow for the large predictors of a separated term.
    value = float(np.sum(members * linear - totals * np.logaddexp(0.0, linear)))
    return value if math.isfinite(value) else -math.inf


def cluster_error(
    design: np.ndarray | Blocks,
    members: np.ndarray,
    totals: np.ndarray,
    probability: np.ndarray,
    clusters: np.ndarray,
    position: int,
    rows_of: np.ndarray | None = None,
) -> tuple[float, float]:
    """The cluster-robust (sandwich) standard error of one coefficient of a grouped binomial fit, and the
    model-based one (from the inverse information alone), which fit_problem checks for separation.

    ``members``, ``totals`` and ``clusters`` are per cell; ``rows_of`` gives each cell's row of ``design``
    and ``probability`` (its pattern of the terms; by default row i is cell i), so that many officers'
    cells share one row. ``probability`` is the fitted share per row (statsmodels' ``mu`` for a
    two-column binomial).
    Bread: the inverse information, X'WX with W = n·p·(1−p), through the pseudo-inverse so that a
    clock-time column a small division cannot identify does not stop the fit (the darkness coefficient is
    still identified). Meat: the sum over officers of each officer's summed score, (y − n·p)·x. Each
    cell belongs to one officer and a cell's score is the sum of its rows' scores, so this equals the
    row-level sandwich. Scaled by G/(G−1) for G officers (Stata's and statsmodels' small-sample factor
    without the (N−1)/(N−K) term, which is 1 to many digits at the row counts the test needs).
    """
    design = design if isinstance(design, Blocks) else Blocks.of(design)
    rows = np.arange(len(members)) if rows_of is None else rows_of
    row_totals = np.bincount(rows, weights=totals, minlength=len(design))
    weights = row_totals * probability * (1 - probability)
    bread = np.linalg.pinv(design.information(weights))
    # Each officer's summed score, sum over the officer's cells of (members - total * p) x: the
    # residuals gathered into an officers-by-rows matrix (sparse: an officer has few of the rows), times
    # the design.
    residuals = members - totals * probability[rows]
    groups = int(clusters.max()) + 1
    by_officer = sparse.csc_array((residuals, (clusters, rows)), shape=(groups, len(design)))
    summed = design.officer_scores(by_officer)
    meat = summed.T @ summed * (groups / (groups - 1))
    variance = float((bread @ meat @ bread)[position, position])
    model = float(bread[position, position])
    root = lambda value: math.sqrt(value) if value >= 0 else math.nan  # noqa: E731
    return root(variance), root(model)
