"""A period's board and public reports: report.json, HTML, PDF, open data (ANNUAL-REPORT, docs/rule-sets.md).

`build_reports` reads only the analytic table, the benchmark and, where given, the count-only
governance summary (`governance/summary.py`); it imports nothing that reads personal data
(docs/architecture.md). The board report carries exact figures and officer results. The public report is built
from the suppressed report (`suppression.suppress_report`) plus the report's own tables suppressed the
same way (`suppression.suppress_table`), and says "fewer than N" wherever a count is withheld
(docs/rule-sets.md SMALL-CELLS): templates render from the public JSON, so a withheld count is never at hand.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd
from babel.dates import format_date

from fairengage import __version__
from fairengage.analytics import engine as engines
from fairengage.analytics import population_benchmarks
from fairengage.analytics import report as analysis
from fairengage.analytics.counts import CITY, cell_counts, encounter_counts, outcome_measures
from fairengage.analytics.disproportionality import disproportionality_rows
from fairengage.analytics.engine import as_count
from fairengage.analytics.population_benchmarks.frame import read_benchmark
from fairengage.analytics.threshold import searched_enough
from fairengage.config import Settings
from fairengage.policy import PolicyError
from fairengage.progress import NO_PROGRESS, Progress
from fairengage.reports import cellkey, cellkey_release, charts, maps, suppression
from fairengage.reports.board_charts import change_chart, veil_chart
from fairengage.reports.figures import (
    AGE_GROUPS,
    AGE_NOT_RECORDED,
    GENDER_UNKNOWN,
    QUALITY_FIELDS,
    at_least,
    earlier_counts,
    plain_int,
    public_governance,
    quality_twins,
    report_outcomes,
    report_ruleset,
    suppressed_row,
)
from fairengage.reports.open_data import TREND_TABLE, open_data
from fairengage.reports.period import Period, in_period, parse_period, trend_periods
from fairengage.reports.reading import COMPLIANCE_LABELS, MEASURE_VERBS, Reader, ratio_digits
from fairengage.shipped import shipped
from fairengage.vocabulary import PERCEIVED_RACES, UNKNOWN

DEFAULT_THRESHOLD = 10
GOVERNANCE_KIND = "fairengage.governance-summary"
GENDERS = ("man", "woman", "gender diverse", GENDER_UNKNOWN)
STEPS = 9


class ReportBuildError(ValueError):
    """The reports cannot be built from these inputs; the message names the file and what is wrong."""


@dataclass(frozen=True)
class BuiltReports:
    """What a build wrote: the folder, each file, and the figures it rests on."""

    out_dir: Path
    period: str
    rows: int
    threshold: int
    files: list[Path] = field(default_factory=list)


def build_reports(
    *,
    table_path: Path,
    benchmark_path: Path,
    period: str,
    out_dir: Path,
    settings: Settings,
    governance: Path | None = None,
    boundaries: Path | None = None,
    engine: str = "duckdb",
    progress: Progress = NO_PROGRESS,
    map_group: str = "Black",
    generated_at: datetime | None = None,
    published: Sequence[Path] | None = None,
    threshold_test: bool = False,
    check: Callable[[Path, int], bool] | None = None,
    compare_with: Sequence[tuple[str, Path]] = (),
    benchmark_name: str | None = None,
) -> BuiltReports:
    """Build report.json, report.public.json, board and public HTML and PDF, open data and index.json.

    With `published` (the folders of every release ever made downloadable), the public files are
    checked against them (reports/disclosure.py) before anything public is rendered from them. `check`
    does the same for a caller with its own check (publishing/service.py): it is given the folder and
    the threshold once the public files are written, and says whether it changed them; the public
    pages are then drawn from the files as they stand, so they are drawn once. `compare_with` names
    further benchmarks: the board report then shows the indices under each beside the main one's.
    """
    # Each of the build's STEPS named steps is a phase of its progress (the display counts them).
    step = progress.phase
    chosen = parse_period(period, settings.timezone)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    generated = (generated_at or datetime.now(UTC)).astimezone(UTC)
    boundaries = boundaries or settings.boundaries
    if boundaries is not None and not Path(boundaries).is_file():
        raise ReportBuildError(f"{boundaries}: no such boundary file")
    report, threshold = analyse_report(
        table_path=table_path,
        benchmark_path=benchmark_path,
        period=period,
        settings=settings,
        governance=governance,
        engine=engine,
        progress=progress,
        generated_at=generated,
        compare_with=compare_with,
        benchmark_name=benchmark_name,
        threshold_test=threshold_test,
    )
    cellkeyed = settings.disclosure_method == "cellkey"
    step(("perturbing counts" if cellkeyed else "suppressing small cells") + " for the public report")
    public, tables = public_version(
        report, threshold, settings=settings, table_path=table_path, engine=engine
    )
    # A cell-key release is not protected by the cross-release check (its counts are all perturbed).
    checking = "" if published is None or cellkeyed else " and checking it against every earlier release"
    step("writing open data" + checking)
    files = write_public_files(report, public, threshold, out_dir, chosen, tables=tables)
    if published is not None and not cellkeyed:
        public = _protect(out_dir, published, threshold)
    if check is not None and check(out_dir, threshold):
        public = json.loads((out_dir / "report.public.json").read_text(encoding="utf-8"))
    step("drawing charts and the division map")
    css = shipped("reports", "templates", "report.css")
    files.append(Path(shutil.copyfile(css, out_dir / "report.css")))
    board_html = render_html(
        report, board=True, boundaries=boundaries, map_group=map_group, settings=settings
    )
    public_html = render_html(
        public, board=False, boundaries=boundaries, map_group=map_group, settings=settings
    )
    for name, html in (("board", board_html), ("public", public_html)):
        path = out_dir / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)

    step("writing the PDFs")
    for name, html in (("board", board_html), ("public", public_html)):
        files.append(write_pdf(html, out_dir / f"{name}.pdf", base=out_dir))

    files.append(_write_index(out_dir, chosen, report, threshold, files, generated))
    return BuiltReports(
        out_dir=out_dir, period=chosen.label, rows=report["meta"]["rows"], threshold=threshold, files=files
    )


def analyse_report(
    *,
    table_path: Path,
    benchmark_path: Path,
    period: str,
    settings: Settings,
    governance: Path | None = None,
    engine: str = "duckdb",
    progress: Progress = NO_PROGRESS,
    generated_at: datetime | None = None,
    threshold_test: bool = False,
    compare_with: Sequence[tuple[str, Path]] = (),
    benchmark_name: str | None = None,
) -> tuple[dict[str, Any], int]:
    """The exact report.json of a period (trends and governance included) and its suppression threshold."""
    step = progress.phase
    tz = settings.timezone
    chosen = parse_period(period, tz)
    generated = (generated_at or datetime.now(UTC)).astimezone(UTC)
    summary = read_governance(governance) if governance else None
    step("reading the benchmark")
    benchmark = read_benchmark(benchmark_path)
    named = [(benchmark_name or Path(benchmark_path).stem, benchmark)]
    named += [(name, read_benchmark(path)) for name, path in compare_with]
    if len({name for name, _ in named}) < len(named):
        raise ReportBuildError(f"{benchmark_path}: each benchmark needs a name of its own (NAME=FILE)")
    step(f"starting {engine}")
    backend = engines.connect(engine)
    try:
        step(f"reading {Path(table_path).name}")
        full = engines.load_table(backend, table_path)
        table = in_period(full, chosen)
        step(f"analysing {chosen.label}")
        report = _analyse(
            table,
            benchmark,
            chosen,
            engine,
            Path(table_path),
            Path(benchmark_path),
            generated,
            settings,
            threshold_test=threshold_test,
            benchmarks=dict(named) if compare_with else None,
        )
        step("counting the annual-report tables")
        outcomes = report_outcomes(report)
        cells = cell_counts(table, outcomes)
        report["annual"] = annual_figures(table, cells, outcomes)
        report["annual"]["encounters"] = encounter_counts(table)["encounters"]
        report["data_quality"] = data_quality(table)
        threshold = suppression_threshold(report)
        report["trends"] = trends(full, chosen, benchmark, report)
    finally:
        engines.disconnect(backend)
    report["governance"] = summary
    # Not `meta.suppression`: that key marks a report as already suppressed (suppression.suppress_report).
    report["meta"]["suppression_threshold"] = threshold
    report["meta"]["benchmark"]["description"] = benchmark_description(Path(benchmark_path))
    # Dates, never the first and last records' instants (a record's timestamp is personal data).
    report["meta"]["period"] = period_dates(chosen, generated)
    return report, threshold


def public_version(
    report: dict[str, Any], threshold: int, *, settings: Settings, table_path: Path, engine: str = "duckdb"
) -> tuple[dict[str, Any], dict[str, pd.DataFrame] | None]:
    """The public report and open data's own tables, by the service's FAIRENGAGE_DISCLOSURE_METHOD.

    `suppress`: small cells withheld (None: open data suppresses its tables itself). `cellkey`: every
    count perturbed from the record keys of the engagements it counts (reports/cellkey_release.py).
    """
    if settings.disclosure_method != "cellkey":
        return public_report(report, threshold), None

    tz = settings.timezone
    periods = [parse_period(label, tz) for label in report["trends"]["periods"]]
    records = cellkey_release.load_records(Path(table_path), periods, engine)
    secret = cellkey.cell_key_secret(settings.secret_key.get_secret_value())
    public = cellkey_release.public_report(report, records, secret=secret, threshold=threshold)
    trend = cellkey_release.trend_table(report["trends"], records, secret, report_outcomes(report))
    return public, ({} if trend is None else {TREND_TABLE: trend})


def write_public_files(
    report: dict[str, Any],
    public: dict[str, Any],
    threshold: int,
    out_dir: Path,
    period: Period,
    *,
    tables: dict[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Write report.json, report.public.json and the open data; the files written."""
    files = [
        _write_json(report, out_dir / "report.json"),
        _write_json(public, out_dir / "report.public.json"),
    ]
    files += write_open_data(report, public, threshold, out_dir / "open-data", period, tables=tables)
    return files


