"""The benchmark's baseline: every analysis of report.json, written in plain pandas and statsmodels.

This is how a competent analyst without our engine would compute the same figures: read the Parquet
file into a DataFrame, group it with pandas, take the sun per distinct date with ``astral``, and fit the
veil-of-darkness logistic regression with statsmodels on the engagements themselves (one row each).
It shares no code with the analyses it is compared with, so it is also an independent check of their
numbers (``tests/analytics/test_bench.py``): same counts, same indices and intervals, the same
veil-of-darkness coefficient, the same officers' expected counts and p-values.

It is not a strawman. It reads only the columns it uses, converts to local time once and reuses it,
computes the sun once per date rather than per row, and uses vectorised pandas throughout. It is also
not tuned with our engine's tricks: it fits the model to rows, not to grouped counts, and holds the
whole table in memory, as a DataFrame does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from astral import Observer
from astral.sun import sun
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

# The columns the analyses use; the rest of the analytic table is never read.
USED_COLUMNS = [
    "occurred_at", "division", "officer_key", "perceived_race", "informed", "receipt_offered",
    "identifying_info_collected", "searched", "contraband_found", "outcome", "compliant",
]  # fmt: skip
DUTIES = ["informed", "receipt_offered", "compliant", "identifying_info_collected"]
OUTCOMES = ("none", "caution", "ticket", "arrest", "referral")
CITY = "ALL"
UNKNOWN = "Unknown"
Z = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class ReferenceParams:
    """Thresholds and settings, the same ones the compared run of ``report.analyze`` is given."""

    notable_disproportionality: float = 1.5
    notable_disparity: float = 1.5
    reference_group: str = "White"
    outcomes: tuple[str, ...] = OUTCOMES
    lat: float = 43.6532
    lon: float = -79.3832
    veil_group: str = "Black"
    officer_group: str = "Black"
    officer_min_volume: int = 50
    officer_fdr: float = 0.05


def reference_analyze(
    path: str | Path, benchmark: pd.DataFrame, *, tz: str, params: ReferenceParams | None = None
) -> dict[str, Any]:
    """Every analysis of report.json (sections only, no meta), from a Parquet file, in pandas."""
    params = params or ReferenceParams()
    frame = pd.read_parquet(path, columns=USED_COLUMNS)
    cells = _cell_counts(frame, params.outcomes)
    local = _local_clock(frame["occurred_at"], tz)
    return {
        "disproportionality": _disproportionality(cells, benchmark, params.notable_disproportionality),
        "disparity": _disparity(cells, params),
        "veil_of_darkness": _veil(frame, local, tz, params),
        "outcome_test": _outcome_test(cells),
        "officers": _officers(frame, local, params),
        "compliance": _compliance(cells),
    }


def _cell_counts(frame: pd.DataFrame, outcomes: tuple[str, ...]) -> pd.DataFrame:
    """Per division and perceived race, and city-wide (area ALL): engagements, searches, hits, ..."""
    measures = frame[["division", "perceived_race", "searched", *DUTIES]].copy()
    measures["hits"] = frame["searched"] & frame["contraband_found"].fillna(False).astype(bool)
    for outcome in outcomes:
        if outcome != "none":
            measures[outcome] = frame["outcome"] == outcome
    measures["engagements"] = 1
    by_division = measures.groupby(["division", "perceived_race"], observed=True).sum().reset_index()
    by_division = by_division.rename(columns={"division": "area", "perceived_race": "group"})
    city = by_division.drop(columns="area").groupby("group").sum().reset_index()
    city.insert(0, "area", CITY)
    cells = pd.concat([by_division, city], ignore_index=True)
    cells["area"] = cells["area"].astype(str)
    cells["group"] = cells["group"].astype(str)
    return cells.sort_values(["area", "group"]).reset_index(drop=True)


def _wilson(count: Any, total: Any) -> tuple[np.ndarray, np.ndarray]:
    count = np.asarray(count, dtype=float)
    total = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = proportion_confint(count, total, alpha=0.05, method="wilson")
    return np.where(total > 0, low, np.nan), np.where(total > 0, high, np.nan)


def _records(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for record in frame.to_dict(orient="records"):
        row = {}
        for key, value in record.items():
            value = value.item() if hasattr(value, "item") else value
            row[key] = None if isinstance(value, float) and math.isnan(value) else value
        rows.append(row)
    return rows


def _disproportionality(cells: pd.DataFrame, benchmark: pd.DataFrame, threshold: float) -> list[dict]:
    counts = cells[["area", "group", "engagements"]].rename(columns={"engagements": "count"})
    frame = benchmark[["area", "group", "population"]].merge(counts, on=["area", "group"], how="left")
    frame["count"] = frame["count"].fillna(0).astype("int64")
    known = cells[cells["group"] != UNKNOWN].groupby("area")["engagements"].sum()
    frame["total"] = frame["area"].map(known).fillna(0).astype("int64")
    frame["population_total"] = frame.groupby("area")["population"].transform("sum").astype("int64")
    share = frame["population"] / frame["population_total"]
    defined = (frame["total"] > 0) & (frame["population"] > 0)
    low, high = _wilson(frame["count"], frame["total"])
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["index"] = ((frame["count"] / frame["total"]) / share).where(defined)
        frame["ci_low"] = (low / share).where(defined)
        frame["ci_high"] = (high / share).where(defined)
    frame["notable"] = (frame["index"] >= threshold) & (frame["ci_low"] > 1)
    columns = ["area", "group", "count", "total", "population", "population_total", "index", "ci_low",
               "ci_high", "notable"]  # fmt: skip
    return _records(frame.sort_values(["area", "group"])[columns])


def _disparity(cells: pd.DataFrame, params: ReferenceParams) -> list[dict]:
    measures = ["searched", *(o for o in params.outcomes if o != "none")]
    long = cells.melt(id_vars=["area", "group", "engagements"], value_vars=measures, var_name="measure",
                      value_name="count").rename(columns={"engagements": "total"})  # fmt: skip
    reference = long[long["group"] == params.reference_group]
    reference = reference[["area", "measure", "count", "total"]].rename(
        columns={"count": "ref_count", "total": "ref_total"}
    )
    frame = long.merge(reference, on=["area", "measure"], how="left")
    frame["rate"] = frame["count"] / frame["total"]
    frame["reference_rate"] = frame["ref_count"] / frame["ref_total"]
    is_reference = frame["group"] == params.reference_group
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["index"] = (frame["rate"] / frame["reference_rate"]).where(frame["reference_rate"] > 0)
        frame.loc[is_reference & (frame["reference_rate"] > 0), "index"] = 1.0
        # Katz et al. (1978): log risk ratio ± z·sqrt(1/a − 1/n1 + 1/c − 1/n0); undefined with a zero count.
        a, n1, c, n0 = (frame[k].astype(float) for k in ("count", "total", "ref_count", "ref_total"))
        log_ratio = np.log((a / n1) / (c / n0))
        se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    defined = (a > 0) & (c > 0) & (n1 > 0) & (n0 > 0) & ~is_reference
    frame["ci_low"] = np.exp(log_ratio - Z * se).where(defined)
    frame["ci_high"] = np.exp(log_ratio + Z * se).where(defined)
    frame["notable"] = (frame["index"] >= params.notable_disparity) & (frame["ci_low"] > 1)
    columns = ["area", "group", "measure", "count", "total", "rate", "reference_rate", "index", "ci_low",
               "ci_high", "notable"]  # fmt: skip
    return _records(frame.sort_values(["area", "group", "measure"])[columns])


def _outcome_test(cells: pd.DataFrame) -> list[dict]:
    frame = cells[["area", "group", "searched", "hits"]].rename(columns={"searched": "searches"})
    frame["hit_rate"] = (frame["hits"] / frame["searches"]).where(frame["searches"] > 0)
    frame["ci_low"], frame["ci_high"] = _wilson(frame["hits"], frame["searches"])
    return _records(frame)


def _compliance(cells: pd.DataFrame) -> list[dict]:
    by_area = cells.groupby("area", as_index=False)[["engagements", *DUTIES]].sum()
    frame = by_area.melt(id_vars=["area", "engagements"], value_vars=DUTIES, var_name="measure",
                         value_name="count").rename(columns={"engagements": "total"})  # fmt: skip
    frame["rate"] = (frame["count"] / frame["total"]).where(frame["total"] > 0)
    return _records(frame.sort_values(["area", "measure"])[["area", "measure", "count", "total", "rate"]])


def _local_clock(occurred_at: pd.Series, tz: str) -> pd.DataFrame:
    """Local date and seconds after local midnight (wall clock), computed once for both analyses."""
    wall = occurred_at.dt.tz_convert(tz).dt.tz_localize(None).dt.floor("s")
    day = wall.dt.normalize()
    return pd.DataFrame({"day": day, "second": (wall - day) // pd.Timedelta(seconds=1)})


def _sun_by_date(days: pd.Series, *, tz: str, lat: float, lon: float) -> pd.DataFrame:
    """Sunset and end of civil dusk, as wall-clock seconds after midnight, per distinct date."""
    zone = ZoneInfo(tz)
    observer = Observer(latitude=lat, longitude=lon)
    rows = []
    for day in sorted(days.unique()):
        local_date: date = pd.Timestamp(day).date()
        try:
            times = sun(observer, date=local_date, tzinfo=zone)
        except ValueError:  # no sunset or no end of dusk on that date
            continue
        midnight = datetime.combine(local_date, time())
        sunset, dusk = (
            (times[e].replace(tzinfo=None) - midnight).total_seconds() for e in ("sunset", "dusk")
        )
        rows.append((pd.Timestamp(day), sunset, dusk))
    return pd.DataFrame(rows, columns=["day", "sunset", "dusk"])


def _veil(frame: pd.DataFrame, local: pd.DataFrame, tz: str, params: ReferenceParams) -> dict:
    group = params.veil_group
    result: dict[str, Any] = {"n": 0, "group": group, "window": None, "dropped_ambiguous": 0}
    result.update(dict.fromkeys(("coefficient", "odds_ratio", "ci_low", "ci_high", "p_value")))
    suns = _sun_by_date(local["day"], tz=tz, lat=params.lat, lon=params.lon)
    if suns.empty:
        return result
    # Pierson et al. (2020): the inter-twilight window, earliest sunset to latest end of civil dusk.
    start, end = suns["sunset"].min(), suns["dusk"].max()
    result["window"] = {"from": _clock(start), "to": _clock(end)}
    rows = pd.concat([frame[["division", "perceived_race"]], local], axis=1).merge(suns, on="day")
    second = rows["second"]
    keep = (
        (second >= start) & (second <= end) & rows["perceived_race"].notna()
        & (rows["perceived_race"] != UNKNOWN) & rows["division"].notna()
    )  # fmt: skip
    rows = rows[keep]
    ambiguous = (rows["second"] >= rows["sunset"]) & (rows["second"] < rows["dusk"])
    result["dropped_ambiguous"] = int(ambiguous.sum())
    rows = rows[~ambiguous]
    result["n"] = len(rows)
    model = pd.DataFrame(
        {
            "member": (rows["perceived_race"] == group).astype(int).to_numpy(),
            "dark": (rows["second"] >= rows["dusk"]).astype(int).to_numpy(),
            # Clock time to the nearest 5 minutes, in minutes after midnight.
            "minute": (((rows["second"] + 150) // 300) * 5).astype(float).to_numpy(),
            "division": rows["division"].to_numpy(),
        }
    )
    # No contrast to estimate, or too few clock times for a 6-df spline (5 inner and 2 boundary knots).
    if any(model[column].nunique() < 2 for column in ("dark", "member")) or model["minute"].nunique() < 7:
        return result
    spline = "cr(minute, df=6, constraints='center')"
    formula = f"dark + {spline}" if model["division"].nunique() < 2 else f"dark + {spline} * C(division)"
    design = patsy.dmatrix(formula, model, return_type="dataframe")
    fitted = sm.GLM(model["member"].to_numpy(), design, family=sm.families.Binomial()).fit()
    coefficient = float(fitted.params["dark"])
    # The same rule for a degenerate fit as analytics/veil_model.py's fit_problem, written out again so
    # that the reference stays independent: a coefficient or standard error that is not finite, past
    # what exp holds, or a standard error above 5 log-odds is "no estimate" (seen: -9.4e13).
    error = float(fitted.bse["dark"])
    if not (math.isfinite(coefficient) and math.isfinite(error)) or abs(coefficient) >= 700 or error > 5.0:
        return result | {"reason_code": "unstable"}
    low, high = fitted.conf_int(alpha=0.05).loc["dark"]
    result.update(
        coefficient=coefficient,
        odds_ratio=math.exp(coefficient),
        ci_low=math.exp(low),
        ci_high=math.exp(high),
        p_value=float(fitted.pvalues["dark"]),
    )
    return result


def _clock(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _officers(frame: pd.DataFrame, local: pd.DataFrame, params: ReferenceParams) -> list[dict]:
    race = frame["perceived_race"]
    keep = race.notna() & (race != UNKNOWN) & frame["officer_key"].notna() & frame["division"].notna()
    rows = pd.DataFrame(
        {
            "officer_key": frame["officer_key"],
            "division": frame["division"],
            # Six four-hour bands of local time, and weekday or weekend (Saturday, Sunday).
            "band": local["second"] // (4 * 3600),
            "weekend": local["day"].dt.dayofweek >= 5,
            "k": race == params.officer_group,
        }
    )[keep]
    cells = ["division", "band", "weekend"]
    counts = rows.groupby(["officer_key", *cells], observed=True).agg(n=("k", "size"), k=("k", "sum"))
    counts = counts.reset_index()
    # Leave-one-out peers: the share of the group among the other officers' engagements in the cell.
    totals = counts.groupby(cells)[["n", "k"]].transform("sum")
    peers_n, peers_k = totals["n"] - counts["n"], totals["k"] - counts["k"]
    counts = counts[peers_n > 0].assign(expected=counts["n"] * peers_k / peers_n)
    officers = counts.groupby("officer_key")[["n", "k", "expected"]].sum().reset_index()
    officers = officers[officers["n"] >= params.officer_min_volume].rename(columns={"k": "observed"})
    if officers.empty:
        return []
    officers["p_value"] = [
        binomtest(int(o), int(n), min(max(e / n, 0.0), 1.0)).pvalue
        for o, n, e in zip(officers["observed"], officers["n"], officers["expected"], strict=True)
    ]
    officers["q_value"] = multipletests(officers["p_value"], alpha=params.officer_fdr, method="fdr_bh")[1]
    officers["ratio"] = (officers["observed"] / officers["expected"]).where(officers["expected"] > 0)
    above = officers["observed"] > officers["expected"]
    officers["flagged"] = (officers["q_value"] < params.officer_fdr) & above
    officers = officers.sort_values(["q_value", "officer_key"], kind="mergesort")
    columns = ["officer_key", "n", "observed", "expected", "ratio", "p_value", "q_value", "flagged"]
    return _records(officers[columns])
