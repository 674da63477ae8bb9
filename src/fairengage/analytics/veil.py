"""The veil-of-darkness test: is a group's share of engagements lower once it is dark, at the same clock time?

The method is the Stanford Open Policing Project's (Pierson et al., 2020, "A large-scale analysis of
racial disparities in police stops across the United States", Nature Human Behaviour, Methods, "Veil of
darkness"), built on Grogger & Ridgeway (2006). Officers can see a person's race less well after dark.
If the group is engaged less often in darkness than in light at the same clock time, some light-time
engagements were plausibly decided by race. Clock time is held fixed because who is out at 18:30 does
not depend on the season. Only the sun differs: 18:30 is light in June and dark in December.

The work is split as everywhere in ``analytics``. The engine (DuckDB or Spark, through Ibis) turns
timestamps into local clock times, joins a small per-date sun table made with ``astral``, and counts
engagements by (division, 5-minute clock time, dark). Python fits the model to those counts.
A binomial GLM on grouped counts has the same likelihood as the logistic regression on the rows it
counts, so nothing is lost by aggregating (``tests/analytics/test_veil.py`` shows it).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from astral import Observer
from astral.sun import sun

from fairengage import vocabulary
from fairengage.config import DEFAULT_LATITUDE, DEFAULT_LONGITUDE

SECONDS_PER_DAY = 86_400
EPOCH = date(1970, 1, 1)
UNKNOWN = vocabulary.UNKNOWN
ROUND_SECONDS = 300  # clock time is rounded to 5 minutes, as the paper does before fitting the spline
SPLINE_DF = 6  # the paper's natural spline of clock time has six degrees of freedom
METHOD = (
    "Logistic regression (binomial GLM on counts) of the group's share of engagements on darkness, "
    "controlling for clock time with a natural cubic spline (6 df) per division, among engagements in "
    "the inter-twilight window, excluding the ambiguous time between sunset and the end of civil dusk "
    "(Pierson et al., 2020)."
)


@dataclass(frozen=True)
class SunWindow:
    """The inter-twilight window: clock times light on some dates and dark on others; in seconds."""

    start: float  # earliest sunset over the dates in the data
    end: float  # latest end of civil dusk over the same dates

    def label(self) -> dict[str, str]:
        """The window as local clock times, ``{"from": "HH:MM", "to": "HH:MM"}``."""
        return {"from": _clock(self.start), "to": _clock(self.end)}


def veil_of_darkness(
    table: ir.Table,
    *,
    tz: str = "America/Toronto",
    lat: float = DEFAULT_LATITUDE,
    lon: float = DEFAULT_LONGITUDE,
    group: str = "Black",
) -> dict:
    """Veil-of-darkness test: log-odds of ``group`` among engagements, dark vs light, same clock time."""
    stops, window = classify_stops(table, tz=tz, lat=lat, lon=lon)
    result: dict = {
        "n": 0,
        "group": group,
        "coefficient": None,
        "odds_ratio": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "window": window.label() if window else None,
        "dropped_ambiguous": 0,
        "method": METHOD,
    }
    if window is None:
        return result
    known = stops.filter(
        stops.in_window & stops.perceived_race.notnull() & (stops.perceived_race != UNKNOWN)
        & stops.division.notnull()
    )  # fmt: skip
    counts = (
        known.group_by(["division", "minute", "dark", "ambiguous"])
        .aggregate(total=known.count(), members=(known.perceived_race == group).cast("int64").sum())
        .to_pandas()
    )
    ambiguous = counts["ambiguous"].astype(bool)
    result["dropped_ambiguous"] = int(counts.loc[ambiguous, "total"].sum())
    # Engines return groups in no fixed order; sorting makes the fit, to the last digit, engine-independent.
    cells = (
        counts.loc[~ambiguous]
        .drop(columns="ambiguous")
        .sort_values(["division", "minute", "dark"], kind="mergesort")
        .reset_index(drop=True)
    )
    result["n"] = int(cells["total"].sum())
    fit = fit_darkness_model(cells)
    if fit is not None:
        result.update(fit)
    else:
        # Said in the report rather than left as a silent blank: the model has a clock-time curve per
        # division, which needs many stops in the window.
        result["note"] = "not estimable from these data: too few stops in the window, or no contrast"
    return result


def classify_stops(table: ir.Table, *, tz: str, lat: float, lon: float) -> tuple[ir.Table, SunWindow | None]:
    """Each engagement with its local clock, ``minute`` (rounded), ``in_window``, ``ambiguous`` and ``dark``.

    ``None`` for the window when the table has no rows (there is no date to take the sun of).
    """
    clocked = with_local_clock(table, tz)
    days = clocked.select("local_day").distinct().to_pandas()["local_day"].dropna()
    suns = sun_table([int(day) for day in days], tz=tz, lat=lat, lon=lon)
    if suns.empty:
        return clocked.mutate(minute=ibis.literal(0), in_window=False, ambiguous=False, dark=False), None
    # The paper's inter-twilight window: from the earliest sunset to the latest end of civil dusk over
    # the dates studied. Before it, every date is light; after it, every date is dark.
    window = SunWindow(start=float(suns["sunset"].min()), end=float(suns["dusk"].max()))
    joined = clocked.join(ibis.memtable(suns), "local_day")
    second = joined.local_second
    return joined.mutate(
        # Nearest 5 minutes, in minutes since local midnight.
        minute=((second + ROUND_SECONDS // 2) // ROUND_SECONDS) * (ROUND_SECONDS // 60),
        in_window=(second >= window.start) & (second <= window.end),
        # Between sunset and the end of civil dusk it is neither light nor dark: such stops are dropped.
        ambiguous=(second >= joined.sunset) & (second < joined.dusk),
        dark=second >= joined.dusk,
    ), window


# Beyond this standard error (in log-odds) the darkness effect is not estimable from the data.
MAX_STANDARD_ERROR = 5.0


def fit_darkness_model(cells: pd.DataFrame) -> dict | None:
    """Fit the binomial GLM to counts (``total``, ``members``) by division, minute, dark; None if it cannot.

    ``dark + cr(minute, df=6) * C(division)``: patsy's ``cr`` is a natural cubic regression spline. With
    ``constraints="center"`` it spans, beside the intercept, the same six-dimensional space as R's
    ``ns(minute, df=6)`` the paper uses (natural cubic spline, 5 interior knots at quantiles, boundary
    knots at the range). Unconstrained, ``cr`` also spans the constant and is collinear with the
    intercept. Patsy takes the knots from the distinct clock times, so the grouped fit and a fit on
    the rows use the same knots. Interacting with division gives each division its own clock-time curve
    and level: the comparison of dark with light is made within division and clock time.
    """
    if cells.empty or cells["dark"].nunique() < 2:
        return None
    members = cells["members"].to_numpy(dtype=float)
    others = cells["total"].to_numpy(dtype=float) - members
    if members.sum() == 0 or others.sum() == 0:
        return None
    # Five interior knots and two boundary knots need seven distinct clock times.
    if cells["minute"].nunique() < SPLINE_DF + 1:
        return None
    frame = cells.assign(dark=cells["dark"].astype(int), minute=cells["minute"].astype(float))
    formula = darkness_formula(frame["division"].nunique())
    design = patsy.dmatrix(formula, frame, return_type="dataframe")
    model = sm.GLM(np.column_stack([members, others]), design, family=sm.families.Binomial())
    # A fit that runs away warns (overflow, separation); the checks below turn it into "no estimate",
    # so the warnings would only be noise on the analyst's terminal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = model.fit(tol=1e-12, maxiter=200)
    coefficient = float(fitted.params["dark"])
    low, high = (float(v) for v in fitted.conf_int(alpha=0.05).loc["dark"])
    # A separated or nearly separated small sample gives a runaway estimate (a standard error of many
    # log-odds units, or one past what exp can hold): report no estimate rather than a meaningless one.
    if not all(math.isfinite(v) and abs(v) < 700 for v in (coefficient, low, high)):
        return None
    if float(fitted.bse["dark"]) > MAX_STANDARD_ERROR:
        return None
    return {
        "coefficient": coefficient,
        "odds_ratio": math.exp(coefficient),
        # A Wald interval on the log-odds, mapped to the odds ratio.
        "ci_low": math.exp(low),
        "ci_high": math.exp(high),
        "p_value": float(fitted.pvalues["dark"]),
    }


def darkness_formula(divisions: int) -> str:
    """The model's right-hand side: with one division there is nothing to interact clock time with."""
    spline = f"cr(minute, df={SPLINE_DF}, constraints='center')"
    return f"dark + {spline}" if divisions < 2 else f"dark + {spline} * C(division)"


