"""Time the cross-release disclosure check on one city-sized synthetic year, before and after its sweep.

    PYTHONPATH=src python benchmarks/disclosure_speed.py --records 30000 --seed 7 [--repeat 3] [--no-before]

Builds the public files of 2025 for a synthetic Toronto (16 divisions, the shipped benchmark), then
prints, for strict suppression (the report's own, then `protect_release` with no earlier release), how
many counts are withheld and how long the check takes (median of `--repeat` runs), three ways in the
same run: `after`, as it is done now; `scratch`, every programme solved from nothing by
`scipy.optimize.linprog` (the way before one HiGHS model per part was kept and re-solved from a kept
basis); and `before`, also with one pair of programmes per figure that the first solutions leave open
(the way before the sweep). Then, for the cell-key method on the same counts (division × group, and
division × group × outcome, totals included), how many move and by how much.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from fairengage.analytics.population_benchmarks import default_benchmark_path
from fairengage.config import Settings
from fairengage.ingest import synth
from fairengage.reports import builder, cellkey, disclosure
from fairengage.reports.disclosure import protect_release, read_release
from fairengage.reports.period import parse_period


def main() -> None:
    """Print the figures of one run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the check, per method")
    parser.add_argument("--no-before", action="store_true", help="skip the one-programme-per-figure runs")
    parser.add_argument(
        "--correction",
        type=int,
        default=0,
        metavar="N",
        help="then N late records of the fourth quarter, and the year again checked against the first",
    )
    args = parser.parse_args()
    frame = synth.generate(args.records, seed=args.seed, start=date(2025, 1, 1), end=date(2025, 12, 31))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings()
        out, threshold = _publish(frame, root / "2025", datetime(2026, 2, 1, tzinfo=UTC), settings)
        before = read_release(out)
        shown = sum(1 for f in before.figures if f.value is not None)
        hidden = sum(1 for f in before.figures if f.value is None)
        pristine = root / "pristine"
        shutil.copytree(out, pristine)
        timings: dict[str, list[float]] = {}
        results = {}
        methods = ("scratch", "dual", "after") if args.no_before else ("before", "scratch", "dual", "after")
        for _ in range(args.repeat):
            for method in methods:
                shutil.rmtree(out)
                shutil.copytree(pristine, out)
                with _method(method):
                    started = time.monotonic()
                    results[method] = protect_release(out, [], threshold=threshold)
                    timings.setdefault(method, []).append(time.monotonic() - started)
        result = results["after"]
        if args.correction:
            correction = _correction(root, frame, args, settings, out, methods)
    total = shown + hidden
    print(f"records {args.records:,}, seed {args.seed}, threshold {threshold}")
    print(f"suppression: {hidden:,} of {total:,} count figures withheld ({hidden / total:.1%}) by the report")
    print(f"  protect_release alone: ok={result.ok}, {result.further_suppressed} more withheld")
    for method, seconds in timings.items():
        same = (results[method].ok, results[method].further_suppressed) == (
            result.ok,
            result.further_suppressed,
        )
        print(
            f"  {method}: median {statistics.median(seconds):.1f} s over {len(seconds)} run(s) "
            f"({', '.join(f'{s:.1f}' for s in seconds)}){'' if same else ' (DIFFERENT RESULT)'}"
        )
    if args.correction:
        print(f"correction: {args.correction} late records of 2025-Q4, the year checked against version 1")
        for method, (seconds, outcome) in correction.items():
            print(
                f"  {method}: median {statistics.median(seconds):.1f} s over {len(seconds)} run(s) "
                f"({', '.join(f'{s:.1f}' for s in seconds)}); ok={outcome.ok}, "
                f"{outcome.further_suppressed} more withheld"
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


def _publish(frame: pd.DataFrame, out: Path, generated_at: datetime, settings: Settings) -> tuple[Path, int]:
    """The public files of 2025 from these records, in `out` (made here); and the threshold."""
    table = out.with_suffix(".parquet")
    synth.write_table(frame, table)
    report, threshold = builder.analyse_report(
        table_path=table,
        benchmark_path=default_benchmark_path(),
        period="2025",
        settings=settings,
        generated_at=generated_at,
    )
    out.mkdir()
    public = builder.public_report(report, threshold)
    builder.write_public_files(report, public, threshold, out, parse_period("2025", settings.timezone))
    return out, threshold


def _correction(root, frame, args, settings, first, methods):  # type: ignore[no-untyped-def]
    """Time the check of the year published again after late records, against its protected first version."""
    late = synth.generate(
        args.correction, seed=args.seed + 1, start=date(2025, 10, 1), end=date(2025, 12, 31)
    )
    late["engagement_id"] = [f"late-{n}" for n in range(len(late))]
    records = pd.concat([frame, late], ignore_index=True)
    folder, threshold = _publish(records, root / "2025-v2", datetime(2026, 3, 1, tzinfo=UTC), settings)
    pristine = root / "pristine-v2"
    shutil.copytree(folder, pristine)
    timings: dict[str, tuple[list[float], disclosure.DisclosureResult]] = {}
    for _ in range(args.repeat):
        for method in (m for m in methods if m in ("dual", "after")):
            shutil.rmtree(folder)
            shutil.copytree(pristine, folder)
            with _method(method):
                started = time.monotonic()
                outcome = protect_release(folder, [first], threshold=threshold)
                seconds = time.monotonic() - started
            timings.setdefault(method, ([], outcome))[0].append(seconds)
    return timings


@contextmanager
def _method(name: str):  # type: ignore[no-untyped-def]
    """`scratch`: each programme from nothing; `before`: that, and one programme per figure the first
    solutions do not clear, both ends; `dual`: the kept model solved by HiGHS's own choice of method,
    the dual simplex (the way until 2026-12-07). The old ways."""
    if name == "after":
        yield
        return
    if name == "dual":
        strategy, disclosure.SIMPLEX_STRATEGY = disclosure.SIMPLEX_STRATEGY, 0
        try:
            yield
        finally:
            disclosure.SIMPLEX_STRATEGY = strategy
        return
    sweep, bounds, solve = disclosure.Solver.sweep, disclosure.Solver.bounds, disclosure.Solver._solve
    disclosure.Solver._solve = _from_scratch  # type: ignore[method-assign]
    if name == "before":
        disclosure.Solver.sweep = lambda self, pending, rounds=0: list(pending)  # type: ignore[method-assign]
        disclosure.Solver.bounds = lambda self, i, exact=True: bounds(self, i, exact=True)  # type: ignore[method-assign]
    try:
        yield
    finally:
        disclosure.Solver.sweep, disclosure.Solver.bounds = sweep, bounds  # type: ignore[method-assign]
        disclosure.Solver._solve = solve  # type: ignore[method-assign]


def _from_scratch(
    self: disclosure.Solver, objective: np.ndarray, cap: float | None = None, *, anchored: bool = False
) -> disclosure._Solution:
    """One programme the way the check solved it until 2026-12-04: presolved and solved afresh."""
    has_ub, has_eq = self.a_ub.shape[0] > 0, self.a_eq.shape[0] > 0
    result = linprog(
        objective,
        A_ub=self.a_ub if has_ub else None,
        b_ub=self.b_ub if has_ub else None,
        A_eq=self.a_eq if has_eq else None,
        b_eq=self.b_eq if has_eq else None,
        bounds=(0, cap),
        method="highs-ds",
    )
    if result.status in (2, 3):
        return disclosure._Solution(result.status)
    if result.status != 0:
        raise RuntimeError(result.message)
    self.widen(result.x)
    duals = np.asarray(result.eqlin.marginals) if has_eq else np.zeros(0)
    return disclosure._Solution(0, float(result.fun), duals)


if __name__ == "__main__":
    main()
