"""`fairengage bench`: how long the full analysis takes, and how much memory, against a plain pandas baseline.

For each table size the runner writes a synthetic analytic table to Parquet (untimed), then times two
ways of computing the same report.json sections from that file: ours (``engine.load_table`` and
``report.analyze`` on DuckDB, or Spark) and the baseline of ``speed_baseline.py`` (pandas, statsmodels).
Every timed run happens in a fresh process started with multiprocessing's ``spawn`` context, so that one
run's memory and caches cannot help the next; the process imports its libraries before the clock
starts, and reports its wall time and its peak resident set size (VmHWM, read in the process when the
run ends). The table shows the median of the repeats and the largest peak.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import queue
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fairengage.console import err, fail
from fairengage.console import out as console
from fairengage.progress import NO_PROGRESS, Lines, Progress

DEFAULT_ROWS = "1000000,3000000"
LARGE_ROWS = 10_000_000
# Tables above this are generated and written a chunk at a time, so memory stays bounded at any size.
CHUNK_ROWS = 5_000_000
SEED = 0
OFFICERS = 400
# The baseline is not run where one run would take longer than this, or where its memory, projected
# from what it used at a smaller size, would not fit in the memory available.
TIME_CAP_SECONDS = 20 * 60
MEMORY_SHARE = 0.85
# Before a large run has been measured: the baseline's memory per row above what its imports take
# (measured at 3M rows: ~2.6 kB, most of it the row-level design matrix of the veil-of-darkness fit and
# its copies in the solver). Runs of fewer rows than PROJECTION_MIN_ROWS do not update the projection:
# there start-up and imports, not the rows, decide the time and memory.
PRIOR_BYTES_PER_ROW = 3000
PROJECTION_MIN_ROWS = 500_000
MEMORY_METHOD = (
    "peak resident set size of a fresh process per run (multiprocessing spawn context), read in that "
    "process at the end of the run: VmHWM of /proc/self/status on Linux (getrusage ru_maxrss elsewhere); "
    "imports included"
)
SKIPPED_OVER_CAP = "skipped (over cap)"
# The veil's robust rows, in the order both sides give them.
ROBUST_PARTS = ("by_group", "sensitivity", "by_division")


class Engine(StrEnum):
    """The engines our side of the benchmark runs on."""

    duckdb = "duckdb"
    spark = "spark"


@dataclass
class Side:
    """The timed runs of one side (ours or the reference) at one size."""

    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    baseline_rss_mb: list[float | None] = field(default_factory=list)
    fingerprint: dict[str, Any] | None = None
    skipped: str | None = None

    def median(self) -> float | None:
        """Median wall time of the runs, in seconds; None if the side was not run."""
        return statistics.median(self.seconds) if self.seconds else None

    def peak(self) -> float | None:
        """The largest peak RSS over the runs, in MB; None if the side was not run."""
        return max(self.peak_rss_mb) if self.peak_rss_mb else None

    def as_json(self) -> dict[str, Any]:
        """The side as it goes into the JSON results."""
        return {
            "median_s": _round(self.median()),
            "runs_s": [_round(s) for s in self.seconds],
            "peak_rss_mb": _round(self.peak()),
            "runs_peak_rss_mb": [_round(m) for m in self.peak_rss_mb],
            "runs_baseline_rss_mb": [_round(m) for m in self.baseline_rss_mb],
            "skipped": self.skipped,
        }


@dataclass
class SizeResult:
    """Both sides at one table size."""

    rows: int
    generate_s: float
    parquet_mb: float
    ours: Side
    reference: Side

    def ratio(self) -> float | None:
        """Reference median over ours: how many times faster ours is."""
        ours, reference = self.ours.median(), self.reference.median()
        return reference / ours if ours and reference else None

    def same_figures(self) -> bool | None:
        """Whether both sides gave the same key figures (None when the reference did not run)."""
        if self.ours.fingerprint is None or self.reference.fingerprint is None:
            return None
        return same_fingerprint(self.ours.fingerprint, self.reference.fingerprint)

    def as_json(self) -> dict[str, Any]:
        """The size's results as they go into the JSON file."""
        return {
            "rows": self.rows,
            "generate_s": _round(self.generate_s),
            "parquet_mb": _round(self.parquet_mb),
            "ours": self.ours.as_json(),
            "reference": self.reference.as_json(),
            "ratio": _round(self.ratio()),
            "same_figures": self.same_figures(),
        }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def parse_rows(text: str) -> list[int]:
    """Table sizes from ``1000000,3000000`` (underscores allowed); each a whole number above 0."""
    sizes = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"--rows: {part!r} is not a whole number of rows above 0")
        sizes.append(int(part))
    return sizes