def sun_table(days: list[int], *, tz: str, lat: float, lon: float) -> pd.DataFrame:
    """Sunset and end of civil dusk per local date (days since 1970-01-01), as local clock seconds.

    One ``astral`` call per distinct date, never per row. A date on which the sun does not set or
    civil dusk never ends (far north in summer) has no row: it has no light/dark contrast to offer.
    """
    zone = ZoneInfo(tz)
    observer = Observer(latitude=lat, longitude=lon)
    rows = []
    for day in sorted(set(days)):
        local_date = EPOCH + timedelta(days=day)
        try:
            times = sun(observer, date=local_date, tzinfo=zone)
        except ValueError:
            continue
        midnight = datetime.combine(local_date, time())
        # Wall-clock seconds after local midnight, the same scale as the engagements' local_second.
        sunset, dusk = (
            (times[event].replace(tzinfo=None) - midnight).total_seconds() for event in ("sunset", "dusk")
        )
        rows.append({"local_day": day, "sunset": sunset, "dusk": dusk})
    return pd.DataFrame(rows, columns=["local_day", "sunset", "dusk"]).astype(
        {"local_day": "int64", "sunset": "float64", "dusk": "float64"}
    )


def with_local_clock(table: ir.Table, tz: str) -> ir.Table:
    """Add ``local_day`` (local date, days since 1970-01-01) and ``local_second`` (after local midnight).

    ``occurred_at`` is UTC. Engines disagree on time-zone functions, so the conversion is done with
    integer arithmetic every engine shares: the zone's UTC offset is piecewise constant, and the few
    offset changes (daylight saving) between the table's first and last timestamp become one CASE.
    """
    epoch = table.occurred_at.epoch_seconds()
    bounds = table.aggregate(first=epoch.min(), last=epoch.max()).to_pandas()
    first, last = bounds["first"].iloc[0], bounds["last"].iloc[0]
    if pd.isna(first):
        offset: ir.Value = ibis.literal(0)
    else:
        spans = utc_offsets(int(first), int(last), tz)
        branches = [
            (epoch < until, offset) for until, offset in zip(spans.starts[1:], spans.offsets, strict=False)
        ]
        offset = (
            ibis.cases(*branches, else_=spans.offsets[-1]) if branches else ibis.literal(spans.offsets[0])
        )
    local = epoch + offset
    return table.mutate(local_day=local // SECONDS_PER_DAY, local_second=local % SECONDS_PER_DAY)


@dataclass(frozen=True)
class OffsetSpans:
    """UTC offsets of a zone: ``offsets[i]`` (seconds) holds from epoch second ``starts[i]`` on."""

    starts: list[int]
    offsets: list[int]


def utc_offsets(first: int, last: int, tz: str) -> OffsetSpans:
    """The zone's UTC offsets between two epoch seconds, with the exact second each one starts."""
    zone = ZoneInfo(tz)

    def offset_at(second: int) -> int:
        offset = datetime.fromtimestamp(second, zone).utcoffset()
        if offset is None:  # cannot happen: a time read in a zone knows its offset
            raise ValueError(f"{tz} gives no UTC offset at {second}")
        return int(offset.total_seconds())

    starts, offsets = [first], [offset_at(first)]
    # Offsets change at most a few times a year: step a day at a time, then bisect to the second.
    previous = first
    for probe in [*range(first + SECONDS_PER_DAY, last, SECONDS_PER_DAY), last]:
        if probe <= previous:
            continue
        if offset_at(probe) != offsets[-1]:
            low, high = previous, probe  # offset_at(low) is the old offset, offset_at(high) the new one
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset_at(middle) == offsets[-1] else (low, middle)
            starts.append(high)
            offsets.append(offset_at(high))
        previous = probe
    return OffsetSpans(starts=starts, offsets=offsets)


def _clock(seconds: float) -> str:
    """Seconds after midnight as ``HH:MM`` (whole minutes, rounded down)."""
    minutes = int(seconds // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
