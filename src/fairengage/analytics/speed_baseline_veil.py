"""The speed benchmark's baseline for the veil of darkness's robust specifications, in pandas on rows.

What a competent analyst would write to answer the same questions as analytics/veil_robust.py: take
the stops in each window, one row per stop, and fit statsmodels' binomial GLM of "is the person of the
group" on darkness, a natural cubic spline of clock time per division and year and weekday effects,
with its own cluster-robust covariance by officer. It shares no code with veil_robust.py (which fits
grouped counts with its own Newton steps, by blocks of the design), so the two agreeing, row for row,
is a check of both (tests/analytics/test_speed_bench.py).

It is the slow way on purpose, as speed_baseline.py is: every fit reads every stop of its window, and
the all-division models' designs are rows × about 150 columns.
"""

from __future__ import annotations

import math
import warnings
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

# The robust specifications' settings, written out again so that the baseline stays independent.
CLOCK_CHANGE_DAYS = 30
HEADLINE_DF = 6
SPLINE_CHOICES = (3, 4, 6, 8)
FEWEST_CASES = 10
LARGEST_ERROR = 5.0
FDR = 0.05
# A fitted share this close to 0 or 1 is a term running off to infinity, not a maximum.
RAN_OFF = 1e-9
NO_OFFICER = "(no officer recorded)"
Z = 1.959963984540054


