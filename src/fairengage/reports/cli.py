"""`fairengage report`: the board and public reports and open data for one period."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

TABLE_NAME = "engagements.parquet"
GOVERNANCE_NAME = "governance.json"


class Engine(StrEnum):
    """The engines the analyses run on."""

    duckdb = "duckdb"
    spark = "spark"


def report_command(
    period: Annotated[str, typer.Option("--period", help="a year (2025) or a quarter (2025-Q3), local time")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="the folder to write the reports and open data into")
    ],
    input_file: Annotated[
        Path | None, typer.Option("--input", help="the analytic table, .parquet or .csv")
    ] = None,
    benchmark_file: Annotated[
        Path | None,
        typer.Option(
            "--benchmark", help="the benchmark CSV (default with --from-db: the shipped Toronto one)"
        ),
    ] = None,
    governance_file: Annotated[
        Path | None, typer.Option("--governance", help="governance.json: review, exception and access counts")
    ] = None,
    boundaries: Annotated[
        Path | None, typer.Option("--boundaries", help="division boundaries (GeoJSON) for the map")
    ] = None,
    engine: Annotated[Engine, typer.Option(help="duckdb (default) or spark")] = Engine.duckdb,
    from_db: Annotated[
        bool,
        typer.Option(
            "--from-db", help="extract the analytic table and governance summary from the database first"
        ),
    ] = False,
) -> None:
    """Build the board report (HTML, PDF), the public report (suppressed) and open data for a period."""
    from fairengage.analytics.benchmarks import default_benchmark_path
    from fairengage.analytics.engine import AnalyticsInputError
    from fairengage.cli import err, fail, out
    from fairengage.config import get_settings
    from fairengage.reports.builder import ReportBuildError, build_reports
    from fairengage.reports.period import PeriodError, parse_period

    settings = get_settings()
    try:
        chosen = parse_period(period, settings.timezone)
    except PeriodError as exc:
        raise fail(f"--period: {exc}") from None
    if from_db == (input_file is not None):
        raise fail("give either --input FILE or --from-db")
    if not from_db and benchmark_file is None:
        raise fail("--benchmark: give the benchmark CSV (area,group,population)")
    benchmark = benchmark_file or default_benchmark_path()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        earlier = _earlier_releases(out_dir)
        with _progress(err) as progress:
            if from_db:
                input_file, governance_file = _from_database(settings, chosen, out_dir, progress)
            assert input_file is not None  # nosec B101 # given, or written by _from_database just above
            built = build_reports(
                table_path=input_file,
                benchmark_path=benchmark,
                period=chosen.label,
                out_dir=out_dir,
                settings=settings,
                governance=governance_file,
                boundaries=boundaries,
                engine=engine.value,
                progress=progress,
                published=earlier,
            )
    except (AnalyticsInputError, ReportBuildError, PeriodError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{getattr(exc, 'filename', None) or out_dir}: {exc.strerror or exc}") from None
    out.print(
        f"wrote the {built.period} reports to {out_dir}: {built.rows:,} engagements, "
        f"{len(built.files)} files; public counts below {built.threshold} withheld",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _earlier_releases(out_dir: Path) -> list[Path]:
    """Every release beside `out_dir` (its sibling period folders), and the version it will replace.

    The public files already in `out_dir` were downloadable: they are kept aside in a hidden folder so
    the cross-release check (reports/disclosure.py) compares the new version with them.
    """
    import shutil

    from fairengage.reports.disclosure import PUBLIC_REPORT, published_releases

    found = published_releases(out_dir.parent, leave_out=out_dir)
    if (out_dir / PUBLIC_REPORT).is_file():
        number = 1 + sum(1 for _ in out_dir.parent.glob(f".replaced-{out_dir.name}-*"))
        kept = out_dir.parent / f".replaced-{out_dir.name}-{number}"
        kept.mkdir(exist_ok=True)
        shutil.copy2(out_dir / PUBLIC_REPORT, kept / PUBLIC_REPORT)
        if (out_dir / "open-data").is_dir():
            shutil.copytree(out_dir / "open-data", kept / "open-data", dirs_exist_ok=True)
        found.append(kept)
    return found


def _from_database(settings: Any, period: Any, out_dir: Path, progress: Any) -> tuple[Path, Path]:
    """Write the analytic table and the governance summary from the database into the output folder."""
    # The command is the seam between the records and the reports, as the top-level CLI is: it calls the
    # two count-only doors of engagements/ here, and the report itself reads only the files they write.
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.db import engine_for, session_factory
    from fairengage.engagements.extract import ExtractRefused, write_extract
    from fairengage.engagements.governance_summary import write_governance_summary
    from fairengage.reports.builder import ReportBuildError

    sessions = session_factory(engine_for(settings.database_url))
    table = out_dir / TABLE_NAME
    governance = out_dir / GOVERNANCE_NAME
    progress(0, 1, "extracting the analytic table from the database")
    try:
        write_extract(sessions=sessions, out=table, settings=settings, actor=CLI_ACTOR)
    except ExtractRefused as exc:
        raise ReportBuildError(str(exc)) from None
    progress(0, 1, "counting reviews, exceptions and restricted reads")
    write_governance_summary(
        sessions=sessions,
        period_start=period.start,
        period_end=period.end,
        tz=settings.timezone,
        out=governance,
    )
    return table, governance


@contextlib.contextmanager
def _progress(console: Any) -> Iterator[Any]:
    """A progress bar naming the current step on a terminal; silent when output is not a terminal."""
    if not console.is_terminal:
        yield lambda *_args: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("report", total=None)

        def update(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, description=message)

        yield update