# --- the synthetic table ---------------------------------------------------------------------------


def write_synthetic(rows: int, path: Path, *, seed: int = SEED, chunk_rows: int = CHUNK_ROWS) -> None:
    """Write ``rows`` synthetic engagements to Parquet, ``chunk_rows`` at a time (one row group each)."""
    # Deferred, as in every command module: `fairengage --help` loads none of the analytics stack.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fairengage.ingest.synth import generate, officers_roster

    roster = [o.officer_key for o in officers_roster(OFFICERS, seed)]
    writer = None
    try:
        for index, start in enumerate(range(0, rows, chunk_rows)):
            chunk_seed = seed + index
            # One person per encounter, as the table has always been timed: the speed figures stay
            # comparable across releases, and both sides fit the same well-posed veil sample.
            frame = generate(
                min(chunk_rows, rows - start), seed=chunk_seed, officers=OFFICERS, group_share=0.0
            )
            if chunk_seed != seed:
                # Each chunk has its own seed (its own draws and engagement ids); its officers are
                # renamed to the first chunk's, so the whole table has one roster of OFFICERS officers.
                keys = [o.officer_key for o in officers_roster(OFFICERS, chunk_seed)]
                frame["officer_key"] = frame["officer_key"].map(dict(zip(keys, roster, strict=True)))
            table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table.cast(writer.schema))
            del frame, table
    finally:
        if writer is not None:
            writer.close()


# --- the timed runs, each in a fresh process -------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (VmHWM on Linux; ru_maxrss elsewhere)."""
    # Not ru_maxrss on Linux: a spawned process is forked before it execs Python, and Linux carries the
    # forked copy's high-water mark (the parent's size) across exec into ru_maxrss. VmHWM belongs to
    # the process's own address space, so it counts only what the run itself used.
    peak = _proc_status_mb("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def rss_mb() -> float | None:
    """This process's resident set size now, in MB (Linux); None where /proc is not there."""
    return _proc_status_mb("VmRSS")


def _proc_status_mb(field_name: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _run_ours(path: str, engine_name: str, tz: str, robust_veil: bool) -> dict[str, Any]:
    # Imported in the spawned process, before the clock: each side loads only its own libraries, so
    # the peak memory it reports is its own.
    import ibis

    from fairengage.analytics import engine, officers, report, veil  # noqa: F401  (imported before the clock)
    from fairengage.ingest.population import population_table

    benchmark = population_table()
    getattr(ibis, "duckdb" if engine_name == "duckdb" else "pyspark")  # the backend's import, untimed
    baseline = rss_mb()
    started = time.perf_counter()
    backend = engine.connect(engine_name)
    try:
        table = engine.load_table(backend, path)
        # The veil's robust specifications only when asked, on both sides: the reference's fits on rows
        # take minutes at a few million rows, and the default compares the rest of the report.
        params = report.AnalysisParams(veil_robust=robust_veil)
        result = report.analyze(table, benchmark, engine_name=engine_name, tz=tz, params=params)
    finally:
        engine.disconnect(backend)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "baseline_rss_mb": baseline, "fingerprint": fingerprint(result)}


def _run_reference(path: str, engine_name: str, tz: str, robust_veil: bool) -> dict[str, Any]:
    # In the spawned process, as in _run_ours: the baseline's memory is the baseline's alone.
    from fairengage.analytics import speed_baseline
    from fairengage.ingest.population import population_table

    benchmark = population_table()
    baseline = rss_mb()
    started = time.perf_counter()
    params = speed_baseline.ReferenceParams(veil_robust=robust_veil)
    result = speed_baseline.reference_analyze(path, benchmark, tz=tz, params=params)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "baseline_rss_mb": baseline, "fingerprint": fingerprint(result)}


