"""The speed benchmark's baseline (`fairengage bench`): every analysis of report.json in plain pandas.

This is how a competent analyst without our engine would compute the same figures: read the Parquet
file into a DataFrame, group it with pandas, take the sun per distinct date with ``astral``, and fit the
veil-of-darkness logistic regression with statsmodels on the engagements themselves (one row each).
It shares no code with the analyses it is compared with, so it is also an independent check of their
numbers (``tests/analytics/test_speed_bench.py``): same counts, same indices and intervals, the same
veil-of-darkness coefficient, the same officers' expected counts and p-values.

It is not a strawman. It reads only the columns it uses, converts to local time once and reuses it,
computes the sun once per date rather than per row, and uses vectorised pandas throughout. It is also
not tuned with our engine's tricks: it fits the model to rows, not to grouped counts, and holds the
whole table in memory, as a DataFrame does.
"""

from __future__ import annotations

import math
import warnings
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
from scipy import stats
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from fairengage import vocabulary
from fairengage.analytics.speed_baseline_veil import robust_veil
from fairengage.config import DEFAULT_LATITUDE, DEFAULT_LONGITUDE

# The columns the analyses use; the rest of the analytic table is never read.
USED_COLUMNS = [
    "occurred_at", "division", "officer_key", "perceived_race", "informed", "receipt_offered",
    "identifying_info_collected", "searched", "contraband_found", "outcome", "compliant",
]  # fmt: skip
DUTIES = ["informed", "receipt_offered", "compliant", "identifying_info_collected"]
OUTCOMES = vocabulary.OUTCOMES
CITY = "ALL"
UNKNOWN = vocabulary.UNKNOWN
Z = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class ReferenceParams:
    """Thresholds and settings, the same ones the compared run of ``report.analyze`` is given."""

    notable_disproportionality: float = 1.5
    notable_disparity: float = 1.5
    reference_group: str = "White"
    outcomes: tuple[str, ...] = OUTCOMES
    lat: float = DEFAULT_LATITUDE
    lon: float = DEFAULT_LONGITUDE
    veil_group: str = "Black"
    # The veil's robust specifications (speed_baseline_veil.py), as analyze's ``veil_robust``.
    veil_robust: bool = True
    officer_group: str = "Black"
    officer_min_volume: int = 50
    officer_fdr: float = 0.05
    officer_min_searches: int = 20
    groups: tuple[str, ...] = (
        "Black", "East/Southeast Asian", "Indigenous", "Latino", "Middle Eastern", "South Asian", "White",
        "Another race",
    )  # fmt: skip


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
        "outcome_test_difference": _outcome_differences(cells, params),
        "outcome_test_stratified": _outcome_stratified(cells, params),
        "officers": _officers(frame, local, params),
        "officer_review": _officer_review(frame, local, params),
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
    if params.veil_robust:
        stops = pd.concat([frame[["division", "perceived_race", "officer_key"]], local], axis=1)
        result.update(robust_veil(stops, suns, tz=tz, reference=params.reference_group, unknown=UNKNOWN))
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


def _outcome_differences(cells: pd.DataFrame, params: ReferenceParams, min_searches: int = 20) -> list[dict]:
    """Hit-rate difference (Newcombe 1998, method 10) and ratio (Katz) against the reference group."""
    hits = cells[["area", "group", "searched", "hits"]].rename(columns={"searched": "searches"})
    ref = hits[hits["group"] == params.reference_group].drop(columns="group")
    ref = ref.rename(columns={"searches": "ref_searches", "hits": "ref_hits"})
    frame = hits[hits["group"] != params.reference_group].merge(ref, on="area")
    frame.insert(2, "reference", params.reference_group)
    l1, u1 = _wilson(frame["hits"], frame["searches"])
    l0, u0 = _wilson(frame["ref_hits"], frame["ref_searches"])
    p1 = frame["hits"] / frame["searches"]
    p0 = frame["ref_hits"] / frame["ref_searches"]
    floor = np.where(frame["area"] == CITY, 1, min_searches)
    enough = (frame["searches"] >= floor) & (frame["ref_searches"] >= floor)
    difference = p1 - p0
    with np.errstate(divide="ignore", invalid="ignore"):
        a, n1, c, n0 = (frame[k].astype(float) for k in ("hits", "searches", "ref_hits", "ref_searches"))
        log_ratio = np.log(p1 / p0)
        se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    katz = enough & (a > 0) & (c > 0)
    frame["difference"] = difference.where(enough)
    frame["ci_low"] = (difference - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)).where(enough)
    frame["ci_high"] = (difference + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)).where(enough)
    frame["ratio"] = (p1 / p0).where(enough & (c > 0))
    frame["ratio_ci_low"] = np.exp(log_ratio - Z * se).where(katz)
    frame["ratio_ci_high"] = np.exp(log_ratio + Z * se).where(katz)
    frame["enough"] = enough
    return _records(frame.sort_values(["area", "group"]))


