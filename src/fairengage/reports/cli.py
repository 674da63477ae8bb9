"""Building a period's reports from an analytic-table file (`fairengage report --input FILE`).

The command itself lives in publishing/cli.py: with `--from-db` it makes a release through the one
publishing service; with `--input` it calls `build_from_files` here, which reads only the files given.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
if TYPE_CHECKING:
    from fairengage.progress import Progress


class Engine(StrEnum):
    """The engines the analyses run on."""

    duckdb = "duckdb"
    spark = "spark"


def build_from_files(
    *,
    period: str,
    out_dir: Path,
    input_file: Path,
    benchmark_file: Path,
    governance_file: Path | None,
    boundaries: Path | None,
    engine: Engine,
    settings: Any,
    progress: Progress,
    threshold_test: bool = False,
    compare_with: Sequence[tuple[str, Path]] = (),
    benchmark_name: str | None = None,
) -> Any:
    """Build the board report, the public report and open data for a period from files already written."""
    from fairengage.reports.builder import build_reports

    out_dir.mkdir(parents=True, exist_ok=True)
    return build_reports(
        table_path=input_file,
        benchmark_path=benchmark_file,
        period=period,
        out_dir=out_dir,
        settings=settings,
        governance=governance_file,
        boundaries=boundaries,
        engine=engine.value,
        progress=progress,
        threshold_test=threshold_test,
        compare_with=compare_with,
        benchmark_name=benchmark_name,
    )
