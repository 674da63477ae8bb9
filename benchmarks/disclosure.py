"""Measure what disclosure control costs on one city-sized synthetic year: suppression and cell-key.

    PYTHONPATH=src python benchmarks/disclosure.py --records 30000 --seed 7

Builds the public files of 2025 for a synthetic Toronto (16 divisions, the shipped benchmark), then
prints, for strict suppression (the report's own, then `protect_release` with no earlier release), how
many counts are withheld; and for the cell-key method on the same counts (division × group, and
division × group × outcome, totals included), how many move and by how much.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from fairengage.analytics.benchmarks import default_benchmark_path
from fairengage.config import Settings
from fairengage.ingest import synth
from fairengage.reports import builder, cellkey
from fairengage.reports.disclosure import protect_release, read_release
from fairengage.reports.period import parse_period


def main() -> None:
    """Print the figures of one run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    frame = synth.generate(args.records, seed=args.seed, start=date(2025, 1, 1), end=date(2025, 12, 31))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        table = root / "t.parquet"
        synth.write_table(frame, table)
        settings = Settings()
        report, threshold = builder.analyse_report(
            table_path=table,
            benchmark_path=default_benchmark_path(),
            period="2025",
            settings=settings,
            generated_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
        public = builder.public_report(report, threshold)
        out = root / "2025"
        out.mkdir()
        builder.write_public_files(report, public, threshold, out, parse_period("2025", settings.timezone))
        before = read_release(out)
        shown = sum(1 for f in before.figures if f.value is not None)
        hidden = sum(1 for f in before.figures if f.value is None)
        started = time.monotonic()
        result = protect_release(out, [], threshold=threshold)
        seconds = time.monotonic() - started
    total = shown + hidden
    print(f"records {args.records:,}, seed {args.seed}, threshold {threshold}")
    print(f"suppression: {hidden:,} of {total:,} count figures withheld ({hidden / total:.1%}) by the report")
    print(
        f"  protect_release alone: ok={result.ok}, {result.further_suppressed} more withheld, {seconds:.0f} s"
    )
    keys = cellkey.record_keys(frame["engagement_id"], cellkey.cell_key_secret("benchmark"))
    for by in (["division", "perceived_race"], ["division", "perceived_race", "outcome"]):
        perturbed = cellkey.perturbed_table(frame.fillna({"outcome": "none"}), by, keys)
        exact = frame.fillna({"outcome": "none"})[by].astype(str)
        counts = {}
        for _, row in perturbed.iterrows():
            mask = True
            for column in by:
                if row[column] != "ALL":
                    mask = mask & (exact[column] == row[column])
            counts[tuple(row[by])] = int(mask.sum()) if mask is not True else len(exact)
        changes = [abs(int(r["count"]) - counts[tuple(r[by])]) for _, r in perturbed.iterrows()]
        moved = [c for c in changes if c]
        print(
            f"cell-key {' × '.join(by)}: {len(moved):,} of {len(changes):,} figures moved "
            f"({len(moved) / len(changes):.1%}); largest change {max(changes)}, median change "
            f"{statistics.median(changes)}, median among moved {statistics.median(moved) if moved else 0}"
        )


if __name__ == "__main__":
    main()
