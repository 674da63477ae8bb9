"""Time how long the command line takes to start: the median of whole-process runs, beside `python -c pass`.

    PYTHONPATH=src python benchmarks/cli_startup.py [--runs 5] [--before OTHER/src] [--json]

Each command runs as its own process, as a person would type it, so the figure includes the interpreter,
the imports and the help text. `python -c pass` runs in the same loop, so a busy machine shows in the
baseline too. `--before` times the same commands with another checkout's `src` on PYTHONPATH (for
instance a worktree of the previous commit), interleaved with this one, so both meet the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess  # nosec B404 # runs this interpreter on fixed arguments, to time it
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "fairengage --help": ["-m", "fairengage.cli", "--help"],
    "fairengage audit verify --help": ["-m", "fairengage.cli", "audit", "verify", "--help"],
}


def _once(args: list[str], src: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "100"}
    started = time.perf_counter()
    # The arguments are fixed above; the output is thrown away, only the time matters.
    subprocess.run(  # noqa: S603  # nosec B603 # this interpreter, fixed arguments
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def measure(runs: int, sources: dict[str, Path]) -> dict[str, dict[str, float]]:
    """Median seconds per (source, command), runs interleaved so load affects every command alike."""
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        for label, src in sources.items():
            for name, args in COMMANDS.items():
                times.setdefault((label, name), []).append(_once(args, src))
    result: dict[str, dict[str, float]] = {}
    for (label, name), values in times.items():
        result.setdefault(label, {})[name] = round(statistics.median(values), 3)
    return result


def main() -> None:
    """Parse the options, measure, print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per command (the median is kept)")
    parser.add_argument("--before", type=Path, help="another checkout's src folder, timed alongside")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options = parser.parse_args()
    sources = {"now": SRC}
    if options.before is not None:
        sources = {"before": options.before.resolve(), **sources}
    figures = measure(options.runs, sources)
    if options.json:
        print(json.dumps({"runs": options.runs, "median_seconds": figures}, indent=2))
        return
    print(f"median of {options.runs} runs, seconds")
    print(f"{'command':34}" + "".join(f"{label:>10}" for label in figures))
    for name in COMMANDS:
        print(f"{name:34}" + "".join(f"{figures[label][name]:>10.3f}" for label in figures))


if __name__ == "__main__":
    main()