def _outcome_stratified(cells: pd.DataFrame, params: ReferenceParams) -> list[dict]:
    """Mantel–Haenszel risk difference (Sato's variance) and ratio (Greenland–Robins) over divisions."""
    divisions = cells[cells["area"] != CITY]
    ref = divisions[divisions["group"] == params.reference_group][["area", "searched", "hits"]]
    rows = []
    for group in sorted(set(divisions["group"]) - {params.reference_group}):
        both = divisions[divisions["group"] == group][["area", "searched", "hits"]].merge(
            ref, on="area", suffixes=("_1", "_0")
        )
        both = both[(both["searched_1"] > 0) & (both["searched_0"] > 0)]
        a, n1 = both["hits_1"].astype(float), both["searched_1"].astype(float)
        c, n0 = both["hits_0"].astype(float), both["searched_0"].astype(float)
        t = n1 + n0
        row: dict[str, Any] = {"group": group, "reference": params.reference_group, "strata": len(both),
                               "searches": int(n1.sum()), "ref_searches": int(n0.sum())}  # fmt: skip
        row["crude_difference"] = a.sum() / n1.sum() - c.sum() / n0.sum() if len(both) else None
        row.update(
            dict.fromkeys(("difference", "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high"))
        )
        # Mantel & Fleiss (1980): expected finds at least 5 from both bounds the divisions allow.
        expected = (n1 * (a + c) / t).sum()
        fewest, most = (n1 - (t - a - c)).clip(lower=0).sum(), np.minimum(n1, a + c).sum()
        fleiss = min(expected - fewest, most - expected) if len(both) else 0.0
        row["enough"] = bool(n1.sum() >= 20 and n0.sum() >= 20 and fleiss >= 5)
        if row["enough"]:
            w = (n1 * n0 / t).sum()
            rd = ((a * n0 - c * n1) / t).sum() / w
            p = ((n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / t**2).sum()
            q = ((a * (n0 - c) + c * (n1 - a)) / (2 * t)).sum()
            half = Z * math.sqrt(max((rd * p + q) / w**2, 0.0))
            row.update(difference=rd, ci_low=rd - half, ci_high=rd + half)
            r, s = (a * n0 / t).sum(), (c * n1 / t).sum()
            if r > 0 and s > 0:
                spread = Z * math.sqrt(max(((n1 * n0 * (a + c) - a * c * t) / t**2).sum() / (r * s), 0.0))
                row.update(
                    ratio=r / s,
                    ratio_ci_low=r / s * math.exp(-spread),
                    ratio_ci_high=r / s * math.exp(spread),
                )
        rows.append(row)
    return _records(pd.DataFrame(rows)) if rows else []


def _officer_review(frame: pd.DataFrame, local: pd.DataFrame, params: ReferenceParams) -> dict:
    """Every group, three measures, exact matching and a doubly robust comparison, with statsmodels fits."""
    race = frame["perceived_race"]
    keep = race.notna() & (race != UNKNOWN) & frame["officer_key"].notna() & frame["division"].notna()
    found = frame["searched"] & frame["contraband_found"].fillna(False).astype(bool)
    rows = pd.DataFrame(
        {"officer_key": frame["officer_key"], "division": frame["division"], "hour": local["second"] // 3600,
         "weekend": local["day"].dt.dayofweek >= 5, "n": 1}
    )  # fmt: skip
    pairs = []
    for i, group in enumerate(params.groups):
        member = race == group
        rows[f"k{i}"] = member.astype(int)
        rows[f"s{i}"] = (member & frame["searched"]).astype(int)
        rows[f"h{i}"] = (member & found).astype(int)
        pairs += [(group, "share", "n", f"k{i}"), (group, "search_rate", f"k{i}", f"s{i}"),
                  (group, "hit_rate", f"s{i}", f"h{i}")]  # fmt: skip
    rows = rows[keep]
    columns = [c for c in rows.columns if c not in ("officer_key", "division", "hour", "weekend")]
    fine = (
        rows.groupby(["officer_key", "division", "hour", "weekend"], observed=True)[columns]
        .sum()
        .reset_index()
    )
    # Exact matching: leave-one-out peers in division x four-hour band x day type.
    exact_cells = ["division", "band", "weekend"]
    banded = (
        fine.assign(band=fine["hour"] // 4)
        .groupby(["officer_key", *exact_cells])[columns]
        .sum()
        .reset_index()
    )
    totals = banded.groupby(exact_cells)[columns].transform("sum")
    tests = []
    for group, measure, t, y in pairs:
        peers_t, peers_y = totals[t] - banded[t], totals[y] - banded[y]
        ok = peers_t > 0
        part = pd.DataFrame({"officer_key": banded["officer_key"], "trials": banded[t].where(ok, 0),
                             "observed": banded[y].where(ok, 0),
                             "expected": (banded[t] * peers_y / peers_t).where(ok, 0.0)})  # fmt: skip
        part = part.groupby("officer_key")[["trials", "observed", "expected"]].sum().reset_index()
        tests.append(part.assign(group=group, measure=measure))
    exact = pd.concat(tests, ignore_index=True)
    # Doubly robust: outcome models on all officers, a propensity model per officer (statsmodels GLM).
    grid = fine.groupby(["division", "hour", "weekend"])[columns].sum().reset_index()
    divisions = sorted(grid["division"].unique())

    def design(cells: pd.DataFrame) -> pd.DataFrame:
        angle = 2 * np.pi * (cells["hour"].astype(float) + 0.5) / 24
        x = pd.get_dummies(pd.Categorical(cells["division"], categories=divisions), dtype=float)
        x = x.set_axis(range(x.shape[1]), axis=1).reset_index(drop=True)
        for name, values in (("s1", np.sin(angle)), ("c1", np.cos(angle)), ("s2", np.sin(2 * angle)),
                             ("c2", np.cos(2 * angle)), ("we", cells["weekend"].astype(float))):  # fmt: skip
            x[name] = np.asarray(values)
        return x

    def fitted(x: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        used = t > 0
        cols = x.columns[(x[used] != 0).any(axis=0)]
        if not used.any() or len(cols) == 0:
            return np.full(len(x), 0.5)
        endog = np.column_stack([y[used], t[used] - y[used]])
        with warnings.catch_warnings():
            # A group never searched in some division separates perfectly; the fit is still the limit.
            warnings.simplefilter("ignore")
            model = sm.GLM(endog, x.loc[used, cols], family=sm.families.Binomial()).fit()
        return np.asarray(model.predict(x[cols]))

    x = design(grid)
    outcome = {(g, m): fitted(x, grid[y].to_numpy(float), grid[t].to_numpy(float)) for g, m, t, y in pairs}
    dr = []
    for officer, own in fine.groupby("officer_key"):
        mine = grid[["division", "hour", "weekend"]].merge(
            own, on=["division", "hour", "weekend"], how="left"
        )
        mine = mine.fillna({c: 0 for c in columns})
        mask = grid["division"].isin(own["division"]).to_numpy()
        e = fitted(x[mask], mine.loc[mask, "n"].to_numpy(float), grid.loc[mask, "n"].to_numpy(float))
        e = np.clip(e, 1e-12, 1 - 1e-9)
        odds = e / (1 - e)
        for group, measure, t, y in pairs:
            m = outcome[(group, measure)][mask]
            t_o, y_o = mine.loc[mask, t].to_numpy(float), mine.loc[mask, y].to_numpy(float)
            p_t = grid.loc[mask, t].to_numpy(float) - t_o
            p_y = grid.loc[mask, y].to_numpy(float) - y_o
            rate = (t_o * m).sum() / t_o.sum() if t_o.sum() > 0 else 0.0
            weighted = (odds * p_t).sum()
            rate += (odds * (p_y - p_t * m)).sum() / weighted if weighted > 0 else 0.0
            dr.append({"officer_key": officer, "group": group, "measure": measure,
                       "dr_trials": t_o.sum(), "dr_observed": y_o.sum(),
                       "dr_expected": t_o.sum() * min(max(rate, 0.0), 1.0)})  # fmt: skip
    tests = exact.merge(pd.DataFrame(dr), on=["officer_key", "group", "measure"])
    floor = np.where(tests["measure"] == "hit_rate", params.officer_min_searches, params.officer_min_volume)
    tests = tests[tests["trials"] >= floor].reset_index(drop=True)
    families = []
    for prefix in ("", "dr_"):
        p_values = []
        for k, n, e in zip(tests[f"{prefix}observed"], tests[f"{prefix}trials"], tests[f"{prefix}expected"],
                           strict=True):  # fmt: skip
            share = min(max(e / n, 0.0), 1.0) if n > 0 else 0.0
            both = 2 * min(stats.binom.cdf(k, n, share), stats.binom.sf(k - 1, n, share))
            p_values.append(min(1.0, both) if n > 0 and e >= 1 else 1.0)
        tests[f"{prefix}p_value"] = p_values
    for measure in ("share", "search_rate", "hit_rate"):
        for prefix, name in (("", "exact matching"), ("dr_", "doubly robust")):
            chosen = tests["measure"] == measure
            q = (
                multipletests(tests.loc[chosen, f"{prefix}p_value"], method="fdr_bh")[1]
                if chosen.any()
                else []
            )
            tests.loc[chosen, f"{prefix}q_value"] = q
            sign = -1 if measure == "hit_rate" else 1
            concern = sign * (tests[f"{prefix}observed"] - tests[f"{prefix}expected"]) > 0
            tests.loc[chosen, f"{prefix}flagged"] = (
                tests.loc[chosen, f"{prefix}q_value"] < params.officer_fdr
            ) & concern
            families.append({"measure": measure, "comparison": name, "tests": int(chosen.sum()),
                             "flagged": int(tests.loc[chosen, f"{prefix}flagged"].astype(bool).sum()),
                             "fdr": params.officer_fdr})  # fmt: skip
    if tests.empty:
        return {"families": families, "rows": [], "disagreements": 0}
    tests["flagged"] = tests["flagged"].astype(bool)
    tests["dr_flagged"] = tests["dr_flagged"].astype(bool)
    tests["agree"] = tests["flagged"] == tests["dr_flagged"]
    tests["ratio"] = (tests["observed"] / tests["expected"]).where(tests["expected"] > 0)
    tests["dr_ratio"] = (tests["dr_observed"] / tests["dr_expected"]).where(tests["dr_expected"] > 0)
    shown = tests[tests["flagged"] | tests["dr_flagged"]].sort_values(["officer_key", "group", "measure"])
    keys = ["officer_key", "group", "measure", "trials", "observed", "expected", "ratio", "p_value",
            "q_value", "flagged", "dr_expected", "dr_ratio", "dr_p_value", "dr_q_value", "dr_flagged",
            "agree"]  # fmt: skip
    return {
        "families": families,
        "rows": _records(shown[keys]),
        "disagreements": int((~tests["agree"]).sum()),
    }