def robust_veil(
    rows: pd.DataFrame, suns: pd.DataFrame, *, tz: str, reference: str, unknown: str
) -> dict[str, Any]:
    """``by_group``, ``by_division`` and ``sensitivity`` rows, from one row per stop.

    ``rows`` holds each stop's ``division``, ``perceived_race``, ``officer_key``, local ``day`` and
    ``second``; ``suns`` each date's ``day``, ``sunset`` and ``dusk`` (local clock seconds).
    """
    suns = suns.assign(near_change=[_near_clock_change(day.date(), ZoneInfo(tz)) for day in suns["day"]])
    start, end = suns["sunset"].min(), suns["dusk"].max()
    near = suns[suns["near_change"]]
    stops = rows.merge(suns, on="day")
    second = stops["second"]
    stops["in_window"] = (second >= start) & (second <= end)
    stops["in_change"] = (
        stops["near_change"] & (second >= near["sunset"].min()) & (second <= near["dusk"].max())
        if len(near)
        else False
    )
    known = (
        (stops["in_window"] | stops["in_change"]) & stops["perceived_race"].notna()
        & (stops["perceived_race"] != unknown) & stops["division"].notna()
    )  # fmt: skip
    stops = stops[known]
    # Between sunset and the end of civil dusk it is neither light nor dark.
    stops = stops[~((stops["second"] >= stops["sunset"]) & (stops["second"] < stops["dusk"]))]
    stops = stops.assign(
        dark=(stops["second"] >= stops["dusk"]).astype(int),
        minute=(((stops["second"] + 150) // 300) * 5).astype(float),
        year=stops["day"].dt.year,
        weekday=stops["day"].dt.dayofweek,
        officer=stops["officer_key"].fillna(NO_OFFICER),
        division=stops["division"].astype(str),
    )
    by_group: list[dict[str, Any]] = []
    by_division: list[dict[str, Any]] = []
    sensitivity: list[dict[str, Any]] = []
    for group in sorted(set(stops["perceived_race"]) - {reference}):
        pair = stops[stops["perceived_race"].isin([group, reference])]
        pair = pair.assign(member=(pair["perceived_race"] == group).astype(int))
        window = pair[pair["in_window"]]
        names = {"group": group, "reference": reference}
        by_group.append(
            {"specification": "inter-twilight", "area": "ALL", **names} | _fit(window, HEADLINE_DF)
        )
        by_group.append(
            {"specification": "dst", "area": "ALL", **names} | _fit(pair[pair["in_change"]], HEADLINE_DF)
        )
        sensitivity += [{"spline_df": df, **names} | _fit(window, df) for df in SPLINE_CHOICES]
        divisions = [
            {"area": division, **names} | _fit(part, HEADLINE_DF)
            for division, part in window.groupby("division", sort=True)
        ]
        tested = [row for row in divisions if row["p_value"] is not None]
        adjusted = multipletests([r["p_value"] for r in tested], method="fdr_bh")[1] if tested else []
        for row, value in zip(tested, adjusted, strict=True):
            row["p_adjusted"], row["notable"] = float(value), bool(value < FDR)
        for row in divisions:
            row.setdefault("p_adjusted", None)
            row.setdefault("notable", False)
        by_division += divisions
    return {"by_group": by_group, "by_division": by_division, "sensitivity": sensitivity}


def _fit(rows: pd.DataFrame, spline_df: int) -> dict[str, Any]:
    """One model on these stops: the darkness odds ratio, clustered by officer; or the reason code."""
    members = int(rows["member"].sum())
    result: dict[str, Any] = {"n": len(rows), "members": members}
    result |= dict.fromkeys(("coefficient", "std_error", "odds_ratio", "ci_low", "ci_high", "p_value"))
    reason = _why_not(rows, members, spline_df)
    if reason is None:
        # A division where only one side was stopped is fitted perfectly by its own level whatever
        # darkness does: it is left out, as the model's limit would leave it.
        share = rows.groupby("division")["member"].transform("mean")
        rows = rows[(share > 0) & (share < 1)]
        reason = "no_mixed_division" if rows.empty else None
    if reason is not None:
        return result | {"reason_code": reason}
    spline = f"cr(minute, df={spline_df}, constraints='center')"
    terms = ["dark", spline if rows["division"].nunique() < 2 else f"{spline} * C(division)"]
    terms += [f"C({column})" for column in ("year", "weekday") if rows[column].nunique() > 1]
    design = patsy.dmatrix(" + ".join(terms), rows, return_type="dataframe")
    officers = pd.factorize(rows["officer"])[0]
    count = int(officers.max()) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = sm.GLM(rows["member"].to_numpy(), design, family=sm.families.Binomial()).fit(
            maxiter=100, cov_type="cluster", cov_kwds={"groups": officers, "use_correction": False}
        )
    position = design.columns.get_loc("dark")
    # The model-based error (the inverse information): the one that blows up under separation, where
    # every score, and so the clustered error, goes to 0.
    model_error = float(np.sqrt(np.asarray(fitted.normalized_cov_params)[position, position]))
    coefficient = float(fitted.params["dark"])
    # The usual small-sample factor for clusters, G/(G-1).
    error = float(fitted.bse["dark"]) * math.sqrt(count / (count - 1))
    finite = all(math.isfinite(value) for value in (coefficient, error, model_error))
    if not finite or abs(coefficient) >= 700 or max(error, model_error) > LARGEST_ERROR:
        return result | {"reason_code": "unstable"}
    # statsmodels' IRLS takes full steps: where a nuisance term is separated (say, one division's
    # clock times at which only one side was stopped) its fitted shares run to 0 or 1 and the fit,
    # darkness included, runs off with them while still reporting convergence. Such a fit is not given.
    fitted_share = np.asarray(fitted.mu)
    if np.minimum(fitted_share, 1 - fitted_share).min() < RAN_OFF:
        return result | {"reason_code": "unstable"}
    return result | {
        "coefficient": coefficient,
        "std_error": error,
        "odds_ratio": math.exp(coefficient),
        "ci_low": math.exp(coefficient - Z * error),
        "ci_high": math.exp(coefficient + Z * error),
        "p_value": float(2 * stats.norm.sf(abs(coefficient) / error)),
        "reason_code": None,
    }


def _why_not(rows: pd.DataFrame, members: int, spline_df: int) -> str | None:
    """Why these stops cannot give an estimate before any fit, as the report's reason codes say it."""
    if rows.empty:
        return "no_stops"
    if rows["dark"].nunique() < 2:
        return "no_contrast"
    if members in (0, len(rows)):
        return "no_variation"
    if rows["minute"].nunique() < spline_df + 1:
        return "few_times"
    if min(members, len(rows) - members) < FEWEST_CASES:
        return "few_cases"
    table = pd.crosstab(rows["dark"], rows["member"])
    if (table.to_numpy() == 0).any():
        return "unstable"
    if rows["officer"].nunique() < 2:
        return "one_officer"
    return None


def _near_clock_change(day: date, zone: ZoneInfo) -> bool:
    """Whether the zone's offset at noon differs CLOCK_CHANGE_DAYS days before and after ``day``."""
    offsets = {
        datetime.combine(day + timedelta(days=shift), time(12), tzinfo=zone).utcoffset()
        for shift in (-CLOCK_CHANGE_DAYS, CLOCK_CHANGE_DAYS)
    }
    return len(offsets) == 2
