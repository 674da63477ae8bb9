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
from astral.sun import dusk, sunset

from fairengage import vocabulary
from fairengage.analytics.engine import as_utc, epoch_seconds
from fairengage.analytics.veil_model import (  # noqa: F401 (REASONS, MAX_STANDARD_ERROR: this module's API too)
    DST_DAYS,
    MAX_STANDARD_ERROR,
    NO_OFFICER,
    REASONS,
    SPLINE_DF,
    data_problem,
    fit_problem,
    level_term,
    model_frame,
)
from fairengage.config import DEFAULT_LATITUDE, DEFAULT_LONGITUDE

SECONDS_PER_DAY = 86_400
EPOCH = date(1970, 1, 1)
UNKNOWN = vocabulary.UNKNOWN
ROUND_SECONDS = 300  # clock time is rounded to 5 minutes, as the paper does before fitting the spline
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
    reference_group: str = "White",
    robust: bool = True,
) -> dict:
    """Veil-of-darkness test: log-odds of ``group`` among engagements, dark vs light, same clock time.

    The headline (top-level keys) is the original specification, kept so that figures stay comparable
    across releases and with the pandas reference (``fairengage bench``). ``by_group``, ``by_division``
    and ``sensitivity`` hold the robust specifications (analytics/veil_robust.py).
    """
    stops, window, dst_window = classify_stops(table, tz=tz, lat=lat, lon=lon)
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
        "reason_code": None,
        "reason": None,
    }
    if window is None:
        result["reason_code"], result["reason"] = "no_stops", REASONS["no_stops"]
        return result
    cells = window_cells(stops, robust=robust)
    headline = cells.loc[cells["in_window"]]
    ambiguous = headline["ambiguous"]
    result["dropped_ambiguous"] = int(headline.loc[ambiguous, "total"].sum())
    clear = headline.loc[~ambiguous]
    clear = clear.assign(members=clear["total"].where(clear["perceived_race"] == group, 0))
    # Engines return groups in no fixed order; sorting makes the fit, to the last digit, engine-independent.
    grouped = (
        clear.groupby(["division", "minute", "dark"], sort=True)[["total", "members"]].sum().reset_index()
    )
    result["n"] = int(grouped["total"].sum())
    fit = fit_darkness_model(grouped)
    if isinstance(fit, dict):
        result.update(fit)
    else:
        # Said in the report in plain words rather than left as a silent blank.
        result["reason_code"], result["reason"] = fit, REASONS[fit]
    if robust:
        # Imported here: the robust specifications are dozens of fits, skipped when not asked for.
        from fairengage.analytics.veil_robust import robust_sections

        result.update(
            robust_sections(cells, reference=reference_group, dst=dst_window.label() if dst_window else None)
        )
    return result


