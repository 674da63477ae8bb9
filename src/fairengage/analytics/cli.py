"""`fairengage analyze`: every analysis of an analytic table, written as report.json."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fairengage.console import err, fail, out
from fairengage.progress import shown


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
) -> None:
    """Run every analysis (disproportionality, disparity, veil of darkness, outcome test, officers,
    compliance) on an analytic table and write report.json."""
    # deferred: heavy library, keeps --help fast (ibis, duckdb, pandas, statsmodels)
    from fairengage.analytics import engine as engines
    from fairengage.analytics import report as reports
    from fairengage.analytics.population_benchmarks.frame import read_benchmark
    from fairengage.config import get_settings

    settings = get_settings()
    params = reports.AnalysisParams(
        input_name=input_file.name,
        benchmark_name=benchmark_file.name,
        lat=settings.latitude,
        lon=settings.longitude,
    )
    try:
        # Two steps here (starting the engine, reading the table), then the report's own.
        with shown("analyze", err, steps=2 + reports.STEPS) as step:
            benchmark = read_benchmark(benchmark_file)
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
