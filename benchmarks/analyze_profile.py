"""Where `analyze` spends its time on the speed benchmark's table: warm wall time, then a profile.

    PYTHONPATH=src python benchmarks/analyze_profile.py [--rows 3000000] [--robust-veil] [--top 30]

Writes `fairengage bench`'s synthetic table (seed 0, 400 officers) once to a temporary folder, runs
`report.analyze` on DuckDB once to warm the caches, times `--repeat` more runs (the median is printed),
then prints cProfile's slowest calls of one more run by cumulative time. Without `--robust-veil` the
veil's robust specifications are left out, as in `fairengage bench`. Run it on an otherwise idle
machine; docs/benchmarking.md ("Where our time goes") gives its figures.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from fairengage.analytics import engine, report, speed_bench
from fairengage.ingest.population import population_table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--robust-veil", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    # A fit on a synthetic table can overflow on its way to convergence: the time is measured, not that.
    warnings.simplefilter("ignore")
    benchmark = population_table()
    params = report.AnalysisParams(veil_robust=args.robust_veil)
    with tempfile.TemporaryDirectory(prefix="fairengage-profile-") as folder:
        path = Path(folder) / "engagements.parquet"
        speed_bench.write_synthetic(args.rows, path)

        def run() -> dict[str, Any]:
            backend = engine.connect("duckdb")
            try:
                table = engine.load_table(backend, path)
                return report.analyze(
                    table, benchmark, engine_name="duckdb", tz="America/Toronto", params=params
                )
            finally:
                engine.disconnect(backend)

        run()
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - started)
        print(f"{args.rows:,} rows, warm: median {statistics.median(seconds):.2f} s of {args.repeat} runs")
        profile = cProfile.Profile()
        profile.enable()
        run()
        profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
