"""Time the threshold test at 100k and 1M stops: counting in the engine, then the Bayesian fit.

    PYTHONPATH=src python benchmarks/threshold_fit.py --stops 100000 1000000 --chains 4 --samples 1000

For each size: a synthetic analytic table with planted thresholds (Black 0.20, everyone else 0.30),
written as Parquet in a temporary folder, read by the engine, counted (`counts.cell_counts`), then
fitted (`threshold.threshold_test`). The model is fitted to counts per division and group (16 x 9 cells
here), so the fit's time depends on the cells and the draws, not on the stops; the count's time grows
with the stops. Prints one line per size; `--json FILE` also writes them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from fairengage.analytics import engine as engines
from fairengage.analytics.counts import cell_counts
from fairengage.analytics.threshold import FitSettings, threshold_test
from fairengage.ingest import synth


def measure(stops: int, settings: FitSettings, engine: str, folder: Path) -> dict[str, Any]:
    effects = synth.PlantedEffects(plant_thresholds=True, thresholds={"Black": 0.20})
    path = folder / f"table_{stops}.parquet"
    synth.write_table(synth.generate(stops, seed=1, effects=effects), path)
    backend = engines.connect(engine)  # type: ignore[arg-type]
    try:
        started = time.perf_counter()
        cells = cell_counts(engines.load_table(backend, path))
        counted = time.perf_counter() - started
    finally:
        engines.disconnect(backend)
    started = time.perf_counter()
    fit = threshold_test(cells, settings=settings)
    fitted = time.perf_counter() - started
    city = {r["group"]: r for r in fit.thresholds if r["area"] == "ALL"}
    return {
        "stops": stops,
        "engine": engine,
        "count_seconds": round(counted, 2),
        "fit_seconds": round(fitted, 1),
        "chains": settings.chains,
        "samples": settings.samples,
        "max_r_hat": fit.diagnostics["max_r_hat"],
        "divergences": fit.diagnostics["divergences"],
        "Black": [round(city["Black"][k], 3) for k in ("threshold", "ci_low", "ci_high")],
        "White": [round(city["White"][k], 3) for k in ("threshold", "ci_low", "ci_high")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--samples", type=int, default=1000, help="warm-up and kept draws per chain")
    parser.add_argument("--engine", default="duckdb", choices=engines.ENGINES)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = FitSettings(chains=args.chains, warmup=args.samples, samples=args.samples)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for stops in args.stops:
            result = measure(stops, settings, args.engine, Path(folder))
            print(json.dumps(result), flush=True)
            results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