_RUNNERS = {"ours": _run_ours, "reference": _run_reference}


def _child(kind: str, path: str, engine_name: str, tz: str, robust_veil: bool, answers: Any) -> None:
    """One timed run in a spawned process; puts its seconds, peak RSS and fingerprint on the queue."""
    # A fit on a small table can overflow on its way to convergence: the figures are checked, not the noise.
    warnings.simplefilter("ignore")
    try:
        answer = _RUNNERS[kind](path, engine_name, tz, robust_veil)
        answer["peak_rss_mb"] = peak_rss_mb()
        answers.put(answer)
    except BaseException as exc:  # reported to the parent, which stops the benchmark
        answers.put({"error": f"{type(exc).__name__}: {exc}"})


class RunTimedOut(Exception):
    """A timed run went past its time cap and was stopped."""


def timed_run(
    kind: str, path: Path, *, engine_name: str, tz: str, timeout: float, robust_veil: bool = False
) -> dict[str, Any]:
    """Run one side once in a fresh spawned process: ``seconds``, ``peak_rss_mb``, ``fingerprint``.

    ``robust_veil``: the side fits the veil's robust specifications too, as ``analyze`` does by default.
    """
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    arguments = (kind, str(path), engine_name, tz, robust_veil, answers)
    process = context.Process(target=_child, args=arguments, daemon=True)
    process.start()
    started = time.monotonic()
    answer: dict[str, Any] | None = None
    while answer is None:
        try:
            answer = answers.get(timeout=1.0)
        except queue.Empty:
            if time.monotonic() - started > timeout:
                _stop(process)
                raise RunTimedOut(f"{kind} took longer than {timeout:.0f} s") from None
            if not process.is_alive() and answers.empty():
                # Ended without an answer: killed from outside, most often by the kernel for want of memory.
                process.join()
                raise RuntimeError(
                    f"{kind} run ended without a result (exit code {process.exitcode})"
                ) from None
    process.join(timeout=60)
    _stop(process)
    if "error" in answer:
        raise RuntimeError(f"{kind} run failed: {answer['error']}")
    return answer


def _stop(process: Any) -> None:
    """Stop a run's process if it is still there (this one process, by its handle) and reap it."""
    if process.is_alive():
        process.terminate()
    process.join()


def fingerprint(result: dict[str, Any]) -> dict[str, Any]:
    """A few figures of a report that both sides must agree on, to show they did the same work."""
    veil = result.get("veil_of_darkness") or {}
    return {
        "disproportionality_counts": [row["count"] for row in result["disproportionality"]],
        "disparity_counts": [row["count"] for row in result["disparity"]],
        "compliance_counts": [row["count"] for row in result["compliance"]],
        "veil_n": veil.get("n"),
        "veil_coefficient": veil.get("coefficient"),
        # The robust rows' darkness coefficients and reason codes (a row has one or the other), or None
        # where the robust specifications were not fitted.
        "veil_robust": (
            [(row["coefficient"], row["reason_code"]) for part in ROBUST_PARTS for row in veil[part]]
            if "by_group" in veil
            else None
        ),
        "officers": [(r["officer_key"], r["observed"], r["p_value"]) for r in result["officers"] or []],
        "outcome_differences": [
            (r["area"], r["group"], r["difference"]) for r in result.get("outcome_test_difference") or []
        ],
        "review_flags": [
            (r["officer_key"], r["group"], r["measure"], r["flagged"], r["dr_flagged"])
            for r in (result.get("officer_review") or {}).get("rows") or []
        ],
    }