def _protect(out_dir: Path, published: Sequence[Path], threshold: int) -> dict[str, Any]:
    """Run the cross-release check on the written public files; the public report as it now stands."""
    # Deferred: the check loads scipy's solvers, which only a publishing run needs.
    from fairengage.reports.disclosure import protect_release

    result = protect_release(out_dir, published, threshold=threshold)
    if not result.ok:
        raise ReportBuildError(result.summary)
    return json.loads((out_dir / "report.public.json").read_text(encoding="utf-8"))


def period_dates(period: Period, generated: datetime) -> dict[str, Any]:
    """The period's bounds as local dates, whether it had closed when the data were taken, and that day."""
    zone = ZoneInfo(period.tz)
    as_of = generated.astimezone(zone).date()
    first, last = period.start.date(), (period.end - timedelta(days=1)).date()
    partial = as_of <= last
    return {
        "first_date": first.isoformat(),
        "last_date": (as_of if partial else last).isoformat(),
        "partial": partial,
        "as_of": as_of.isoformat(),
        "timezone": period.tz,
    }


# --- inputs -------------------------------------------------------------------------------------------


def read_governance(path: Path) -> dict[str, Any]:
    """Read governance.json (written by `write_governance_summary`) and check that it is one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportBuildError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReportBuildError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") != GOVERNANCE_KIND:
        raise ReportBuildError(f"{path}: not a governance summary (kind {GOVERNANCE_KIND!r})")
    return data


def benchmark_description(path: Path) -> str:
    """The paragraph on the benchmark's sources: the shipped one's, or a note naming another file."""
    try:
        shipped = path.resolve() == population_benchmarks.default_benchmark_path().resolve()
    except OSError:
        shipped = False
    if shipped:
        return population_benchmarks.describe()
    return (
        f"Population benchmark: {path.name}, provided by the service (residents by division and "
        "perceived-race group). Its sources and method are described by whoever made it."
    )


def _analyse(
    table: ibis.Table,
    benchmark: pd.DataFrame,
    period: Period,
    engine: str,
    table_path: Path,
    benchmark_path: Path,
    generated: datetime,
    settings: Settings,
    threshold_test: bool = False,
    benchmarks: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    params = analysis.AnalysisParams(
        threshold_test=threshold_test,
        input_name=table_path.name,
        benchmark_name=benchmark_path.name,
        generated_at=generated,
        # The sun of the veil-of-darkness test is reckoned where the settings place the jurisdiction.
        lat=settings.latitude,
        lon=settings.longitude,
        extra_meta={
            "report_period": {
                "label": period.label,
                "kind": period.kind,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "timezone": period.tz,
            }
        },
    )
    try:
        report = analysis.analyze(
            table, benchmark, engine_name=engine, tz=period.tz, params=params, benchmarks=benchmarks
        )
    except ArithmeticError as exc:
        # A model fit that overflows on sparse data (seen in the veil-of-darkness fit on a few dozen
        # engagements) stops the run with one line rather than a traceback.
        raise ReportBuildError(f"{table_path}: an analysis failed on {period.label}'s data: {exc}") from None
    if not report["meta"]["rows"]:
        raise ReportBuildError(f"{table_path}: no engagements in {period.label} ({period.describe()})")
    return report


def suppression_threshold(report: dict[str, Any]) -> int:
    """The rule set's `suppression_threshold` (docs/rule-sets.md SMALL-CELLS), 10 when no rule set says."""
    ruleset = report_ruleset(report)
    try:
        return int(ruleset.param("suppression_threshold")) if ruleset else DEFAULT_THRESHOLD
    except (KeyError, LookupError, PolicyError):
        return DEFAULT_THRESHOLD


# --- figures from the analytic table ---------------------------------------------------------------


def annual_figures(table: ibis.Table, cells: pd.DataFrame, outcomes: Sequence[str]) -> dict[str, Any]:
    """ANNUAL-REPORT counts: attempts, collected, by age group, sex, racialized group and division."""
    divisions = cells[cells["area"] != CITY]
    city = cells[cells["area"] == CITY].set_index("group")
    races = [g for g in PERCEIVED_RACES if g in city.index] + sorted(set(city.index) - set(PERCEIVED_RACES))
    ages = table.group_by("perceived_age").aggregate(n=table.count()).to_pandas()
    genders = table.group_by("perceived_gender").aggregate(n=table.count()).to_pandas()
    by_gender = {str(g): as_count(n) for g, n in zip(genders["perceived_gender"], genders["n"], strict=True)}
    measures = outcome_measures(outcomes)
    by_outcome = {}
    for group in races:
        row = city.loc[group]
        counts = {m: int(row[m]) for m in measures}
        by_outcome[group] = {"none": int(row["engagements"]) - sum(counts.values()), **counts}
    return {
        "attempts": int(divisions["engagements"].sum()),
        "collected": int(divisions["identifying_info_collected"].sum()),
        "by_age": _age_groups(ages),
        "by_gender": {g: by_gender.pop(g, 0) for g in GENDERS} | by_gender,
        "by_race": {g: int(city.loc[g, "engagements"]) for g in races},
        "by_division": {
            str(area): int(n)
            for area, n in divisions.groupby("area")["engagements"].sum().sort_index().items()
        },
        "by_outcome": by_outcome,
    }


def _age_groups(ages: pd.DataFrame) -> dict[str, int]:
    counts = {label: 0 for label, _, _ in AGE_GROUPS} | {AGE_NOT_RECORDED: 0}
    for age, n in zip(ages["perceived_age"], ages["n"], strict=True):
        if age is None or pd.isna(age):
            counts[AGE_NOT_RECORDED] += as_count(n)
            continue
        for label, low, high in AGE_GROUPS:
            if age >= low and (high is None or age <= high):
                counts[label] += as_count(n)
                break
    return counts


def data_quality(table: ibis.Table) -> dict[str, Any]:
    """Missing and Unknown values per field, counted over the period's engagements."""

    def how_many(condition: ibis.BooleanValue) -> ibis.IntegerScalar:
        return condition.cast("int64").sum()

    row = (
        table.aggregate(
            rows=table.count(),
            perceived_race=how_many(table.perceived_race == UNKNOWN),
            perceived_gender=how_many(table.perceived_gender == GENDER_UNKNOWN),
            perceived_age=how_many(table.perceived_age.isnull()),
            neighbourhood=how_many(table.neighbourhood.isnull()),
            location=how_many(table.lat.isnull() | table.lon.isnull()),
            contraband_found=how_many(table.searched & table.contraband_found.isnull()),
        )
        .to_pandas()
        .iloc[0]
    )
    rows = as_count(row["rows"])
    return {
        "rows": rows,
        "fields": [
            {"field": name, "problem": problem, "count": as_count(row[name])}
            for name, problem in QUALITY_FIELDS
        ],
    }


