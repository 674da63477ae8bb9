"""Every analysis over one analytic table, assembled as report.json (docs/architecture.md, "report.json")."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd

from fairengage import __version__
from fairengage.analytics.benchmark import describe_benchmark
from fairengage.analytics.compliance import compliance_rows
from fairengage.analytics.counts import (
    CITY,
    OUTCOMES,
    PERCEIVED_RACES,
    REFERENCE_GROUP,
    cell_counts,
)
from fairengage.analytics.disparity import disparity_rows
from fairengage.analytics.disproportionality import disproportionality_rows
from fairengage.analytics.engine import AnalyticsInputError, as_count
from fairengage.analytics.outcome_test import outcome_test_rows
from fairengage.policy import NoRuleSetInForce, RuleSet, ruleset_in_force

REPORT_KEYS = (
    "disproportionality",
    "disparity",
    "veil_of_darkness",
    "outcome_test",
    "officers",
    "compliance",
    "change_over_time",
)
SIGNIFICANT_DIGITS = 10
# Toronto City Hall: where the sun is reckoned for the veil-of-darkness test unless told otherwise.
DEFAULT_LAT, DEFAULT_LON = 43.6532, -79.3832

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AnalysisParams:
    """What an analysis run needs besides the table: names for the report, thresholds and test settings."""

    input_name: str = "analytic table"
    benchmark_name: str = "benchmark"
    # The rule set whose thresholds apply; None: the one in force on the last day the data cover.
    ruleset: RuleSet | None = None
    # Explicit thresholds win over the rule set's.
    notable_disproportionality: float | None = None
    notable_disparity: float | None = None
    reference_group: str = REFERENCE_GROUP
    lat: float = DEFAULT_LAT
    lon: float = DEFAULT_LON
    # The veil of darkness's robust specifications (every group, DST window, clustered errors, divisions,
    # spline sensitivity): dozens of model fits; the speed benchmark leaves them out until its pandas
    # reference does them too.
    veil_robust: bool = True
    # Dates for the interrupted time series; None: the rule sets' start dates the data straddle.
    change_dates: list[date] | None = None
    officer_group: str = "Black"
    officer_min_volume: int = 50
    officer_fdr: float = 0.05
    # Fixed in tests so that two runs give the same bytes; None: now.
    generated_at: datetime | None = None
    extra_meta: dict[str, Any] = field(default_factory=dict)


# The steps `analyze` names to its progress hook, for "step N of M" (a test counts them).
STEPS = 9


def analyze(
    table: ibis.Table,
    benchmark: pd.DataFrame,
    *,
    engine_name: str,
    tz: str,
    params: AnalysisParams | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every analysis and return report.json as a dict (floats rounded to 10 significant digits)."""
    params = params or AnalysisParams()
    step = progress or (lambda _: None)

    step("reading the period covered")
    rows, first, last = _period(table)
    ruleset = params.ruleset or _ruleset_for(last, tz)
    categories = ruleset.codes("perceived_race") if ruleset else PERCEIVED_RACES
    outcomes = ruleset.codes("outcomes") if ruleset else OUTCOMES
    thresholds = _thresholds(params, ruleset)

    step("counting engagements by division and group")
    cells = cell_counts(table, outcomes)
    _check_values(cells, table, params.input_name, categories, outcomes)

    step("disproportionality")
    dispro = disproportionality_rows(cells, benchmark, threshold=thresholds["notable_disproportionality"])
    step("disparity")
    disp = disparity_rows(
        cells,
        threshold=thresholds["notable_disparity"],
        reference_group=params.reference_group,
        outcomes=outcomes,
    )
    step("outcome test")
    hits = outcome_test_rows(cells)
    step("compliance")
    duties = compliance_rows(cells)
    step("veil of darkness")
    veil = _optional(
        "veil", "veil_of_darkness", table, tz=tz, lat=params.lat, lon=params.lon,
        reference_group=params.reference_group, robust=params.veil_robust,
    )  # fmt: skip
    step("officer benchmarking")
    officers = _optional(
        "officers",
        "officer_benchmarks",
        table,
        group=params.officer_group,
        min_volume=params.officer_min_volume,
        fdr=params.officer_fdr,
        tz=tz,
    )

    step("change over time")
    # Imported here, as the other model-fitting analyses are reached: statsmodels is heavy.
    from fairengage.analytics.change import change_over_time

    change = change_over_time(table, tz=tz, dates=params.change_dates)

    generated = params.generated_at or datetime.now(UTC)
    meta = {
        "input": params.input_name,
        "rows": rows,
        "engine": engine_name,
        "period": {"first": _iso(first), "last": _iso(last), "timezone": tz},
        "ruleset": {"id": ruleset.id, "version": ruleset.version} if ruleset else None,
        "thresholds": thresholds,
        "reference_group": params.reference_group,
        "benchmark": describe_benchmark(benchmark, params.benchmark_name),
        "unbenchmarked_areas": sorted(set(cells["area"]) - set(benchmark["area"])),
        "confidence": 0.95,
        "veil_of_darkness": {"lat": params.lat, "lon": params.lon, "available": veil is not None},
        "officers": {
            "group": params.officer_group,
            "min_volume": params.officer_min_volume,
            "fdr": params.officer_fdr,
            "available": officers is not None,
        },
        "generated_at": generated.astimezone(UTC).isoformat(timespec="seconds"),
        "software": {"fairengage": __version__, "ibis": ibis.__version__},
        **params.extra_meta,
    }
    report = {
        "disproportionality": dispro,
        "disparity": disp,
        "veil_of_darkness": veil,
        "outcome_test": hits,
        "officers": officers,
        "compliance": duties,
        "change_over_time": change,
        "meta": meta,
    }
    return rounded(report)


