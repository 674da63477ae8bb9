"""`fairengage analyze`: every analysis of an analytic table, written as report.json."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fairengage.console import err, fail, out
from fairengage.progress import shown


# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
class Engine(StrEnum):
    """The engines `analyze` runs on."""

    duckdb = "duckdb"
    spark = "spark"


def analyze(
    input_file: Annotated[Path, typer.Option("--input", help="the analytic table, .parquet or .csv")],
    benchmark_files: Annotated[
        list[str],
        typer.Option(
            "--benchmark",
            help="a benchmark CSV (area,group,population), as FILE or NAME=FILE; repeat it to compare "
            "several side by side (the first is the main one)",
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="where to write report.json")],
    engine: Annotated[
        Engine, typer.Option(help="duckdb (default, in process) or spark (needs the spark extra)")
    ] = Engine.duckdb,
    threshold_test: Annotated[
        bool,
        typer.Option(
            "--threshold-test",
            help="also run the threshold test (slow: a Bayesian fit; needs the threshold extra)",
        ),
    ] = False,
    threshold_samples: Annotated[
        int, typer.Option(min=50, max=100_000, help="threshold test: warm-up and kept draws per chain")
    ] = 1000,
    threshold_chains: Annotated[int, typer.Option(min=1, max=16, help="threshold test: chains")] = 4,
    threshold_seed: Annotated[int, typer.Option(min=0, help="threshold test: the sampler's seed")] = 0,
    change_date: Annotated[
        list[str] | None,
        typer.Option(
            "--change-date",
            metavar="YYYY-MM-DD",
            help="a date to test for a change (repeatable); default: the rule sets' start dates",
        ),
    ] = None,
) -> None:
    """Run every analysis (disproportionality, disparity, veil of darkness, outcome test, officers,
    compliance; the threshold test when asked) on an analytic table and write report.json."""
    # deferred: heavy library, keeps --help fast (ibis, duckdb, pandas, statsmodels)
    from fairengage.analytics import engine as engines
    from fairengage.analytics import report as reports
    from fairengage.analytics.population_benchmarks import named_benchmarks
    from fairengage.analytics.population_benchmarks.frame import read_benchmark
    from fairengage.config import get_settings

    settings = get_settings()
    try:
        named = named_benchmarks(benchmark_files)
    except ValueError as exc:
        raise fail(str(exc)) from None
    first_name, first_file = named[0]
    dates = _dates(change_date)
    params = reports.AnalysisParams(
        change_dates=dates,
        input_name=input_file.name,
        benchmark_name=first_file.name if len(named) == 1 else first_name,
        lat=settings.latitude,
        lon=settings.longitude,
        threshold_test=threshold_test,
        threshold_chains=threshold_chains,
        threshold_samples=threshold_samples,
        threshold_seed=threshold_seed,
    )
    try:
        # Two steps here (starting the engine, reading the table), then the report's own.
        with shown("analyze", err, steps=2 + reports.STEPS + int(threshold_test)) as step:
            frames = {name: read_benchmark(path) for name, path in named}
            benchmark = frames[first_name]
            step.phase(f"starting {engine.value}")
            backend = engines.connect(engine.value)
            try:
                step.phase(f"reading {input_file.name}")
                table = engines.load_table(backend, input_file)
                result = reports.analyze(
                    table,
                    benchmark,
                    engine_name=engine.value,
                    tz=get_settings().timezone,
                    params=params,
                    progress=step,
                    benchmarks=frames if len(frames) > 1 else None,
                )
            finally:
                engines.disconnect(backend)
        reports.write_report(result, out_file)
    except (engines.AnalyticsInputError, OSError) as exc:
        raise fail(str(exc)) from None
    notable = sum(row["notable"] for row in result["disproportionality"] + result["disparity"])
    out.print(
        f"wrote {out_file}: {result['meta']['rows']:,} engagements on {engine.value}; {notable} notable rows",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _dates(values: list[str] | None) -> list[date] | None:
    """The --change-date values as dates; a bad one ends the command with one line naming it."""
    if not values:
        return None
    try:
        return [date.fromisoformat(value) for value in values]
    except ValueError as exc:
        typer.echo(f"error: --change-date: {exc} (use YYYY-MM-DD)", err=True)
        raise typer.Exit(1) from None