def trends(
    full: ibis.Table, period: Period, benchmark: pd.DataFrame, report: dict[str, Any]
) -> dict[str, Any]:
    """City-wide engagements by group and disproportionality, over this and earlier periods with data."""
    threshold = report["meta"]["thresholds"]["notable_disproportionality"]
    trend: dict[str, Any] = {"periods": [], "attempts": [], "counts": [], "disproportionality": []}
    for p in trend_periods(full, period):
        cells = cell_counts(in_period(full, p), report_outcomes(report))
        city = cells[cells["area"] == CITY]
        rows = disproportionality_rows(cells, benchmark, threshold=threshold)
        trend["periods"].append(p.label)
        trend["attempts"].append(int(city["engagements"].sum()))
        trend["counts"].append(
            {str(g): int(n) for g, n in zip(city["group"], city["engagements"], strict=True)}
        )
        trend["disproportionality"].append(analysis.rounded([r for r in rows if r["area"] == CITY]))
    return trend


def public_trends(trend: dict[str, Any], public: dict[str, Any], threshold: int) -> dict[str, Any]:
    """The public trend: earlier periods suppressed as the open-data trend table is; this one as this report.

    The open-data table `trends_by_period_and_group` is the same counts passed to the same deterministic
    `suppress_table`, so the page and the table withhold the same cells.
    """
    earlier = earlier_counts(trend)
    result: dict[str, Any] = {"periods": list(trend["periods"]), "attempts": [], "disproportionality": []}
    hidden = None
    if len(earlier):
        hidden = suppression.suppress_table(earlier, threshold=threshold, settled_rows=True)
    for i, rows in enumerate(trend["disproportionality"][:-1]):
        label = trend["periods"][i]
        assert hidden is not None  # nosec B101 # set when there are earlier periods, the only ones looped
        result["attempts"].append(plain_int(hidden.row_totals[label]))
        shown = []
        withheld = {
            row["group"]: row["group"] not in hidden.suppressed.columns
            or bool(hidden.suppressed.loc[label, row["group"]])
            or plain_int(hidden.row_totals[label]) is None
            for row in rows
        }
        # The period's total is one figure in every row: shown in one row, it is shown in all (a row
        # that blanked it would call "withheld" a figure the next row prints).
        total_shown = not all(withheld.values())
        for row in rows:
            # An index reveals its count when the total is published: withheld with it.
            shown.append(
                {
                    **row,
                    **dict.fromkeys(("count", "index", "ci_low", "ci_high", "notable")),
                    "total": row.get("total") if total_shown else None,
                    "suppressed": True,
                }
                if withheld[row["group"]]
                else {**row, "suppressed": False}
            )
        result["disproportionality"].append(shown)
    result["attempts"].append(_city_total(public))
    result["disproportionality"].append(
        [r for r in public.get("disproportionality") or [] if r["area"] == CITY]
    )
    return result


def _city_total(report: dict[str, Any]) -> int | None:
    """The city's engagements as a (possibly suppressed) report publishes them: the compliance total."""
    for row in report.get("compliance") or []:
        if row["area"] == CITY:
            return row.get("total")
    return None


# --- the public report ------------------------------------------------------------------------------


def public_report(report: dict[str, Any], threshold: int) -> dict[str, Any]:
    """The suppressed report: suppress_report for the analyses, and this report's tables made to agree.

    Counts by area and group (and the areas' and city's totals) are taken from the suppressed analyses,
    so each is published, or withheld, once and the same way everywhere. The other tables (age, sex,
    collected) add up to the city's engagements: they are suppressed with complements, and withheld whole
    when the city total itself is withheld, since their cells would add up to it.
    """
    public = suppression.suppress_report(report, threshold=threshold)
    annual = report["annual"]
    attempts = _city_total(public)
    by_division = {
        row["area"]: row.get("total")
        for row in public.get("compliance") or []
        if row["area"] != CITY and row["measure"] == "compliant"
    }
    by_race = {group: _group_count(public, group) for group in annual["by_race"]}

    def table(counts: dict[str, int]) -> dict[str, int | None]:
        if attempts is None:
            return dict.fromkeys(counts)
        return suppressed_row(counts, threshold)[0]

    collected = table(
        {"collected": annual["collected"], "not collected": annual["attempts"] - annual["collected"]}
    )
    by_age, by_gender = table(annual["by_age"]), table(annual["by_gender"])
    public["annual"] = {
        "attempts": attempts,
        # A lone count, published when it reaches the threshold and only beside a published total.
        "encounters": None if attempts is None else at_least(annual.get("encounters"), threshold),
        "collected": collected["collected"],
        "not_collected": collected["not collected"],
        "by_age": by_age,
        "by_gender": by_gender,
        "by_race": by_race,
        "by_division": by_division,
        # Outcomes by group are published in open data only, suppressed there.
        "by_outcome": None,
    }
    # Each data-quality count is one published elsewhere, or a lone count under the threshold rule.
    same_as = quality_twins(public["annual"])
    quality = report["data_quality"]
    public["data_quality"] = {
        "rows": attempts,
        "fields": [
            {**f, "count": same_as[f["field"]] if f["field"] in same_as else at_least(f["count"], threshold)}
            for f in quality["fields"]
        ],
    }
    public["trends"] = public_trends(report["trends"], public, threshold)
    public["governance"] = public_governance(report.get("governance"), threshold)
    public["officers"] = None
    return public


def _group_count(public: dict[str, Any], group: str) -> int | None:
    """A group's city-wide engagements as the suppressed analyses publish them (None when withheld)."""
    for row in public.get("disproportionality") or []:
        if row["area"] == CITY and row["group"] == group and row.get("count") is not None:
            return row["count"]
    # Unknown (and groups the benchmark lacks) have no disproportionality row: their disparity rows carry
    # the same count as `total`, published under the same rule.
    for row in public.get("disparity") or []:
        if row["area"] == CITY and row["group"] == group and row.get("total") is not None:
            return row["total"]
    return None


# --- open data --------------------------------------------------------------------------------------


