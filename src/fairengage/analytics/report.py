"""Every analysis over one analytic table, assembled as report.json (docs/architecture.md, "report.json")."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd

from fairengage import __version__
from fairengage.analytics.benchmark_comparison import compare_benchmarks
from fairengage.analytics.compliance import compliance_rows
from fairengage.analytics.counts import CITY, cell_counts
from fairengage.analytics.disparity import disparity_rows
from fairengage.analytics.disproportionality import disproportionality_rows
from fairengage.analytics.engine import AnalyticsInputError, as_count, as_utc
from fairengage.analytics.officer_review import matched_from_review, review_counts, review_from_counts
from fairengage.analytics.officers import benchmarks_from_counts
from fairengage.analytics.outcome_test import hit_rate_differences, outcome_test_rows, stratified_hit_rates
from fairengage.analytics.population_benchmarks.frame import describe_benchmark
from fairengage.analytics.veil import veil_of_darkness, with_local_clock
from fairengage.config import DEFAULT_LATITUDE, DEFAULT_LONGITUDE
from fairengage.policy import NoRuleSetInForce, RuleSet, ruleset_in_force
from fairengage.progress import NO_PROGRESS, Progress
from fairengage.vocabulary import OUTCOMES, PERCEIVED_RACES, REFERENCE_GROUP, UNKNOWN

REPORT_KEYS = (
    "disproportionality",
    "disparity",
    "veil_of_darkness",
    "outcome_test",
    "outcome_test_difference",
    "outcome_test_stratified",
    "officers",
    "officer_review",
    "benchmark_comparison",
    "compliance",
    "change_over_time",
)
# Added after REPORT_KEYS when the threshold test is asked for (`analyze --threshold-test`).
THRESHOLD_KEYS = ("threshold_test", "threshold_test_difference", "threshold_test_checks")
SIGNIFICANT_DIGITS = 10
# Where the sun is reckoned for the veil-of-darkness test unless told otherwise: the settings' default.
DEFAULT_LAT, DEFAULT_LON = DEFAULT_LATITUDE, DEFAULT_LONGITUDE


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
    # spline sensitivity): dozens of model fits; the speed benchmark fits them on both sides only with
    # --robust-veil (its pandas reference's fits on rows take minutes).
    veil_robust: bool = True
    # Dates for the interrupted time series; None: the rule sets' start dates the data straddle.
    change_dates: list[date] | None = None
    officer_group: str = "Black"
    officer_min_volume: int = 50
    officer_fdr: float = 0.05
    # The broader officer review (officer_review.py): searches of a group below this are not tested
    # for their hit rate.
    officer_min_searches: int = 20
    # Fixed in tests so that two runs give the same bytes; None: now.
    generated_at: datetime | None = None
    extra_meta: dict[str, Any] = field(default_factory=dict)
    # The threshold test is slow (a Bayesian fit): run only when asked, with these sampler settings.
    threshold_test: bool = False
    threshold_chains: int = 4
    threshold_samples: int = 1000
    threshold_seed: int = 0


# The steps `analyze` names to its progress hook, for "step N of M" (a test counts them).
STEPS = 10


def analyze(
    table: ibis.Table,
    benchmark: pd.DataFrame,
    *,
    engine_name: str,
    tz: str,
    params: AnalysisParams | None = None,
    progress: Progress = NO_PROGRESS,
    benchmarks: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Run every analysis and return report.json as a dict (floats rounded to 10 significant digits).

    ``benchmarks``, when it names two or more benchmarks (``benchmark`` among them or not), adds the
    disproportionality indices under each, side by side (``benchmark_comparison``).
    """
    params = params or AnalysisParams()
    step = progress.phase

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
    hit_differences = hit_rate_differences(cells, reference_group=params.reference_group)
    hit_stratified = stratified_hit_rates(cells, reference_group=params.reference_group)
    compared = (
        compare_benchmarks(cells, benchmarks, threshold=thresholds["notable_disproportionality"])
        if benchmarks is not None and len(benchmarks) > 1
        else None
    )
    step("compliance")
    duties = compliance_rows(cells)
    # The veil, the officer review and the change over time read local clock times: the zone's offsets
    # over the table's span are found once for all three.
    clocked = with_local_clock(table, tz)
    step("veil of darkness")
    veil = veil_of_darkness(
        clocked, tz=tz, lat=params.lat, lon=params.lon,
        reference_group=params.reference_group, robust=params.veil_robust,
    )  # fmt: skip
    step("officer benchmarking")
    # One pass over the table (by officer, division, hour, day type and group) serves both the
    # one-group benchmarking and the broader review.
    known = [g for g in categories if g != UNKNOWN]
    review_counts_ = review_counts(clocked, groups=known, tz=tz)
    officers = benchmarks_from_counts(
        matched_from_review(review_counts_, known, params.officer_group),
        min_volume=params.officer_min_volume,
        fdr=params.officer_fdr,
    )
    step("officer review: every group, searches and finds")
    review = review_from_counts(
        review_counts_,
        known,
        min_volume=params.officer_min_volume,
        min_searches=params.officer_min_searches,
        fdr=params.officer_fdr,
    )

    threshold = _threshold_test(cells, params, step) if params.threshold_test else None

    step("change over time")
    # Imported here, as the other model-fitting analyses are reached: statsmodels is heavy.
    from fairengage.analytics.change import change_over_time

    change = change_over_time(clocked, tz=tz, dates=params.change_dates)

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
        "benchmarks": (
            [{"name": name, **describe_benchmark(frame, name)} for name, frame in benchmarks.items()]
            if compared is not None and benchmarks is not None
            else None
        ),
        "unbenchmarked_areas": sorted(set(cells["area"]) - set(benchmark["area"])),
        "confidence": 0.95,
        # `available` is always true now that both analyses are part of the package; report.json keeps it.
        "veil_of_darkness": {"lat": params.lat, "lon": params.lon, "available": True},
        "officers": {
            "group": params.officer_group,
            "min_volume": params.officer_min_volume,
            "fdr": params.officer_fdr,
            "available": officers is not None,
            "min_searches": params.officer_min_searches,
        },
        **({"threshold_test": threshold.diagnostics} if threshold else {}),
        "generated_at": generated.astimezone(UTC).isoformat(timespec="seconds"),
        "software": {"fairengage": __version__, "ibis": ibis.__version__},
        **params.extra_meta,
    }
    report = {
        "disproportionality": dispro,
        "disparity": disp,
        "veil_of_darkness": veil,
        "outcome_test": hits,
        "outcome_test_difference": hit_differences,
        "outcome_test_stratified": hit_stratified,
        "officers": officers,
        "officer_review": review,
        "benchmark_comparison": compared,
        "compliance": duties,
        "change_over_time": change,
    }
    if threshold is not None:
        report["threshold_test"] = threshold.thresholds
        report["threshold_test_difference"] = threshold.differences
        report["threshold_test_checks"] = threshold.checks
    report["meta"] = meta
    return rounded(report)


def _threshold_test(cells: pd.DataFrame, params: AnalysisParams, step: Callable[[str], None]) -> Any:
    """The threshold test on the engine's counts (``analytics/threshold.py``)."""
    from fairengage.analytics import threshold  # deferred: it brings in JAX only when asked

    step("threshold test (a Bayesian fit: minutes)")
    settings = threshold.FitSettings(
        chains=params.threshold_chains,
        warmup=params.threshold_samples,
        samples=params.threshold_samples,
        seed=params.threshold_seed,
    )
    try:
        return threshold.threshold_test(cells, reference_group=params.reference_group, settings=settings)
    except threshold.ThresholdTestUnavailable as exc:
        raise AnalyticsInputError(str(exc)) from None


def _period(table: ibis.Table) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    summary = table.aggregate(
        rows=table.count(), first=table.occurred_at.min(), last=table.occurred_at.max()
    ).to_pandas()
    row = summary.iloc[0]
    return as_count(row["rows"]), as_utc(row["first"]), as_utc(row["last"])


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