def same_fingerprint(ours: dict[str, Any], reference: dict[str, Any]) -> bool:
    """Equal counts and keys; the veil coefficient and p-values equal to 1e-6 relative."""

    def close(a: float | None, b: float | None) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)

    plain = ("disproportionality_counts", "disparity_counts", "compliance_counts", "veil_n")
    if any(ours[key] != reference[key] for key in plain):
        return False
    if not close(ours["veil_coefficient"], reference["veil_coefficient"]):
        return False
    if len(ours["officers"]) != len(reference["officers"]):
        return False
    if not _same_robust_rows(ours.get("veil_robust"), reference.get("veil_robust"), close):
        return False
    if ours.get("review_flags") != reference.get("review_flags"):
        return False
    differences = ours.get("outcome_differences") or [], reference.get("outcome_differences") or []
    if len(differences[0]) != len(differences[1]) or not all(
        a[:2] == b[:2] and close(a[2], b[2]) for a, b in zip(*differences, strict=True)
    ):
        return False
    return all(
        a[0] == b[0] and a[1] == b[1] and close(a[2], b[2])
        for a, b in zip(ours["officers"], reference["officers"], strict=True)
    )


def _same_robust_rows(ours: list | None, reference: list | None, close: Callable[..., bool]) -> bool:
    """The same robust rows: equal coefficients where both sides give one, else the reasons allowed.

    Either side may give no figure where the other gives one, each for one reason only: ours where
    its two solvers part (``not_settled``), which statsmodels' single fit cannot tell; the reference
    where its IRLS, taking full steps, runs off with a separated nuisance term (``unstable``), whose
    limit ours reaches. Where neither gives one, the reasons are the same.
    """
    if ours is None or reference is None:
        return ours is None and reference is None
    if len(ours) != len(reference):
        return False
    for (mine, my_reason), (theirs, their_reason) in zip(ours, reference, strict=True):
        if mine is not None and theirs is not None:
            agree = close(mine, theirs)
        elif mine is None and theirs is None:
            agree = my_reason in (their_reason, "not_settled")
        else:
            agree = my_reason == "not_settled" if mine is None else their_reason == "unstable"
        if not agree:
            return False
    return True


# --- the benchmark ---------------------------------------------------------------------------------