def open_data_tables(report: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Count tables for open data besides the report's own sections, before suppression.

    Engagements by division and group, outcomes (disparity counts) and compliance are published by
    `open_data` from the report's sections, suppressed together; publishing them again as separately
    suppressed tables could let one table's published cell reveal another's withheld one. The trend
    table holds only earlier periods, whose counts appear nowhere else in this publication.
    """
    earlier = earlier_counts(report["trends"])
    return {TREND_TABLE: earlier} if len(earlier) else {}


def write_open_data(
    report: dict[str, Any],
    public: dict[str, Any],
    threshold: int,
    out: Path,
    period: Period,
    *,
    tables: dict[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Write the open data: the report's sections and the trend table, protected, with their dictionary.

    `tables` replaces the trend table when the public version made its own (the cell-key method).
    """
    version = f"{period.label}-{report['meta']['generated_at'][:10]}"
    tables = open_data_tables(report) if tables is None else tables
    written = open_data(public, tables, threshold=threshold, out_dir=out, version=version)
    return list(written)


# --- writing ----------------------------------------------------------------------------------------


def _write_json(data: dict[str, Any], path: Path) -> Path:
    text = json.dumps(analysis.rounded(data), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _write_index(
    out_dir: Path,
    period: Period,
    report: dict[str, Any],
    threshold: int,
    files: list[Path],
    generated: datetime,
) -> Path:
    index = {
        "kind": "fairengage.reports",
        "period": period.label,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "timezone": period.tz,
        "generated_at": generated.isoformat(timespec="seconds"),
        "rows": report["meta"]["rows"],
        "engine": report["meta"]["engine"],
        "suppression_threshold": threshold,
        "governance": report.get("governance") is not None,
        "software": {"fairengage": __version__},
        "files": sorted(str(p.relative_to(out_dir)) for p in files),
        "public_files": ["public.html", "public.pdf", "report.public.json", "report.css", "open-data/"],
    }
    return _write_json(index, out_dir / "index.json")


def _reason(row: dict[str, Any], key: str) -> str | None:
    """Why a figure of a public row is hidden (`small` or `protects`), where the report says."""
    return row.get(f"{key}_suppressed_reason") or row.get("suppressed_reason")


def _long_date(value: str, lang: str) -> str:
    """A YYYY-MM-DD date in words (`September 30, 2026`), or the text as given if it is not one."""
    try:
        return format_date(date.fromisoformat(value), format="long", locale=lang)
    except ValueError:
        return value


def write_pdf(html: str, path: Path, *, base: Path) -> Path:
    """Render an HTML report to a tagged PDF (PDF/UA-1): title, language, structure, alt text from the page.

    WeasyPrint tags headings, lists, tables, figures (an SVG's title as its /Alt) and the reading order,
    but leaves table headers without a scope; `_scope_table_headers` adds it, as PDF/UA asks.
    """
    # WeasyPrint and pypdf are imported here, not at the top: they are heavy and only a build needs them.
    from weasyprint import HTML

    HTML(string=html, base_url=str(base)).write_pdf(path, pdf_variant="pdf/ua-1")
    _scope_table_headers(path)
    return path


def _scope_table_headers(path: Path) -> None:
    """Give every TH of a tagged PDF its scope: Column in a table head, Row in the body (HTML's scope)."""
    # Deferred on purpose, as in `write_pdf`: pypdf is needed only for a PDF.
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    writer = PdfWriter(clone_from=path)
    tree = writer.root_object.get("/StructTreeRoot")
    if tree is None:
        return
    pending: list[tuple[Any, str | None]] = [(tree, None)]
    while pending:
        node, part = pending.pop()
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, ArrayObject):
            pending += [(child, part) for child in node]
            continue
        if not isinstance(node, DictionaryObject):
            continue  # a marked-content id: a leaf
        kind = node.get("/S")
        part = kind if kind in ("/THead", "/TBody", "/TFoot") else part
        if kind == "/TH":
            attributes = node.get("/A")
            attributes = attributes.get_object() if attributes is not None else None
            if not isinstance(attributes, DictionaryObject):
                attributes = DictionaryObject()
            attributes[NameObject("/O")] = NameObject("/Table")
            attributes[NameObject("/Scope")] = NameObject("/Column" if part == "/THead" else "/Row")
            node[NameObject("/A")] = attributes
        if "/K" in node:
            pending.append((node["/K"], part))
    for page in writer.pages:
        page.compress_content_streams()
    writer.write(path)


def render_html(
    report: dict[str, Any],
    *,
    board: bool,
    boundaries: Path | None,
    map_group: str,
    settings: Settings,
    lang: str = "en",
) -> str:
    """The board report (exact, with officers) or the public one (from the suppressed report) as HTML."""
    # Deferred on purpose: the page environment loads FastAPI's templating, which only an HTML build needs.
    from fairengage.web.templating import environment

    context = report_context(
        report, board=board, boundaries=boundaries, map_group=map_group, settings=settings, lang=lang
    )
    template = environment.get_template("report_board.html" if board else "report_public.html")
    return template.render(**context)


# --- the pages: one section per ANNUAL-REPORT item, in docs/rule-sets.md's order ----------------


@dataclass
class Block:
    """One piece of a section: figures, a table, a chart, readings, or a note."""

    kind: str
    title: str = ""
    items: list[Any] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    chart: charts.Chart | None = None
    text: str = ""


@dataclass(frozen=True)
class Cell:
    """A table cell: its text and its kind (`label`, `count`, `rate`, `ratio`, `text`, `withheld`)."""

    text: str
    kind: str = "text"


@dataclass
class Section:
    """A report section with its heading, the rule it answers and its blocks."""

    id: str
    heading: str
    rule: str
    number: str = ""
    blocks: list[Block] = field(default_factory=list)


class Pages:
    """Builds the sections of the board or public report from report.json (full or suppressed)."""

    def __init__(
        self,
        report: dict[str, Any],
        *,
        board: bool,
        boundaries: Path | None,
        map_group: str,
        lang: str,
    ) -> None:
        meta = report.get("meta") or {}
        self.report, self.board, self.boundaries, self.lang = report, board, boundaries, lang
        self.threshold = int(
            meta.get("suppression_threshold")
            or (meta.get("suppression") or {}).get("threshold")
            or DEFAULT_THRESHOLD
        )
        self.r = Reader(lang, threshold=self.threshold)
        self._ = self.r._
        # The cell-key method (docs/disclosure-control.md): every public count carries a small fixed change.
        self.cellkey = (meta.get("disclosure") or {}).get("method") == "cellkey"
        self.reference = meta.get("reference_group") or "White"
        groups = [row["group"] for row in self._city("disproportionality")]
        self.map_group = map_group if map_group in groups else (groups[0] if groups else map_group)
        self.governance = report.get("governance")
        self.annual = report["annual"]

    # helpers
    def _city(self, key: str) -> list[dict[str, Any]]:
        return [row for row in self.report.get(key) or [] if row["area"] == CITY]

    def count(self, value: int | None, reason: str | None = None) -> Cell:
        if value is None and reason == "small":
            # A count the publication says is below the threshold reads so; any other hidden one is withheld.
            return Cell(self.r.fewer_than(), "withheld")
        return Cell(self.r.count(value), "count" if value is not None else "withheld")

    def not_available(self) -> Block:
        return Block(
            "note",
            text=self._(
                "Not available from the analytic table: this figure comes from the records themselves. Build "
                "the report with --governance (fairengage report --from-db writes it)."
            ),
        )

    def withheld_note(self) -> Block:
        if self.cellkey:
            return self.cellkey_note()
        return Block(
            "note",
            text=self._(
                "“%(few)s” marks a count below %(n)s. “%(mark)s” marks a count hidden so that a smaller one "
                "cannot be worked out from the totals (or, in a table that does not say which, either kind). "
                "Figures computed from a hidden count are not given (—).",
                n=self.threshold,
                few=self.r.fewer_than(),
                mark=self.r.withheld(),
            ),
        )

    def cellkey_note(self) -> Block:
        return Block(
            "note",
            text=self._(
                "Figures have small random changes (at most ±3) so that no one can be singled out. Each "
                "count is the true count changed by at most 3 (a 0 stays 0, and no count is shown as 1 "
                "or 2), and the same count has the same change wherever it appears. Totals are changed on "
                "their own, so a total need not equal the sum of its parts. Rates, shares and indexes are "
                "worked out from the published counts. Confidence intervals are not given: worked out from "
                "the exact counts they could reveal them. Whether a figure is notable, and the "
                "veil-of-darkness test, are worked out from the exact data."
            ),
        )

    def counts_table(
        self, title: str, header: str, counts: dict[str, int | None], total: int | None, unit: str = ""
    ) -> Block:
        rows = [[Cell(str(k), "label"), self.count(v), self._share(v, total)] for k, v in counts.items()]
        rows.append(
            [Cell(self._("Total"), "label"), self.count(total), Cell("100%" if total else "—", "rate")]
        )
        headers = [header, unit or self._("Engagements"), self._("Share")]
        return Block("table", title=title, headers=headers, rows=rows)

    def _share(self, value: int | None, total: int | None) -> Cell:
        if value is None or not total:
            return Cell("—", "withheld" if value is None else "rate")
        return Cell(self.r.percent(value / total), "rate")

    def bar(self, title: str, counts: dict[str, int | None]) -> Block:
        chart = charts.bar_chart(
            list(counts),
            [None if v is None else float(v) for v in counts.values()],
            title=title,
            unit=self._("engagements"),
            lang=self.lang,
        )
        return Block("chart", chart=chart)

    def index_rows(self, rows: list[dict[str, Any]], label: str = "group") -> list[dict[str, Any]]:
        # A missing index is "suppressed" when the row says so, or in the public report when it was withheld
        # with a withheld total; otherwise it could not be computed ("not available").
        return [
            {**row, "suppressed": bool(row.get("suppressed") or row.get("withheld")), "label": row[label]}
            for row in self.marked(rows)
        ]

    def marked(self, rows: list[dict[str, Any]], value: str = "index") -> list[dict[str, Any]]:
        """Rows with `withheld` set where the public report nulled a figure whose count it shows."""
        if self.board:
            return rows
        return [
            {
                **row,
                "withheld": row.get(value) is None
                and not row.get("suppressed")
                and row.get("count", row.get("hits")) is not None,
            }
            for row in rows
        ]

    # sections
    def sections(self) -> list[Section]:
        made = [
            self.attempts(),
            self.collected(),
            self.people(),
            self.exceptions(),
            self.demographics(),
            self.disproportionate(),
            self.areas(),
            self.non_compliance(),
            self.restricted(),
            self.detailed_review(),
        ]
        for number, section in enumerate(made, start=1):
            section.number = str(number)
        made += [self.compliance(), self.complaints()]
        if self.board:
            made.append(self.officers())
            # Board only: a division's count of unmatched events can be one officer's shift, and the
            # public release carries none of it (docs/events.md).
            made.append(self.unrecorded())
        made += [self.data_quality(), self.method()]
        return made

    def encounters_item(self) -> tuple[str, str, str]:
        """The figure "N encounters involving M people", or why it is withheld (SMALL-CELLS)."""
        encounters, people = self.annual.get("encounters"), self.annual.get("attempts")
        if people is None:
            return (self._("Encounters"), self.r.count(None), "withheld")
        if encounters is None:
            # The people are published, so only the encounters' own count can be below the threshold.
            return (self._("Encounters"), self.r.fewer_than(), "withheld")
        line = self._(
            "%(encounters)s encounters involving %(people)s people",
            encounters=self.r.count(encounters),
            people=self.r.count(people),
        )
        return (self._("Encounters"), line, "text")

    def attempts(self) -> Section:
        section = Section("attempts", self._("Attempts to collect identifying information"), "ANNUAL-REPORT")
        attempts = self.annual["attempts"]
        section.blocks.append(
            Block(
                "figures",
                items=[
                    (self._("Attempts recorded in the period"), self.r.count(attempts)),
                    # Several people engaged at once are one encounter and one attempt per person.
                    self.encounters_item(),
                ],
            )
        )
        trend = self.report.get("trends") or {}
        if len(trend.get("periods") or []) > 1:
            chart = charts.trend_chart(
                trend["periods"],
                {self._("Attempts"): [None if v is None else float(v) for v in trend["attempts"]]},
                title=self._("Attempts by period"),
                lang=self.lang,
            )
            section.blocks.append(Block("chart", chart=chart))
        section.blocks.append(
            Block(
                "note",
                text=self._(
                    "Every attempt is counted, whether or not anything was collected and whether or not the "
                    "person answered (O. Reg. 58/16 s.5; Tulloch 2018)."
                ),
            )
        )
        return section

    def collected(self) -> Section:
        section = Section(
            "collected", self._("Attempts where identifying information was collected"), "ANNUAL-REPORT"
        )
        a = self.annual
        counts = {
            self._("collected"): a["collected"],
            self._("not collected"): a.get("not_collected", a["attempts"] - (a["collected"] or 0))
            if self.board
            else a.get("not_collected"),
        }
        section.blocks.append(self.counts_table("", self._("Identifying information"), counts, a["attempts"]))
        section.blocks.append(
            self.bar(self._("Attempts by whether identifying information was collected"), counts)
        )
        return section

    def people(self) -> Section:
        section = Section("people", self._("People from whom collection was attempted"), "ANNUAL-REPORT")
        if self.governance is None:
            section.blocks.append(self.not_available())
            return section
        people = self.governance.get("people") or {}
        section.blocks.append(
            Block("figures", items=[(self._("People (estimate)"), self.r.count(people.get("estimate")))])
        )
        section.blocks.append(Block("note", text=people.get("method") or ""))
        return section

    def exceptions(self) -> Section:
        section = Section("exceptions", self._("Exceptions relied on"), "ANNUAL-REPORT")
        if self.governance is None:
            section.blocks.append(self.not_available())
            return section
        names = {
            "not_told_of_right": self._("Not told they need not answer"),
            "not_told_why": self._("Not told why"),
            "no_receipt": self._("No receipt offered"),
        }
        found = self.governance.get("exceptions") or {}
        rows, bars = [], {}
        for kind, label in names.items():
            grounds = found.get(kind) or {}
            if not grounds:
                rows.append(
                    [
                        Cell(label, "label"),
                        Cell(self._("none relied on"), "text"),
                        self.count(0 if self.board else None),
                    ]
                )
            for ground, n in grounds.items():
                rows.append([Cell(label, "label"), Cell(ground.replace("_", " "), "text"), self.count(n)])
                bars[f"{label}: {ground.replace('_', ' ')}"] = n
        section.blocks.append(
            Block("table", headers=[self._("Duty"), self._("Ground relied on"), self._("Times")], rows=rows)
        )
        if bars:
            section.blocks.append(self.bar(self._("Times each exception ground was relied on"), bars))
        return section

    def demographics(self) -> Section:
        section = Section(
            "demographics",
            self._("Attempts by perceived age group, sex and racialized group"),
            "ANNUAL-REPORT",
        )
        a = self.annual
        for key, header, title in (
            ("by_age", self._("Perceived age"), self._("Attempts by perceived age group")),
            ("by_gender", self._("Perceived sex or gender"), self._("Attempts by perceived sex or gender")),
            (
                "by_race",
                self._("Perceived racialized group"),
                self._("Attempts by perceived racialized group"),
            ),
        ):
            section.blocks.append(Block("subheading", text=title))
            section.blocks.append(self.counts_table("", header, a[key], a["attempts"]))
            section.blocks.append(self.bar(title, a[key]))
        section.blocks.append(
            Block(
                "note",
                text=self._(
                    "Age, sex or gender and racialized group are the officer's perception, never asked of "
                    "the person."
                ),
            )
        )
        return section

    def disproportionate(self) -> Section:
        section = Section(
            "disproportionality",
            self._("Whether attempts were disproportionate for any group"),
            "ANNUAL-REPORT",
        )
        blocks = section.blocks
        city = [r for r in self._city("disproportionality")]
        blocks.append(Block("subheading", text=self._("Disproportionality: engagements against residents")))
        blocks.append(
            Block(
                "chart",
                chart=charts.index_chart(
                    self.index_rows(city),
                    title=self._("Disproportionality index by group, whole city (1 = share of residents)"),
                    label_key="label",
                    lang=self.lang,
                ),
            )
        )
        blocks.append(self.index_table(city, self._("Group")))
        blocks.append(Block("readings", items=[self.r.disproportionality(r) for r in self.marked(city)]))
        divisions = [
            r
            for r in self.report.get("disproportionality") or []
            if r["area"] != CITY and r["group"] == self.map_group
        ]
        if divisions:
            blocks.append(
                Block(
                    "chart",
                    chart=charts.index_chart(
                        self.index_rows(divisions, "area"),
                        title=self._(
                            "Disproportionality index of %(group)s people by division", group=self.map_group
                        ),
                        label_key="label",
                        lang=self.lang,
                    ),
                )
            )
            notable = [r for r in divisions if r.get("notable")]
            readings = [self.r.disproportionality(r) for r in notable] or [
                self._("No division's index for %(group)s people is notable.", group=self.map_group)
            ]
            blocks.append(Block("readings", items=readings))
        trend = self.report.get("trends") or {}
        if len(trend.get("periods") or []) > 1:
            series: dict[str, list[float | None]] = {}
            for rows in trend["disproportionality"]:
                for row in rows or []:
                    series.setdefault(row["group"], [])
            for rows in trend["disproportionality"]:
                by_group = {row["group"]: row.get("index") for row in rows or []}
                for group, values in series.items():
                    values.append(by_group.get(group))
            blocks.append(
                Block(
                    "chart",
                    chart=charts.trend_chart(
                        trend["periods"],
                        series,
                        title=self._("Disproportionality index by period, whole city"),
                        lang=self.lang,
                    ),
                )
            )
        blocks.append(Block("subheading", text=self._("Disparity: what happened once people were engaged")))
        disparity = [r for r in self._city("disparity") if r["group"] != self.reference]
        for measure in sorted({r["measure"] for r in disparity}, key=_measure_order):
            rows = [r for r in disparity if r["measure"] == measure]
            verb = self._(MEASURE_VERBS.get(measure, measure))
            blocks.append(
                Block(
                    "chart",
                    chart=charts.index_chart(
                        self.index_rows(rows),
                        title=self._(
                            "How often each group was %(verb)s, against %(reference)s people "
                            "(1 = the same rate)",
                            verb=verb,
                            reference=self.reference,
                        ),
                        label_key="label",
                        lang=self.lang,
                    ),
                )
            )
            shown = rows if measure in ("searched", "arrest") else [r for r in rows if r.get("notable")]
            readings = [self.r.disparity(r, self.reference) for r in self.marked(shown)] or [
                self._("No group's rate of being %(verb)s is notable.", verb=verb)
            ]
            blocks.append(Block("readings", items=readings))
        blocks.append(Block("subheading", text=self._("Veil of darkness")))
        veil = self.report.get("veil_of_darkness")
        if veil and veil.get("suppressed"):
            blocks.append(
                Block(
                    "readings",
                    items=[
                        self._(
                            "The test rests on %(few)s engagements and is not shown.", few=self.r.fewer_than()
                        )
                    ],
                )
            )
        else:
            blocks.append(Block("readings", items=[self.r.veil_of_darkness(veil)]))
        blocks += self.veil_blocks(veil)
        blocks += self.change_blocks()
        blocks.append(Block("subheading", text=self._("Outcome test: how often searches found contraband")))
        hits = self._city("outcome_test")
        reference = next((r.get("hit_rate") for r in hits if r["group"] == self.reference), None)
        if hits:
            blocks.append(
                Block(
                    "chart",
                    chart=charts.index_chart(
                        self.index_rows(hits),
                        title=self._("Share of searches that found contraband, by group"),
                        value_key="hit_rate",
                        label_key="label",
                        reference=reference if reference is not None else 0.0,
                        lang=self.lang,
                    ),
                )
            )
        blocks.append(
            Block("readings", items=[self.r.outcome_test(r) for r in hits] + [self.r.outcome_test_meaning()])
        )
        # The differences with their intervals exist only in the exact (board) report: the public one
        # does not carry them (they are not suppressed figures).
        differences = [r for r in self.report.get("outcome_test_difference") or [] if r["area"] == CITY]
        if differences:
            stratified = {r["group"]: r for r in self.report.get("outcome_test_stratified") or []}
            items = [self.r.outcome_difference(r, stratified.get(r["group"])) for r in differences]
            blocks.append(Block("readings", items=[*items, self.r.outcome_difference_meaning()]))
        comparison = self.report.get("benchmark_comparison")
        if comparison:
            blocks.append(Block("readings", items=[self.r.benchmark_comparison(comparison)]))
        if self.board and self.report.get("threshold_test"):
            blocks.extend(self.threshold_blocks())
        blocks.append(Block("method", text=self.method_text()))
        if not self.board:
            blocks.append(self.withheld_note())
        return section

    def threshold_blocks(self) -> list[Block]:
        """The threshold test (board report only: its division rows hold small counts)."""
        rows = self._city("threshold_test")
        blocks = [Block("subheading", text=self._("Threshold test: the bar for a search"))]
        # In per cent, as the sentences below give them: a chance of 0.0081 reads as 0.81.
        in_percent = [
            {**r, **{k: None if r.get(k) is None else 100 * r[k] for k in ("threshold", "ci_low", "ci_high")}}
            for r in rows
        ]
        blocks.append(
            Block(
                "chart",
                chart=charts.index_chart(
                    self.index_rows(in_percent),
                    title=self._("Chance of finding contraband at which officers searched, by group"),
                    value_key="threshold",
                    label_key="label",
                    reference=next((r["threshold"] for r in in_percent if r["group"] == self.reference), 0.0),
                    lang=self.lang,
                    axis_title=self._("Chance of finding contraband (%)"),
                    credible=True,
                ),
            )
        )
        # A group searched too few times has a bar that the model's assumptions set more than its
        # searches (Hartford: 10 searches, none found anything).
        readings = [self.r.threshold_test(r, few=not searched_enough(r["searches"])) for r in rows]
        differences = self.report.get("threshold_test_difference") or []
        readings += [self.r.threshold_difference(r) for r in differences]
        checks = self.report.get("threshold_test_checks") or []
        diagnostics = (self.report.get("meta") or {}).get("threshold_test")
        if diagnostics:
            readings.append(self.r.threshold_fit(diagnostics, len(checks)))
        blocks.append(Block("readings", items=[*readings, self.r.threshold_test_meaning()]))
        body = [
            [
                Cell(str(c["area"]), "label"),
                Cell(str(c["group"]), "label"),
                Cell(self.r.percent(c.get("search_rate")), "rate"),
                self._predicted(c, "search_rate", "search"),
                Cell(self.r.percent(c.get("hit_rate")), "rate"),
                self._predicted(c, "hit_rate", "hit"),
            ]
            for c in checks
        ]
        blocks.append(
            Block(
                "table",
                title=self._(
                    "Model checks: observed search and hit rates beside the model's (95% predictive interval)"
                ),
                headers=[
                    self._("Division"),
                    self._("Group"),
                    self._("Search rate"),
                    self._("Predicted"),
                    self._("Hit rate"),
                    self._("Predicted"),
                ],
                rows=body,
            )
        )
        return blocks

    def _predicted(self, check: dict[str, Any], measure: str, prefix: str) -> Cell:
        """`21.0% (18.5%–23.4%)`: the model's rate and the range a cell of this size would show."""
        low, high = check.get(f"{prefix}_ci_low"), check.get(f"{prefix}_ci_high")
        spread = f" ({self.r.percent(low)}–{self.r.percent(high)})"
        return Cell(self.r.percent(check.get(f"predicted_{measure}")) + spread, "rate")

    def index_table(self, rows: list[dict[str, Any]], header: str) -> Block:
        body = []
        # Keyed by object: a row without the flag (None) finds no entry and shows a dash.
        yes_no: dict[object, str] = {True: self._("yes"), False: self._("no")}
        for row in rows:
            # Two decimals, as the charts print them; the readings use the fewest that stay truthful.
            digits = max(2, _digits(row))
            body.append(
                [
                    Cell(row["group"], "label"),
                    self.count(row.get("count"), _reason(row, "count")),
                    Cell(
                        self.r.ratio(row.get("index"), digits),
                        "ratio" if row.get("index") is not None else "withheld",
                    ),
                    Cell(
                        self.r.ratio(row.get("ci_low"), digits)
                        + "–"
                        + self.r.ratio(row.get("ci_high"), digits)
                        if row.get("ci_low") is not None
                        else "—",
                        "ratio",
                    ),
                    Cell(yes_no.get(row.get("notable"), "—"), "text"),
                ]
            )
        return Block(
            "table",
            headers=[header, self._("Engagements"), self._("Index"), self._("95% CI"), self._("Notable")],
            rows=body,
        )

    def change_blocks(self) -> list[Block]:
        """The board's "did the policy change anything?": each group's share around each rule-set change."""
        change = self.report.get("change_over_time")
        # Exact figures only: the public report does not carry this section (its counts are not protected).
        if not self.board or not isinstance(change, dict):
            return []
        rows = [r for r in change.get("interrupted_time_series") or [] if r.get("measure") == "share"]
        items = [self.r.policy_change(r) for r in rows] or [
            self._("No rule-set change falls inside this period, so there is no before and after to compare.")
        ]
        blocks = [Block("subheading", text=self._("Did the policy change anything?"))]
        chart = change_chart(change, self.r)
        if chart is not None:
            blocks.append(Block("chart", chart=chart))
        return [*blocks, Block("readings", items=items)]

    def veil_blocks(self, veil: dict[str, Any] | None) -> list[Block]:
        """The robust veil of darkness: every group against the reference in both windows, the divisions
        and the clock-time curve's sensitivity. Board report only: its rows are exact figures that the
        public report's disclosure control does not cover."""
        if not self.board or not isinstance(veil, dict):
            return []
        chart = veil_chart(veil, self.r)
        if chart is None:  # the chart has a row for every group tested: none were
            return []
        blocks = [Block("chart", chart=chart)]
        items = [self.r.veil_group(row) for row in veil["by_group"]]
        if veil.get("by_division"):
            items.append(self.r.veil_divisions(veil["by_division"]))
        sensitivity = self.r.veil_sensitivity(veil.get("sensitivity") or [])
        if sensitivity:
            items.append(sensitivity)
        blocks.append(Block("readings", items=items))
        return blocks

    def method_text(self) -> str:
        meta = self.report.get("meta") or {}
        thresholds = meta.get("thresholds") or {}
        ruleset = meta.get("ruleset") or {}
        return self._(
            "Disproportionality compares a group's share of engagements (Unknown left out) with its share of "
            "residents; its 95%% interval is the Wilson interval of the engagement share. Disparity compares "
            "a group's rate with the %(reference)s rate in the same area (Katz log interval). Notable means "
            "an index of at least %(dispro)s (disproportionality) or %(disparity)s (disparity) with the "
            "whole interval above 1: thresholds set in rule set %(ruleset)s, configurable and not a "
            "provincial standard. The veil-of-darkness test compares engagements in daylight and darkness at "
            "the same clock time; the outcome test compares how often searches found contraband.",
            reference=self.reference,
            dispro=thresholds.get("notable_disproportionality", "—"),
            disparity=thresholds.get("notable_disparity", "—"),
            ruleset=ruleset.get("id", "—"),
        )

    def areas(self) -> Section:
        section = Section("areas", self._("Areas: divisions with counts"), "ANNUAL-REPORT")
        counts = self.annual["by_division"]
        section.blocks.append(self.counts_table("", self._("Division"), counts, self.annual["attempts"]))
        section.blocks.append(self.bar(self._("Attempts by division"), counts))
        values = {
            r["area"]: r.get("index")
            for r in self.report.get("disproportionality") or []
            if r["area"] != CITY and r["group"] == self.map_group
        }
        # Only divisions with engagements in the period (the map hatches the rest as "no data").
        values = {area: value for area, value in values.items() if area in counts}
        chart = maps.choropleth(
            values,
            boundaries=Path(self.boundaries) if self.boundaries else None,
            title=self._("Disproportionality index of %(group)s people by division", group=self.map_group),
            legend_title=self._("Index (1 = share of residents)"),
            lang=self.lang,
        )
        section.blocks.append(Block("chart", chart=chart))
        return section

    def non_compliance(self) -> Section:
        section = Section("reviews", self._("Reviews finding non-compliance"), "ANNUAL-REPORT")
        if self.governance is None:
            section.blocks.append(self.not_available())
            return section
        g = self.governance
        reviews = g.get("reviews") or {}
        section.blocks.append(
            Block(
                "figures",
                items=[
                    (
                        self._("Reviews finding a record non-compliant"),
                        self.r.count(g.get("non_compliant_findings")),
                    )
                ],
            )
        )
        labels = {
            "decided_on_time": self._("decided within 30 days"),
            "decided_late": self._("decided after 30 days"),
            "pending_on_time": self._("still pending, not yet due"),
            "pending_overdue": self._("still pending and overdue"),
        }
        counts = {label: reviews.get(key) for key, label in labels.items()}
        section.blocks.append(Block("subheading", text=self._("Review timeliness (30 days from entry)")))
        total = reviews.get("records") if not self.board else sum(v or 0 for v in counts.values())
        section.blocks.append(self.counts_table("", self._("Review"), counts, total, self._("Reviews")))
        section.blocks.append(self.bar(self._("Reviews by timeliness"), counts))
        return section

    def restricted(self) -> Section:
        section = Section("restricted", self._("Access to restricted records granted"), "ANNUAL-REPORT")
        if self.governance is None:
            section.blocks.append(self.not_available())
            return section
        reads = self.governance.get("restricted_reads") or {}
        section.blocks.append(
            Block(
                "figures",
                items=[
                    (self._("Reads of restricted records granted"), self.r.count(reads.get("granted"))),
                    (
                        self._("of which records made before the regulation"),
                        self.r.count(reads.get("legacy")),
                    ),
                ],
            )
        )
        return section

    def detailed_review(self) -> Section:
        section = Section("detailed-review", self._("Detailed review of a random sample"), "DETAILED-REVIEW")
        if self.governance is None:
            section.blocks.append(self.not_available())
            return section
        samples = self.governance.get("detailed_reviews") or []
        if not samples:
            section.blocks.append(
                Block("note", text=self._("No detailed-review sample was drawn for this period."))
            )
            return section
        rows = [
            [
                Cell(str(s.get("year")), "label"),
                Cell(self.r.count(s.get("size")), "text"),
                self.count(s.get("compliant")),
                self.count(s.get("non_compliant")),
                self.count(s.get("not_reviewed")),
            ]
            for s in samples
        ]
        headers = [
            self._("Year"),
            self._("Records sampled"),
            self._("Compliant"),
            self._("Non-compliant"),
            self._("Not yet reviewed"),
        ]
        section.blocks.append(Block("table", headers=headers, rows=rows))
        return section

    def compliance(self) -> Section:
        section = Section("compliance", self._("Compliance with the duties at the time"), "ANNUAL-REPORT")
        city = [r for r in self._city("compliance") if r["measure"] in COMPLIANCE_LABELS]
        rates = {self._(COMPLIANCE_LABELS[r["measure"]]): r.get("rate") for r in city}
        if rates:
            chart = charts.bar_chart(
                list(rates),
                [None if v is None else v * 100 for v in rates.values()],
                title=self._("Duties done, whole city"),
                unit="%",
                lang=self.lang,
            )
            section.blocks.append(Block("chart", chart=chart))
        section.blocks.append(Block("readings", items=[self.r.compliance(r) for r in city]))
        by_area: dict[str, dict[str, Any]] = {}
        for row in self.report.get("compliance") or []:
            if row["area"] != CITY:
                by_area.setdefault(row["area"], {})[row["measure"]] = row.get("rate")
        measures = [m for m in COMPLIANCE_LABELS if m != "identifying_info_collected"]
        rows = [
            [Cell(area, "label"), *[Cell(self.r.percent(values.get(m)), "rate") for m in measures]]
            for area, values in sorted(by_area.items())
        ]
        section.blocks.append(
            Block(
                "table",
                headers=[self._("Division"), *[self._(COMPLIANCE_LABELS[m]) for m in measures]],
                rows=rows,
            )
        )
        section.blocks.append(
            Block(
                "note",
                text=self._(
                    "Review timeliness, exceptions relied on and restricted-record reads are in "
                    "sections 8, 4 and 9."
                ),
            )
        )
        return section

    def complaints(self) -> Section:
        section = Section(
            "complaints", self._("Complaints and requests for one's own record"), "ANNUAL-REPORT"
        )
        if self.governance is None:
            section.blocks.append(self.not_available())
            return section
        complaints = self.governance.get("complaints") or {}
        kinds = sorted(set(complaints.get("received") or {}) | set(complaints.get("closed") or {}))
        rows = [
            [
                Cell(kind.replace("_", " "), "label"),
                self.count((complaints.get("received") or {}).get(kind, 0 if self.board else None)),
                self.count((complaints.get("closed") or {}).get(kind, 0 if self.board else None)),
            ]
            for kind in kinds
        ]
        if not rows:
            section.blocks.append(
                Block("note", text=self._("No complaints or requests were received in the period."))
            )
        else:
            section.blocks.append(
                Block("table", headers=[self._("Kind"), self._("Received"), self._("Closed")], rows=rows)
            )
        return section

    def unrecorded(self) -> Section:
        section = Section(
            "unrecorded", self._("Dispatch and camera events no record matched"), "ANNUAL-REPORT"
        )
        if self.governance is None:
            section.blocks.append(self.not_available())
            return section
        by_division = self.governance.get("unrecorded_events") or {}
        if not by_division:
            section.blocks.append(
                Block("note", text=self._("No dispatch or camera events were reconciled for the period."))
            )
            return section
        rows = [
            [
                Cell(division, "label"),
                self.count(c.get("events")),
                self.count(c.get("unmatched")),
                Cell(self.r.percent(c["unmatched"] / c["events"] if c.get("events") else None), "rate"),
                self.count(c.get("not_engagement")),
            ]
            for division, c in sorted(by_division.items())
        ]
        headers = [
            self._("Division"),
            self._("Events"),
            self._("No record matched"),
            self._("Unmatched rate"),
            self._("Of which not an engagement"),
        ]
        section.blocks.append(Block("table", headers=headers, rows=rows))
        section.blocks.append(
            Block(
                "note",
                text=self._(
                    "Events from dispatch and body-worn cameras matched to records by officer, time and "
                    "place (fairengage reconcile). An unmatched event is an engagement that may never have "
                    "been recorded, until its supervisor finds otherwise."
                ),
            )
        )
        return section

    def intervention_cases(self, section: Section) -> None:
        """The board's counts of what became of the flags: cases opened, actions, re-test outcomes."""
        found = (self.governance or {}).get("intervention_cases")
        if not self.board or not found:
            return
        actions = found.get("actions") or {}
        outcomes = found.get("outcomes") or {}
        figures = [
            (self._("Intervention cases opened"), found.get("opened", 0)),
            (self._("Supervisor agreed with the flag"), found.get("agreed", 0)),
            (self._("Supervisor disagreed, with a reason"), found.get("disagreed", 0)),
            (self._("Action: conversation"), actions.get("conversation", 0)),
            (self._("Action: training"), actions.get("training", 0)),
            (self._("Action: audit of records"), actions.get("records_review", 0)),
            (self._("Action: none"), actions.get("no_action", 0)),
            (self._("Re-test: difference persists"), outcomes.get("persists", 0)),
            (self._("Re-test: no longer flagged"), outcomes.get("no_longer", 0)),
            (self._("Not yet re-tested"), outcomes.get("awaiting_retest", 0)),
        ]
        rows = [[Cell(label, "label"), self.count(value)] for label, value in figures]
        headers = [self._("Intervention cases"), self._("Count")]
        section.blocks.append(Block("table", headers=headers, rows=rows))

    def officers(self) -> Section:
        section = Section("officers", self._("Officer results"), "NO-QUOTAS")
        rows = self.report.get("officers")
        officers_meta = (self.report.get("meta") or {}).get("officers") or {}
        group = officers_meta.get("group", "Black")
        section.blocks.append(
            Block("readings", items=[self.r.officers(rows, group, int(officers_meta.get("min_volume") or 0))])
        )
        flagged = sorted((r for r in rows or [] if r.get("flagged")), key=lambda r: r["officer_key"])
        if flagged:
            # By key, never by count (NO-QUOTAS): the list is for review, not a ranking.
            body = [
                [
                    Cell(r["officer_key"], "label"),
                    Cell(self.r.count(r["n"]), "text"),
                    Cell(self.r.count(r["observed"]), "text"),
                    Cell(self.r.ratio(r["expected"]), "text"),
                    Cell(self.r.ratio(r.get("ratio"), 2), "ratio"),
                    Cell(f"{r['q_value']:.3g}" if r.get("q_value") is not None else "—", "text"),
                ]
                for r in flagged
            ]
            headers = [
                self._("Officer key"),
                self._("Engagements compared"),
                self._("Observed"),
                self._("Expected"),
                self._("Observed ÷ expected"),
                self._("q-value"),
            ]
            section.blocks.append(Block("table", headers=headers, rows=body))
        self.intervention_cases(section)
        review = self.report.get("officer_review")
        if review:
            section.blocks.append(Block("readings", items=[self.r.officer_review(review)]))
        section.blocks.append(
            Block(
                "note",
                text=self._(
                    "Board only. Officers are listed by key, in key order, never ranked by count: engagement "
                    "counts are not a performance measure (NO-QUOTAS). Only those allowed to hold the key "
                    "can name an officer."
                ),
            )
        )
        return section

    def data_quality(self) -> Section:
        section = Section("data-quality", self._("Data quality"), "RECORD-CONTENTS")
        quality = self.report.get("data_quality") or {}
        rows_total = self.annual["attempts"]
        body = [
            [
                Cell(f["field"].replace("_", " "), "label"),
                Cell(self._(f["problem"]), "text"),
                self.count(f["count"]),
                self._share(f["count"], rows_total),
            ]
            for f in quality.get("fields") or []
        ]
        section.blocks.append(
            Block(
                "table",
                headers=[self._("Field"), self._("Problem"), self._("Engagements"), self._("Share")],
                rows=body,
            )
        )
        section.blocks.append(
            Block(
                "note",
                text=self._(
                    "Unknown perceived race is left out of the disproportionality denominator; if officers "
                    "record Unknown more often for some groups, every group's share is skewed."
                ),
            )
        )
        return section

    def method(self) -> Section:
        section = Section("method", self._("Method, benchmark and suppression"), "NOTABLE")
        meta = self.report.get("meta") or {}
        benchmark = meta.get("benchmark") or {}
        section.blocks.append(Block("method", text=self.method_text()))
        section.blocks.append(Block("method", text=benchmark.get("description") or ""))
        section.blocks.append(
            Block(
                "note",
                text=self._(
                    "The benchmark is the residential census population: people engaged in a division do not "
                    "all live there. Read division figures with the disparity, outcome and veil-of-darkness "
                    "results, which need no benchmark. No figure here shows why a difference exists."
                ),
            )
        )
        if self.board and self.cellkey:
            section.blocks.append(
                Block(
                    "note",
                    text=self._(
                        "This board version shows exact counts. The public version shows every count with a "
                        "small random change (at most ±3): the cell-key method."
                    ),
                )
            )
        elif self.board:
            section.blocks.append(
                Block(
                    "note",
                    text=self._(
                        "This board version shows exact counts. The public version withholds every count "
                        "below %(n)s, and any count that could be worked out from published totals "
                        "(SMALL-CELLS).",
                        n=self.threshold,
                    ),
                )
            )
        else:
            section.blocks.append(self.withheld_note())
            section.blocks.append(
                Block(
                    "note",
                    text=self._(
                        "Officer-level results are left out of the public report; they are for the board and "
                        "the service's review process."
                    ),
                )
            )
        return section

    def summary(self) -> list[tuple[str, ...]]:
        a = self.annual
        items = [
            (self._("Attempts"), self.r.count(a["attempts"])),
            self.encounters_item(),
            (self._("Identifying information collected"), self.r.count(a["collected"])),
        ]
        if self.governance is not None:
            items.append(
                (
                    (self._("People (estimate)")),
                    self.r.count((self.governance.get("people") or {}).get("estimate")),
                )
            )
        compliant = next((r for r in self._city("compliance") if r["measure"] == "compliant"), None)
        if compliant:
            items.append(
                (self._("Records meeting every rule"), self.r.percent(compliant.get("rate")), "rate")
            )
        notable = [r["group"] for r in self._city("disproportionality") if r.get("notable")]
        items.append(
            (
                self._("Groups notably over-represented, whole city"),
                ", ".join(notable) or self._("none"),
                "text",
            )
        )
        return items

    def highlights(self) -> list[str]:
        notable = [r for r in self._city("disproportionality") if r.get("notable")]
        notable += [r for r in self._city("disparity") if r.get("notable") and r["group"] != self.reference]
        lines = [
            self.r.disproportionality(r) if "measure" not in r else self.r.disparity(r, self.reference)
            for r in notable
        ]
        return lines or [
            self._("No city-wide disproportionality or disparity figure is notable in this period.")
        ]


def _digits(row: dict[str, Any]) -> int:
    return (
        ratio_digits(row["index"], row.get("ci_low"), row.get("ci_high"))
        if row.get("index") is not None
        else 1
    )


def _measure_order(measure: str) -> tuple[int, str]:
    order = ("searched", "arrest", "ticket", "caution", "referral")
    return (order.index(measure) if measure in order else len(order), measure)


def report_context(
    report: dict[str, Any],
    *,
    board: bool,
    boundaries: Path | None,
    map_group: str,
    settings: Settings,
    lang: str,
) -> dict[str, Any]:
    """Everything the report templates need: the sections, the summary and the words."""
    pages = Pages(report, board=board, boundaries=boundaries, map_group=map_group, lang=lang)
    if board:
        # The board's figures are exact either way; its notes say how the public version is protected.
        pages.cellkey = settings.disclosure_method == "cellkey"
    meta = report.get("meta") or {}
    period = meta.get("report_period") or {}
    label = period.get("label") or ""
    try:
        words = parse_period(label, period.get("timezone") or settings.timezone).describe() if label else ""
    except ValueError:
        words = label
    bounds = meta.get("period") or {}
    if bounds.get("partial"):
        # The period had not closed when the data were taken: say so where the period is named.
        last = str(bounds.get("as_of") or bounds.get("last_date") or "")[:10]
        if "-Q" in label:
            note = pages._("Partial quarter: data to %(last)s.")
        else:
            note = pages._("Partial year: data to %(last)s.")
        words = f"{words} {note % {'last': _long_date(last, lang)}}".strip()
    title = (
        pages._("Community engagements: board report, %(period)s", period=label)
        if board
        else pages._("Community engagements: public report, %(period)s", period=label)
    )
    return {
        "lang": lang,
        "_": pages._,
        "title": title,
        "board": board,
        "service": settings.service_name,
        "period": label,
        "period_words": words,
        "generated_at": (meta.get("generated_at") or "")[:10],
        "ruleset": (meta.get("ruleset") or {}).get("id", ""),
        "threshold": pages.threshold,
        "cellkey": pages.cellkey and not board,
        "method_url": f"{str(settings.public_url).rstrip('/')}/public/method",
        "summary": pages.summary(),
        "highlights": pages.highlights(),
        "sections": pages.sections(),
    }
