"""`fairengage analyze`: every analysis of an analytic table, written as report.json."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fairengage.console import err, fail, out


class Engine(StrEnum):
    """The engines `analyze` runs on."""

    duckdb = "duckdb"
    spark = "spark"


def analyze(
    input_file: Annotated[Path, typer.Option("--input", help="the analytic table, .parquet or .csv")],
    benchmark_file: Annotated[
        Path, typer.Option("--benchmark", help="the benchmark CSV: area,group,population")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="where to write report.json")],
    engine: Annotated[
        Engine, typer.Option(help="duckdb (default, in process) or spark (needs the spark extra)")
    ] = Engine.duckdb,
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
    compliance) on an analytic table and write report.json."""
    # deferred: heavy library, keeps --help fast (ibis, duckdb, pandas, statsmodels)
    from fairengage.analytics import engine as engines
    from fairengage.analytics import report as reports
    from fairengage.analytics.benchmark import read_benchmark
    from fairengage.config import get_settings

    settings = get_settings()
    dates = _dates(change_date)
    params = reports.AnalysisParams(
        change_dates=dates,
        input_name=input_file.name,
        benchmark_name=benchmark_file.name,
        lat=settings.latitude,
        lon=settings.longitude,
    )
    try:
        # Two steps here (starting the engine, reading the table), then the report's own.
        with _progress(err, steps=2 + reports.STEPS) as step:
            benchmark = read_benchmark(benchmark_file)
            step(f"starting {engine.value}")
            backend = engines.connect(engine.value)
            try:
                step(f"reading {input_file.name}")
                table = engines.load_table(backend, input_file)
                result = reports.analyze(
                    table,
                    benchmark,
                    engine_name=engine.value,
                    tz=get_settings().timezone,
                    params=params,
                    progress=step,
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


@contextlib.contextmanager
def _progress(console, steps: int) -> Iterator:  # type: ignore[no-untyped-def]
    """A spinner naming the current step on a terminal; elsewhere a line per step and every few seconds."""
    if not console.is_terminal:
        from fairengage.progress import PlainProgress

        with PlainProgress("analyze", steps=steps) as plain:
            yield plain
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("analyze", total=None)
        yield lambda message: progress.update(task, description=message)


def _dates(values: list[str] | None) -> list[date] | None:
    """The --change-date values as dates; a bad one ends the command with one line naming it."""
    if not values:
        return None
    try:
        return [date.fromisoformat(value) for value in values]
    except ValueError as exc:
        typer.echo(f"error: --change-date: {exc} (use YYYY-MM-DD)", err=True)
        raise typer.Exit(1) from None
