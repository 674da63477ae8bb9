"""Measure what disclosure control costs on one city-sized synthetic year: suppression and cell-key.

    PYTHONPATH=src python benchmarks/disclosure.py --records 30000 --seed 7

Builds the reports of 2025 for a synthetic Toronto (16 divisions, the shipped benchmark) twice through
the real release build (`builder.build_reports`), once per FAIRENGAGE_DISCLOSURE_METHOD, and compares
every count of the public report (its four tables, the annual figures and data quality) and of open data
with the board's exact figure: for `suppress` (the report's own suppression, then `protect_release` with
no earlier release, as publishing runs it), how many are withheld; for `cellkey`, how many move and by
how much, and whether any published count is 1 or 2.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fairengage.analytics.population_benchmarks import default_benchmark_path
from fairengage.config import Settings
from fairengage.ingest import synth
from fairengage.reports import builder
from fairengage.reports.disclosure import protect_release

SECTIONS = {
    "disproportionality": (("area", "group"), ("count", "total")),
    "disparity": (("area", "group", "measure"), ("count", "total")),
    "outcome_test": (("area", "group"), ("searches", "hits")),
    "compliance": (("area", "measure"), ("count", "total")),
}
BENCH_KEY = "benchmark-only-key-" + "x" * 16  # synthetic data only, never a deployment's key
ANNUAL = ("by_age", "by_gender", "by_race", "by_division")


def pairs(board: dict[str, Any], public: dict[str, Any]) -> list[tuple[int, int | None]]:
    """(exact, published) for every count the public report carries, matched by its labels."""
    found: list[tuple[int, int | None]] = []
    for section, (labels, keys) in SECTIONS.items():
        exact = {tuple(r[k] for k in labels): r for r in board[section]}
        for row in public[section]:
            truth = exact[tuple(row[k] for k in labels)]
            found += [(int(truth[k]), row.get(k)) for k in keys]
    for name in ANNUAL:
        found += [(int(v), public["annual"][name].get(k)) for k, v in board["annual"][name].items()]
    found.append((int(board["annual"]["attempts"]), public["annual"]["attempts"]))
    found.append((int(board["annual"]["collected"]), public["annual"]["collected"]))
    return found


def build(table: Path, out: Path, method: str) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Build 2025's reports with one method; the board report, the public one, and the seconds taken."""
    # A fixed key for the record keys: the benchmark's figures are the same on every run.
    settings = Settings(disclosure_method=method, secret_key=BENCH_KEY)
    started = time.monotonic()
    built = builder.build_reports(
        table_path=table,
        benchmark_path=default_benchmark_path(),
        period="2025",
        out_dir=out,
        settings=settings,
        generated_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    if method == "suppress":
        # As publishing/service.py runs it: the cross-release check, with no earlier release here.
        protect_release(out, [], threshold=built.threshold)
    seconds = time.monotonic() - started
    board = json.loads((out / "report.json").read_text(encoding="utf-8"))
    public = json.loads((out / "report.public.json").read_text(encoding="utf-8"))
    return board, public, seconds


def main() -> None:
    """Print the figures of one run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    frame = synth.generate(args.records, seed=args.seed, start=date(2025, 1, 1), end=date(2025, 12, 31))
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        table = root / "t.parquet"
        synth.write_table(frame, table)
        for method in ("suppress", "cellkey"):
            out = root / method
            board, public, seconds = build(table, out, method)
            found = pairs(board, public)
            withheld = [e for e, p in found if p is None]
            changes = [abs(p - e) for e, p in found if p is not None]
            moved = [c for c in changes if c]
            small = sum(1 for _, p in found if p in (1, 2))
            lines.append(
                {
                    "method": method,
                    "figures": len(found),
                    "withheld": len(withheld),
                    "moved": len(moved),
                    "largest": max(changes, default=0),
                    "median": statistics.median(changes) if changes else 0,
                    "median_moved": statistics.median(moved) if moved else 0,
                    "mean_abs": statistics.fmean(changes) if changes else 0,
                    "ones_twos": small,
                    "seconds": seconds,
                }
            )
    print(f"records {args.records:,}, seed {args.seed}, period 2025, public report counts vs the board's")
    header = (
        f"{'method':<9} {'counts':>7} {'withheld':>9} {'moved':>7} {'largest':>8} {'median':>7} "
        f"{'median moved':>13} {'mean |change|':>14} {'1 or 2':>7} {'build s':>8}"
    )
    print(header)
    for r in lines:
        print(
            f"{r['method']:<9} {r['figures']:>7,} {r['withheld']:>9,} {r['moved']:>7,} {r['largest']:>8} "
            f"{r['median']:>7} {r['median_moved']:>13} {r['mean_abs']:>14.3f} {r['ones_twos']:>7} "
            f"{r['seconds']:>8.0f}"
        )


if __name__ == "__main__":
    main()