def _period(table: ibis.Table) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    summary = table.aggregate(
        rows=table.count(), first=table.occurred_at.min(), last=table.occurred_at.max()
    ).to_pandas()
    row = summary.iloc[0]
    return as_count(row["rows"]), _utc(row["first"]), _utc(row["last"])


def _utc(value: Any) -> pd.Timestamp | None:
    # Spark hands back naive UTC times (its session runs in UTC), DuckDB aware ones: make both aware.
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _iso(value: pd.Timestamp | None) -> str | None:
    return None if value is None else value.isoformat()


def _ruleset_for(last: pd.Timestamp | None, tz: str) -> RuleSet | None:
    # A report is judged by the rules of the period it describes: the rule set in force on the last
    # local day covered (or today, for an empty table).
    zone = ZoneInfo(tz)
    day: date = last.tz_convert(zone).date() if last is not None else datetime.now(zone).date()
    try:
        return ruleset_in_force(day)
    except NoRuleSetInForce:
        return None


def _thresholds(params: AnalysisParams, ruleset: RuleSet | None) -> dict[str, float]:
    thresholds = {}
    for name in ("notable_disproportionality", "notable_disparity"):
        value = getattr(params, name)
        if value is None and ruleset is not None:
            value = ruleset.param(name)
        if value is None:
            raise AnalyticsInputError(f"no rule set is in force for the data, so give {name} explicitly")
        thresholds[name] = float(value)
    return thresholds


def _check_values(
    cells: pd.DataFrame, table: ibis.Table, source: str, categories: Sequence[str], outcomes: Sequence[str]
) -> None:
    """Refuse a perceived race or outcome the rule set does not know, and a division called ALL."""
    groups = set(cells["group"])
    unknown = sorted(groups - set(categories))
    if unknown:
        raise AnalyticsInputError(
            f"{source}: column 'perceived_race': {unknown[0]!r} is not a perceived-race category "
            f"({', '.join(categories)})"
        )
    if CITY in set(table.select("division").distinct().to_pandas()["division"]):
        raise AnalyticsInputError(f"{source}: column 'division': {CITY!r} is reserved for the whole city")
    values = set(table.select("outcome").distinct().to_pandas()["outcome"])
    strange = sorted(values - set(outcomes))
    if strange:
        raise AnalyticsInputError(
            f"{source}: column 'outcome': {strange[0]!r} is not an outcome ({', '.join(outcomes)})"
        )


def _optional(module: str, function: str, table: ibis.Table, **kwargs: Any) -> Any:
    """Call an analysis of its own module (veil, officers) when that module is installed; else None."""
    # Wiring point for analytics/veil.py and analytics/officers.py: each is called as soon as it exists.
    name = f"fairengage.analytics.{module}"
    if importlib.util.find_spec(name) is None:
        return None
    analysis = getattr(importlib.import_module(name), function)
    # Keyword arguments the analysis does not take (officers' `tz` is optional there) are left out.
    accepted = inspect.signature(analysis).parameters
    return analysis(table, **{key: value for key, value in kwargs.items() if key in accepted})


def rounded(value: Any) -> Any:
    """A JSON-ready copy: floats to 10 significant digits, NaN and infinities as None, numpy as Python."""
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # Rounding hides the last-bit differences two engines' arithmetic could leave, so both give
        # byte-identical JSON.
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return value


def write_report(report: dict[str, Any], path: str | Path) -> None:
    """Write report.json (UTF-8, two-space indent, keys in report order)."""
    text = json.dumps(rounded(report), indent=2, ensure_ascii=False, allow_nan=False)
    Path(path).write_text(text + "\n", encoding="utf-8")
