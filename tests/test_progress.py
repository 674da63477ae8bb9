"""Long commands say how far they are when their output is not a terminal."""

from __future__ import annotations

import io
import threading
import time

from fairengage.analytics import report
from fairengage.progress import NO_PROGRESS, Lines, PlainProgress, shown


def test_a_long_phase_prints_every_interval_with_what_remains():
    stream = io.StringIO()
    heartbeat = "extract: writing t.parquet: 1,200,000 of 3,000,000 rows, 40 %"

    def said() -> list[str]:
        return [line for line in stream.getvalue().splitlines() if line.startswith(heartbeat)]

    with PlainProgress("extract", stream=stream, interval=0.05) as progress:
        progress.phase("writing t.parquet", 3_000_000)
        progress.advance(1_200_000)
        # Waits for the behaviour (the heartbeat repeats while the phase runs), however busy the machine:
        # the deadline only stops a broken heartbeat from hanging the suite.
        deadline = time.monotonic() + 60
        while len(said()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        progress.phase("checking", None)
    lines = stream.getvalue().splitlines()
    assert len(said()) >= 2, lines
    assert lines[-1].startswith("extract: checking ("), lines  # past the quiet start, a new phase at once
    assert not [t for t in threading.enumerate() if t.name == "extract-progress"]  # stopped on exit


def test_a_quick_job_prints_nothing_but_its_result():
    stream = io.StringIO()
    with PlainProgress("import", stream=stream, interval=60) as progress:
        progress.phase("checking stops.csv", 10)
        progress.advance(10)
    assert stream.getvalue() == ""


def test_steps_count_towards_the_total():
    stream = io.StringIO()
    with PlainProgress("analyze", stream=stream, interval=60, steps=3, quiet=0) as step:
        step.phase("starting duckdb")
        step.phase("disparity")
    assert stream.getvalue().splitlines()[1].startswith("analyze: step 2 of 3, disparity (")


def test_each_phase_of_a_job_of_steps_is_the_next_step_and_never_past_the_last():
    stream = io.StringIO()
    with PlainProgress("report", stream=stream, interval=60, quiet=0, steps=3) as progress:
        for name in ("reading", "counting", "writing PDF", "checking"):
            progress.phase(name)
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "report: step 1 of 3, reading",
        "report: step 2 of 3, counting",
        "report: step 3 of 3, writing PDF",
        "report: step 3 of 3, checking",
    ]


def test_phases_without_steps_name_no_step():
    stream = io.StringIO()
    with PlainProgress("import", stream=stream, interval=60, quiet=0) as progress:
        progress.phase("checking a.csv", 4)
        progress.phase("loading a.csv", 4)
    assert [line.split(" (")[0] for line in stream.getvalue().splitlines()] == [
        "import: checking a.csv: 0 of 4 rows, 0 %",
        "import: loading a.csv: 0 of 4 rows, 0 %",
    ]


def test_off_a_terminal_a_job_is_shown_as_lines_and_lines_print_each_phase():
    class NotATerminal:
        is_terminal = False

    with shown("extract", NotATerminal()) as progress:
        assert isinstance(progress, PlainProgress)
    said: list[str] = []
    Lines(said.append).phase("ours, run 1/3: 2.00 s", None)
    NO_PROGRESS.phase("nowhere", 3)
    NO_PROGRESS.advance(3)
    assert said == ["ours, run 1/3: 2.00 s"]


def test_analyze_names_as_many_steps_as_it_announces(tmp_path):
    # "step N of M" is only true if report.STEPS matches the steps the analysis takes.
    from fairengage.analytics import engine as engines
    from fairengage.analytics.population_benchmarks import default_benchmark_path
    from fairengage.analytics.population_benchmarks.frame import read_benchmark
    from fairengage.analytics.report import AnalysisParams
    from fairengage.ingest import synth

    path = tmp_path / "t.parquet"
    synth.write_table(synth.generate(300, seed=1), path)
    backend = engines.connect("duckdb")
    seen: list[str] = []
    try:
        report.analyze(
            engines.load_table(backend, path),
            read_benchmark(default_benchmark_path()),
            engine_name="duckdb",
            tz="America/Toronto",
            # The robust veil's fits run inside the veil's step: without them the steps are the same.
            params=AnalysisParams(veil_robust=False),
            progress=Lines(seen.append),
        )
    finally:
        engines.disconnect(backend)
    assert len(seen) == report.STEPS, seen
