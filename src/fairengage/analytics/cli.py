"""`fairengage analyze`: every analysis of an analytic table, written as report.json."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
) -> None:
    """Run every analysis (disproportionality, disparity, veil of darkness, outcome test, officers,
    compliance; the threshold test when asked) on an analytic table and write report.json."""
    # deferred: heavy library, keeps --help fast (ibis, duckdb, pandas, statsmodels)
    from fairengage.analytics import engine as engines
    from fairengage.analytics import report as reports
    from fairengage.analytics.benchmark import read_benchmark
    from fairengage.config import get_settings

    settings = get_settings()
    params = reports.AnalysisParams(
        input_name=input_file.name,
        benchmark_name=benchmark_file.name,
        lat=settings.latitude,
        lon=settings.longitude,
        threshold_test=threshold_test,
        threshold_chains=threshold_chains,
        threshold_samples=threshold_samples,
        threshold_seed=threshold_seed,
    )
    try:
        # Two steps here (starting the engine, reading the table), then the report's own.
        with _progress(err, steps=2 + reports.STEPS + int(threshold_test)) as step:
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
