"""Time a Stanford Open Policing import and its extract: CPU and wall seconds, and rows per second.

    PYTHONPATH=src python benchmarks/opp_import.py [--file PATH] [--database-url URL]

By default it imports Hartford, CT (`../shared/data/realdata/sopp_ct_hartford_2020_04_01.csv`, 18,439
stops) into a fresh SQLite database, then writes the analytic table with the legacy rows, as
`tests/ingest/test_opp.py` does; the test checks the figures, this script the time they take. CPU time
is the figure to compare on a shared machine (wall time includes waiting for the other jobs); the test
suite held the pair to 30 s of CPU before the budget moved here. Give `--database-url` to time an empty
PostgreSQL database instead (it must be empty: the script migrates it and adds officers).
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

HARTFORD = Path(__file__).resolve().parents[1] / "../shared/data/realdata/sopp_ct_hartford_2020_04_01.csv"


def main() -> None:
    """Print the figures of one run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=HARTFORD, help="an Open Policing CSV")
    parser.add_argument("--timezone", default="America/New_York", help="the file's local time zone")
    parser.add_argument("--database-url", help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    if not args.file.is_file():
        raise SystemExit(f"{args.file}: no such file")

    from fairengage import migrate
    from fairengage.config import Settings
    from fairengage.db import engine_for, session_factory
    from fairengage.engagements import extract
    from fairengage.ingest import importer

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'opp.db'}"
        migrate.upgrade(url)
        settings = Settings(database_url=url, secret_key=secrets.token_hex(32))
        sessions = session_factory(engine_for(url))
        figures = []
        cpu, wall = time.process_time(), time.perf_counter()
        result = importer.import_file(
            sessions=sessions,
            path=args.file,
            fmt="opp",
            settings=settings,
            actor="benchmark",
            rejects_path=Path(folder) / "rejects.csv",
            timezone=args.timezone,
        )
        figures.append(("import", result.read, time.process_time() - cpu, time.perf_counter() - wall))
        cpu, wall = time.process_time(), time.perf_counter()
        out = extract.write_extract(
            sessions=sessions,
            out=Path(folder) / "table.parquet",
            settings=settings,
            actor="benchmark",
            include_legacy=True,
        )
        figures.append(("extract", out.rows, time.process_time() - cpu, time.perf_counter() - wall))

    print(f"{args.file.name}: {result.read} rows read, {result.stored} stored, {result.rejected} refused")
    print(f"{'step':<8} {'rows':>8} {'CPU s':>8} {'wall s':>8} {'rows/s (CPU)':>13}")
    for step, rows, cpu_s, wall_s in figures:
        print(f"{step:<8} {rows:>8} {cpu_s:>8.2f} {wall_s:>8.2f} {rows / cpu_s if cpu_s else 0:>13,.0f}")
    total_cpu = sum(f[2] for f in figures)
    print(f"{'total':<8} {'':>8} {total_cpu:>8.2f} {sum(f[3] for f in figures):>8.2f}")


if __name__ == "__main__":
    main()