def available_memory_bytes() -> int | None:
    """Memory available to a new process (Linux MemAvailable); None where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def machine_facts() -> dict[str, Any]:
    """CPU count, Python and library versions, and memory: what a reader needs to compare figures."""
    # Imported for their versions only, in the parent once the runs are done (the children time theirs).
    import duckdb
    import ibis
    import pandas as pd
    import statsmodels

    from fairengage import __version__

    memory = available_memory_bytes()
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "ibis": ibis.__version__,
        "statsmodels": statsmodels.__version__,
        "fairengage": __version__,
        "memory_available_mb": None if memory is None else round(memory / 2**20),
    }


def run_benchmark(
    sizes: list[int],
    *,
    repeat: int,
    engine_name: str = "duckdb",
    tz: str = "America/Toronto",
    skip_reference: bool = False,
    robust_veil: bool = False,
    time_cap: float = TIME_CAP_SECONDS,
    workdir: Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[SizeResult]:
    """Time ours and the reference ``repeat`` times at each size, on one synthetic table per size."""
    say = progress.phase
    results: list[SizeResult] = []
    bytes_per_row = float(PRIOR_BYTES_PER_ROW)
    seconds_per_row: float | None = None
    with tempfile.TemporaryDirectory(prefix="fairengage-bench-", dir=workdir) as folder:
        for rows in sizes:
            path = Path(folder) / f"engagements-{rows}.parquet"
            say(f"{rows:,} rows: writing the synthetic table")
            started = time.perf_counter()
            _in_fresh_process(write_synthetic, rows, path)
            generated = time.perf_counter() - started
            ours = Side()
            for run in range(repeat):
                # No cap on our side: it streams the file, and a long run is the result to report.
                answer = timed_run(
                    "ours", path, engine_name=engine_name, tz=tz, timeout=math.inf, robust_veil=robust_veil
                )
                _record(ours, answer)
                say(f"{rows:,} rows: ours, run {run + 1}/{repeat}: {answer['seconds']:.2f} s")
            reference = Side()
            if skip_reference:
                reference.skipped = "skipped (--skip-reference)"
            else:
                reason = _over_cap(rows, bytes_per_row, seconds_per_row, time_cap)
                if reason:
                    reference.skipped = f"{SKIPPED_OVER_CAP}: {reason}"
                for run in range(0 if reason else repeat):
                    try:
                        answer = timed_run("reference", path, engine_name=engine_name, tz=tz,
                                           timeout=time_cap, robust_veil=robust_veil)  # fmt: skip
                    except RunTimedOut:
                        reference.skipped = f"{SKIPPED_OVER_CAP}: a run took over {time_cap / 60:g} min"
                        break
                    _record(reference, answer)
                    if rows >= PROJECTION_MIN_ROWS:
                        above = answer["peak_rss_mb"] - (answer["baseline_rss_mb"] or 0.0)
                        bytes_per_row = max(above, 0.0) * 2**20 / rows
                        seconds_per_row = answer["seconds"] / rows
                    say(f"{rows:,} rows: reference, run {run + 1}/{repeat}: {answer['seconds']:.2f} s")
            if reference.skipped:
                say(f"{rows:,} rows: reference {reference.skipped}")
            results.append(SizeResult(rows, generated, path.stat().st_size / 2**20, ours, reference))
            path.unlink()
    return results


def _in_fresh_process(function: Callable[..., None], *args: Any) -> None:
    """Run ``function(*args)`` in a spawned process, so the memory it takes is given back when it ends."""
    process = multiprocessing.get_context("spawn").Process(target=function, args=args)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"writing the synthetic table failed (exit code {process.exitcode})")


def _record(side: Side, answer: dict[str, Any]) -> None:
    side.seconds.append(answer["seconds"])
    side.peak_rss_mb.append(answer["peak_rss_mb"])
    side.baseline_rss_mb.append(answer["baseline_rss_mb"])
    side.fingerprint = answer["fingerprint"]


def _over_cap(rows: int, bytes_per_row: float, seconds_per_row: float | None, time_cap: float) -> str | None:
    """Why the reference cannot run at this size, projected from its last runs; None if it can."""
    available = available_memory_bytes()
    needed = rows * bytes_per_row
    if available is not None and needed > MEMORY_SHARE * available:
        return f"needs about {needed / 2**30:.0f} GB, {available / 2**30:.0f} GB available"
    if seconds_per_row is not None and rows * seconds_per_row > time_cap:
        return f"one run would take about {rows * seconds_per_row / 60:.0f} min (cap {time_cap / 60:g} min)"
    return None


def results_json(
    results: list[SizeResult], *, command: str, engine_name: str, repeat: int, robust_veil: bool = False
) -> dict[str, Any]:
    """Everything the table shows, with each run's figures and the machine's facts."""
    return {
        "command": command,
        "engine": engine_name,
        "repeat": repeat,
        "robust_veil": robust_veil,
        "time": "median wall time of the repeats, from before connecting (ours) or reading (reference) "
        "to the finished report; imports excluded",
        "memory": MEMORY_METHOD,
        "machine": machine_facts(),
        "results": [r.as_json() for r in results],
    }


def results_table(results: list[SizeResult], *, engine_name: str, robust_veil: bool = False) -> Any:
    """The rich table: rows, medians, ratio, peak memory of each side, and whether the figures agree."""
    # Deferred, as in every command module: only a finished run prints a table.
    from rich.table import Table

    title = f"fairengage analyze ({engine_name}) against pandas + statsmodels"
    if robust_veil:
        title += " (both sides also fit the robust veil of darkness)"
    table = Table(title=title)
    for heading in TABLE_HEADINGS:
        table.add_column(heading, justify="left" if heading == "same figures" else "right", no_wrap=True)
    for result in results:
        ratio = result.ratio()
        same = result.same_figures()
        skipped = result.reference.skipped
        table.add_row(
            f"{result.rows:,}",
            f"{result.ours.median():.2f}",
            f"{result.reference.median():.2f}" if result.reference.seconds else (_short(skipped)),
            f"{ratio:.1f}x" if ratio else "-",
            f"{result.ours.peak():,.0f}",
            f"{result.reference.peak():,.0f}" if result.reference.seconds else "-",
            "-" if same is None else ("yes" if same else "NO"),
        )
    return table


TABLE_HEADINGS = ("rows", "ours median (s)", "reference median (s)", "ratio", "our peak RSS (MB)",
                  "reference peak RSS (MB)", "same figures")  # fmt: skip
# Wide enough for every heading on one line, also when the output is not a terminal (80 columns).
TABLE_WIDTH = 140


def _short(skipped: str | None) -> str:
    if skipped and skipped.startswith(SKIPPED_OVER_CAP):
        return SKIPPED_OVER_CAP
    return "skipped" if skipped else "-"


def bench_command(
    rows: Annotated[
        str, typer.Option(help="table sizes to run, comma-separated, e.g. 1000000,3000000")
    ] = DEFAULT_ROWS,
    large: Annotated[bool, typer.Option("--large", help="also run 10,000,000 rows")] = False,
    repeat: Annotated[int, typer.Option(min=1, help="timed runs per side and size; the median is shown")] = 3,
    engine: Annotated[Engine, typer.Option(help="the engine our side runs on")] = Engine.duckdb,
    skip_reference: Annotated[
        bool, typer.Option("--skip-reference", help="time our side only (for sizes the baseline cannot hold)")
    ] = False,
    robust_veil: Annotated[
        bool,
        typer.Option(
            "--robust-veil",
            help="both sides also fit the veil's robust specifications, as analyze does (the "
            "reference on rows: minutes at a million rows)",
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="also write the results as JSON here")] = None,
) -> None:
    """Time `analyze` against a plain pandas + statsmodels baseline on synthetic tables, and print a table."""
    # The command's own dependencies, loaded when it runs (as in every command module).
    from rich.console import Console

    from fairengage.config import get_settings

    try:
        sizes = parse_rows(rows)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if large and LARGE_ROWS not in sizes:
        sizes.append(LARGE_ROWS)
    command = "fairengage bench --rows " + ",".join(str(s) for s in sizes) + f" --repeat {repeat}"
    command += f" --engine {engine.value}" + (" --skip-reference" if skip_reference else "")
    command += " --robust-veil" if robust_veil else ""

    def say(message: str) -> None:
        err.print(message, markup=False, highlight=False, soft_wrap=True)

    try:
        results = run_benchmark(
            sizes,
            repeat=repeat,
            engine_name=engine.value,
            tz=get_settings().timezone,
            skip_reference=skip_reference,
            robust_veil=robust_veil,
            progress=Lines(say),
        )
    except (RuntimeError, OSError) as exc:
        raise fail(str(exc)) from None
    # A console of its own, wide enough for the table when the output is a file or a narrow terminal.
    wide = Console(width=max(console.width, TABLE_WIDTH))
    wide.print(results_table(results, engine_name=engine.value, robust_veil=robust_veil))
    if out is not None:
        document = results_json(
            results, command=command, engine_name=engine.value, repeat=repeat, robust_veil=robust_veil
        )
        try:
            out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise fail(f"{out}: {exc.strerror or exc}") from None
        console.print(f"wrote {out}", markup=False, highlight=False)