def classify_stops(
    table: ir.Table, *, tz: str, lat: float, lon: float
) -> tuple[ir.Table, SunWindow | None, SunWindow | None]:
    """Each engagement with its local clock, ``minute`` (rounded), the windows, ``ambiguous`` and ``dark``.

    Also ``year`` and ``weekday`` (Monday 0) of the local date, for the robust specifications' controls,
    and ``in_dst_window``: within DST_DAYS days of a clock change and inside that period's own
    inter-twilight window (the second window returned; None when the data hold no clock change).
    ``None`` for the window when the table has no rows (there is no date to take the sun of).
    """
    clocked = with_local_clock(table, tz)
    days = clocked.select("local_day").distinct().to_pandas()["local_day"].dropna()
    suns = sun_table([int(day) for day in days], tz=tz, lat=lat, lon=lon)
    if suns.empty:
        nothing = ibis.literal(False)
        return clocked.mutate(
            minute=ibis.literal(0), in_window=nothing, in_dst_window=nothing, ambiguous=nothing, dark=nothing,
            year=ibis.literal(0), weekday=ibis.literal(0),
        ), None, None  # fmt: skip
    # The paper's inter-twilight window: from the earliest sunset to the latest end of civil dusk over
    # the dates studied. Before it, every date is light; after it, every date is dark.
    window = SunWindow(start=float(suns["sunset"].min()), end=float(suns["dusk"].max()))
    near = suns.loc[suns["near_dst"]]
    dst = SunWindow(start=float(near["sunset"].min()), end=float(near["dusk"].max())) if len(near) else None
    joined = clocked.join(ibis.memtable(suns), "local_day")
    second = joined.local_second
    in_dst = joined.near_dst & (second >= dst.start) & (second <= dst.end) if dst else ibis.literal(False)
    return (
        joined.mutate(
            # Nearest 5 minutes, in minutes since local midnight.
            minute=((second + ROUND_SECONDS // 2) // ROUND_SECONDS) * (ROUND_SECONDS // 60),
            in_window=(second >= window.start) & (second <= window.end),
            in_dst_window=in_dst,
            # Between sunset and the end of civil dusk it is neither light nor dark: such stops are dropped.
            ambiguous=(second >= joined.sunset) & (second < joined.dusk),
            dark=second >= joined.dusk,
        ),
        window,
        dst,
    )


# The keys only the robust specifications need: the DST window, the year and weekday controls, and
# the officer whose stops the clustered errors let be correlated.
ROBUST_KEYS = ("in_dst_window", "year", "weekday", "officer")
CELL_TYPES = {"total": "int64", "minute": "int64", "year": "int64", "weekday": "int64", "dark": bool,
              "ambiguous": bool, "in_window": bool, "in_dst_window": bool}  # fmt: skip


def window_cells(stops: ir.Table, *, robust: bool) -> pd.DataFrame:
    """Counts of the stops in the windows by what the asked-for specifications need, one engine query.

    Keyed by division, clock time, light/dark and perceived race, for the inter-twilight window. With
    ``robust``, also for the DST window and by year, weekday and officer: every robust model is a sum
    over these cells, and the officer key lets errors be clustered by officer exactly as on the rows
    (each cell belongs to one officer). Without it those keys are left out, since they multiply the
    cells (every officer's clock times on every weekday) for a headline that sums them away again.
    """
    window = stops.in_window | stops.in_dst_window if robust else stops.in_window
    known = stops.filter(
        window & stops.perceived_race.notnull() & (stops.perceived_race != UNKNOWN) & stops.division.notnull()
    )
    if robust:
        has_officer = "officer_key" in known.columns
        officer = known.officer_key.fill_null(NO_OFFICER) if has_officer else ibis.literal(NO_OFFICER)
        known = known.mutate(officer=officer)
    extra = ROBUST_KEYS if robust else ()
    keys = ["division", "minute", "dark", "ambiguous", "in_window", *extra, "perceived_race"]
    counts = known.group_by(keys).aggregate(total=known.count()).to_pandas()
    counts = counts.astype({column: kind for column, kind in CELL_TYPES.items() if column in counts.columns})
    return counts.sort_values(keys, kind="mergesort").reset_index(drop=True)


def fit_darkness_model(cells: pd.DataFrame) -> dict | str:
    """Fit the binomial GLM to counts (``total``, ``members``) by division, minute, dark; else why not.

    The reason is a key of REASONS, the same words ``fairengage bench``'s pandas reference reports.

    ``dark + cr(minute, df=6) * C(division)``: patsy's ``cr`` is a natural cubic regression spline. With
    ``constraints="center"`` it spans, beside the intercept, the same six-dimensional space as R's
    ``ns(minute, df=6)`` the paper uses (natural cubic spline, 5 interior knots at quantiles, boundary
    knots at the range). Unconstrained, ``cr`` also spans the constant and is collinear with the
    intercept. Patsy takes the knots from the distinct clock times, so the grouped fit and a fit on
    the rows use the same knots. Interacting with division gives each division its own clock-time curve
    and level: the comparison of dark with light is made within division and clock time.
    """
    problem = data_problem(cells, SPLINE_DF)
    if problem:
        return problem
    members = cells["members"].to_numpy(dtype=float)
    others = cells["total"].to_numpy(dtype=float) - members
    frame = model_frame(cells, ("division",))
    design = patsy.dmatrix(darkness_formula(frame), frame, return_type="dataframe")
    model = sm.GLM(np.column_stack([members, others]), design, family=sm.families.Binomial())
    # A fit that runs away warns (overflow, separation); the checks below turn it into "no estimate",
    # so the warnings would only be noise on the analyst's terminal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = model.fit(tol=1e-12, maxiter=200)
    coefficient = float(fitted.params["dark"])
    low, high = (float(v) for v in fitted.conf_int(alpha=0.05).loc["dark"])
    problem = fit_problem(coefficient, float(fitted.bse["dark"]))
    if problem:
        return problem
    return {
        "coefficient": coefficient,
        "odds_ratio": math.exp(coefficient),
        # A Wald interval on the log-odds, mapped to the odds ratio.
        "ci_low": math.exp(low),
        "ci_high": math.exp(high),
        "p_value": float(fitted.pvalues["dark"]),
    }


def darkness_formula(frame: pd.DataFrame) -> str:
    """The model's right-hand side: with one division there is nothing to interact clock time with."""
    spline = f"cr(minute, df={SPLINE_DF}, constraints='center')"
    if frame["division"].nunique() < 2:
        return f"dark + {spline}"
    return f"dark + {spline} * {level_term(frame, 'division')}"


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
        # The two events the test reads, not astral's ``sun`` (which works out five): half the time.
        try:
            events = [sunset(observer, local_date, zone), dusk(observer, local_date, tzinfo=zone)]
        except ValueError:
            continue
        midnight = datetime.combine(local_date, time())
        # Wall-clock seconds after local midnight, the same scale as the engagements' local_second.
        setting, dark = ((event.replace(tzinfo=None) - midnight).total_seconds() for event in events)
        rows.append(
            {
                "local_day": day,
                "sunset": setting,
                "dusk": dark,
                "year": local_date.year,
                "weekday": local_date.weekday(),
                "near_dst": _near_clock_change(local_date, zone),
            }
        )
    columns = {
        "local_day": "int64", "sunset": "float64", "dusk": "float64", "year": "int64", "weekday": "int64",
        "near_dst": "bool",
    }  # fmt: skip
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


def _near_clock_change(day: date, zone: ZoneInfo) -> bool:
    """Whether the clocks change within DST_DAYS days of ``day`` (either way) in this zone."""
    before = _noon_offset(day - timedelta(days=DST_DAYS), zone)
    after = _noon_offset(day + timedelta(days=DST_DAYS), zone)
    # Clock changes are months apart, so over 61 days the offset changes at most once.
    return before != after


def _noon_offset(day: date, zone: ZoneInfo) -> timedelta | None:
    return datetime.combine(day, time(12), tzinfo=zone).utcoffset()


def with_local_clock(table: ir.Table, tz: str) -> ir.Table:
    """Add ``local_day`` (local date, days since 1970-01-01) and ``local_second`` (after local midnight).

    ``occurred_at`` is UTC. Engines disagree on time-zone functions, so the conversion is done with
    integer arithmetic every engine shares: the zone's UTC offset is piecewise constant, and the few
    offset changes (daylight saving) between the table's first and last timestamp become one CASE.
    A table that already has both columns is returned as it is, so that ``report.analyze`` can add them
    once (for its one zone) for the analyses that need them.
    """
    if {"local_day", "local_second"} <= set(table.columns):
        return table
    epoch = epoch_seconds(table.occurred_at)
    # The first and last time, not the first and last epoch second: engines answer those from the
    # file's statistics (0.01 s at 3M rows, against 0.18 s for converting every row).
    bounds = table.aggregate(first=table.occurred_at.min(), last=table.occurred_at.max()).to_pandas()
    first, last = as_utc(bounds["first"].iloc[0]), as_utc(bounds["last"].iloc[0])
    if first is None or last is None:
        offset: ir.Value = ibis.literal(0)
    else:
        spans = utc_offsets(math.floor(first.timestamp()), math.floor(last.timestamp()), tz)
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
