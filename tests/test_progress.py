"""Long commands say how far they are when their output is not a terminal."""

from __future__ import annotations

import io
import threading
import time

from fairengage.analytics import report
from fairengage.progress import PlainProgress


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
        step("starting duckdb")
        step("disparity")
    assert stream.getvalue().splitlines()[1].startswith("analyze: step 2 of 3, disparity (")


def test_the_report_hook_names_each_step_once():
    stream = io.StringIO()
    with PlainProgress("report", stream=stream, interval=60, quiet=0) as progress:
        progress.update(0, 4, "reading")
        progress.update(1, 4, "reading")
        progress.update(3, 4, "writing PDF")
        progress.update(4, 4, "writing PDF")
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "report: step 1 of 4, reading",
        "report: step 4 of 4, writing PDF",
    ]


def test_analyze_names_as_many_steps_as_it_announces(tmp_path):
    # "step N of M" is only true if report.STEPS matches the steps the analysis takes.
    from fairengage.analytics import engine as engines
    from fairengage.analytics.population_benchmarks import default_benchmark_path
    from fairengage.analytics.population_benchmarks.frame import read_benchmark
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
            progress=seen.append,
        )
    finally:
        engines.disconnect(backend)
    assert len(seen) == report.STEPS, seen
