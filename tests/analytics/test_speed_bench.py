"""The benchmark: its pandas baseline gives the same report as ``analyze``, and the runner's table and JSON.

The first test is the one that matters. The timing comparison is fair only if the baseline computes
the same figures, so it is checked here figure by figure on a table with planted effects. No test
asserts a time: timings belong to ``fairengage bench``, not to the suite.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fairengage import cli
from fairengage.analytics import engine, speed_bench
from fairengage.analytics.report import AnalysisParams, analyze
from fairengage.analytics.speed_baseline import ReferenceParams, reference_analyze
from fairengage.ingest.population import population_table
from fairengage.ingest.synth import PlantedEffects, generate, officers_roster, write_table

TZ = "America/Toronto"
EFFECTS = PlantedEffects(
    over_representation={"Black": 1.8}, biased_officers=3, daylight_effect=1.6, hit_rate={"Black": 0.15}
)
# Report.json rounds to 10 significant digits; the baseline does not round.
REL = 1e-9
# The veil-of-darkness fit: grouped counts (ours) against rows (the baseline), different solvers.
VEIL_REL = 1e-6
VEIL_FLOATS = {"coefficient", "odds_ratio", "ci_low", "ci_high", "p_value"}


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Ours (``report.analyze`` on DuckDB) and the baseline, on the same Parquet file and settings."""
    path = tmp_path_factory.mktemp("bench") / "engagements.parquet"
    write_table(generate(20_000, seed=11, officers=80, effects=EFFECTS), path)
    benchmark = population_table()
    backend = engine.connect("duckdb")
    try:
        params = AnalysisParams(
            notable_disproportionality=1.5,
            notable_disparity=1.5,
            officer_min_volume=20,
            generated_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        ours = analyze(
            engine.load_table(backend, path), benchmark, engine_name="duckdb", tz=TZ, params=params
        )
    finally:
        engine.disconnect(backend)
    reference = reference_analyze(path, benchmark, tz=TZ, params=ReferenceParams(officer_min_volume=20))
    return ours, reference


def assert_same(ours: Any, reference: Any, where: str, rel: float = REL) -> None:
    """Equal ints, strings, booleans and nulls; floats equal to ``rel``, relative."""
    if isinstance(ours, float) and isinstance(reference, float):
        assert math.isclose(ours, reference, rel_tol=rel, abs_tol=1e-12), (where, ours, reference)
    else:
        assert type(ours) is type(reference) and ours == reference, (where, ours, reference)


@pytest.mark.slow  # Both sides analyse a large synthetic table (the module's fixture).
@pytest.mark.parametrize(
    "section",
    [
        "disproportionality", "disparity", "outcome_test", "outcome_test_difference",
        "outcome_test_stratified", "compliance", "officers",
    ],
)  # fmt: skip
def test_the_baseline_gives_the_same_rows_as_analyze(both, section):
    ours, reference = both
    assert len(ours[section]) == len(reference[section]) > 0
    for i, (mine, theirs) in enumerate(zip(ours[section], reference[section], strict=True)):
        assert list(mine) == list(theirs), f"{section}[{i}]: columns"
        for key in mine:
            assert_same(mine[key], theirs[key], f"{section}[{i}].{key}")


@pytest.mark.slow  # Both sides analyse a large synthetic table (the module's fixture).
def test_the_baseline_gives_the_same_officer_review(both):
    ours, reference = both
    mine, theirs = ours["officer_review"], reference["officer_review"]
    assert mine["families"] == theirs["families"]
    assert mine["disagreements"] == theirs["disagreements"]
    assert len(mine["rows"]) == len(theirs["rows"]) > 0
    for i, (a, b) in enumerate(zip(mine["rows"], theirs["rows"], strict=True)):
        assert list(a) == list(b)
        for key in a:
            # The doubly robust figures come from two different fitting codes (ours in numpy,
            # statsmodels' IRLS): equal to 1e-6, relative.
            assert_same(a[key], b[key], f"officer_review.rows[{i}].{key}", rel=1e-6)


@pytest.mark.slow  # Both sides analyse a large synthetic table (the module's fixture).
def test_the_baseline_fits_the_same_veil_of_darkness_model_on_rows(both):
    ours, reference = both
    mine, theirs = ours["veil_of_darkness"], reference["veil_of_darkness"]
    assert mine["coefficient"] < 0  # the planted daylight effect: the comparison has substance
    for key in ("n", "group", "window", "dropped_ambiguous"):
        assert mine[key] == theirs[key], key
    for key in VEIL_FLOATS:
        assert_same(mine[key], theirs[key], f"veil_of_darkness.{key}", rel=VEIL_REL)


@pytest.mark.slow  # Both sides analyse a large synthetic table (the module's fixture).
def test_the_baseline_fits_the_same_robust_veil_rows_on_rows(both):
    ours, reference = both
    mine, theirs = ours["veil_of_darkness"], reference["veil_of_darkness"]
    estimates = ran_off = adjusted = 0

    def same_family(group: str) -> bool:
        """Whether both sides fitted the same divisions of the group: its Benjamini–Hochberg family."""
        fitted = [
            [row["area"] for row in side["by_division"] if row["group"] == group and row["coefficient"]]
            for side in (mine, theirs)
        ]
        return fitted[0] == fitted[1]

    for part in ("by_group", "sensitivity", "by_division"):
        assert len(mine[part]) == len(theirs[part]) > 0, part
        for i, (a, b) in enumerate(zip(mine[part], theirs[part], strict=True)):
            where = f"veil_of_darkness.{part}[{i}]"
            for key in ("specification", "area", "spline_df", "group", "reference", "n", "members"):
                assert a.get(key) == b.get(key), (where, key)
            if a["coefficient"] is None:
                # Only ours can tell that a fit did not settle (its two solvers parted).
                assert a["reason_code"] in (b["reason_code"], "not_settled"), where
                continue
            if b["coefficient"] is None:
                # statsmodels' full IRLS steps run off with a separated nuisance term, where ours
                # reaches the limit (test_veil_robust.py checks that limit against statsmodels).
                assert b["reason_code"] == "unstable", where
                ran_off += 1
                continue
            estimates += 1
            for key in ("coefficient", "std_error", "ci_low", "ci_high", "p_value"):
                # Grouped counts by our Newton steps, against statsmodels on one row per stop.
                assert_same(a[key], b[key], f"{where}.{key}", rel=VEIL_REL)
            if part == "by_division" and same_family(a["group"]):
                assert_same(a["p_adjusted"], b["p_adjusted"], f"{where}.p_adjusted", rel=VEIL_REL)
                assert a["notable"] == b["notable"], where
                adjusted += 1
    # On this table (20,000 stops, seed 11): 60 rows with figures on both sides, 44 where the row-level
    # fit ran off, 50 with no figure on either side, for the same reason but one (ours: not settled).
    assert estimates >= 40 and estimates > ran_off and adjusted > 0
    assert any(row["reason_code"] for row in theirs["by_division"])


@pytest.mark.slow  # Both sides analyse a large synthetic table (the module's fixture).
def test_the_compared_report_has_substance(both):
    ours, _ = both
    # Notable rows, a flagged officer and a lower hit rate: every branch of the figures is exercised.
    assert any(row["notable"] for row in ours["disproportionality"])
    assert any(row["flagged"] for row in ours["officers"])
    assert any(row["ci_low"] is None for row in ours["disparity"] if row["group"] != "White")


@pytest.mark.slow  # Runs the speed benchmark end to end on synthetic tables.
def test_the_bench_command_prints_a_table_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    result = CliRunner().invoke(cli.app, ["bench", "--rows", "2000", "--repeat", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2,000" in result.stdout and "ratio" in result.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    assert {"command", "engine", "repeat", "time", "memory", "machine", "results"} <= set(document)
    assert {"cpu_count", "python", "duckdb", "pandas"} <= set(document["machine"])
    assert document["command"].startswith("fairengage bench --rows 2000 --repeat 1")
    (size,) = document["results"]
    assert size["rows"] == 2000
    for side in ("ours", "reference"):
        assert size[side]["median_s"] > 0 and len(size[side]["runs_s"]) == 1
        assert size[side]["peak_rss_mb"] > 0
    assert isinstance(size["ratio"], float) and size["ratio"] > 0
    assert size["same_figures"] is True


@pytest.mark.slow  # Runs the speed benchmark end to end on synthetic tables.
def test_a_reference_run_past_the_cap_is_stopped_and_reported(tmp_path):
    # A cap far below a fresh process's start-up: the run is stopped, not waited for.
    results = speed_bench.run_benchmark([2000], repeat=1, time_cap=0.2, workdir=tmp_path)
    (size,) = results
    assert size.reference.skipped.startswith(speed_bench.SKIPPED_OVER_CAP)
    assert size.reference.seconds == [] and size.ratio() is None and size.same_figures() is None
    assert size.ours.median() > 0
    assert list(tmp_path.iterdir()) == []  # the synthetic table went with its temporary folder


@pytest.mark.slow  # Runs the speed benchmark end to end on synthetic tables.
def test_skip_reference_times_our_side_only(tmp_path):
    out = tmp_path / "results.json"
    args = ["bench", "--rows", "1000", "--repeat", "1", "--skip-reference", "--robust-veil"]
    args += ["--out", str(out)]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    (size,) = document["results"]
    assert size["ours"]["median_s"] > 0
    assert size["reference"]["median_s"] is None and size["ratio"] is None
    assert "--skip-reference" in size["reference"]["skipped"]
    # What was timed is said in the JSON and over the table.
    assert document["robust_veil"] is True and document["command"].endswith("--robust-veil")
    assert "robust veil" in " ".join(result.stdout.split())


@pytest.mark.slow  # Three timed runs, each in a fresh process, two of them with the robust veil's fits.
def test_the_robust_veil_is_fitted_on_both_sides_only_when_asked(tmp_path):
    path = tmp_path / "engagements.parquet"
    speed_bench.write_synthetic(4000, path)
    runs = {
        (kind, robust): speed_bench.timed_run(
            kind, path, engine_name="duckdb", tz=TZ, timeout=600, robust_veil=robust
        )["fingerprint"]
        for kind, robust in (("ours", False), ("ours", True), ("reference", True))
    }
    assert runs["ours", False]["veil_robust"] is None
    assert len(runs["ours", True]["veil_robust"]) == len(runs["reference", True]["veil_robust"]) > 0
    assert speed_bench.same_fingerprint(runs["ours", True], runs["reference", True])
    # A run with the robust rows is not the same work as one without.
    assert not speed_bench.same_fingerprint(runs["ours", True], runs["ours", False])
    assert runs["ours", True]["veil_coefficient"] == runs["ours", False]["veil_coefficient"]


def test_a_large_table_is_written_in_chunks_with_one_roster(tmp_path):
    path = tmp_path / "big.parquet"
    speed_bench.write_synthetic(2500, path, seed=4, chunk_rows=1000)
    file = pq.ParquetFile(path)
    assert file.metadata.num_rows == 2500 and file.metadata.num_row_groups == 3
    frame = file.read(columns=["engagement_id", "officer_key", "occurred_at"]).to_pandas()
    assert frame["engagement_id"].is_unique
    roster = {o.officer_key for o in officers_roster(speed_bench.OFFICERS, 4)}
    assert set(frame["officer_key"]) <= roster
    assert pd.api.types.is_datetime64_any_dtype(frame["occurred_at"])


@pytest.mark.parametrize("text", ["0", "12x", "1000,,2000", "-5"])
def test_bad_sizes_are_refused_in_one_line(text):
    result = CliRunner().invoke(cli.app, ["bench", "--rows", text])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: --rows:")


def test_fingerprints_differ_when_a_figure_differs():
    base = {
        "disproportionality_counts": [1, 2],
        "disparity_counts": [0],
        "compliance_counts": [3],
        "veil_n": 10,
        "veil_coefficient": -0.5,
        "officers": [("k1", 4, 0.01)],
    }
    assert speed_bench.same_fingerprint(base, dict(base))
    assert not speed_bench.same_fingerprint(base, {**base, "veil_coefficient": -0.5001})
    assert not speed_bench.same_fingerprint(base, {**base, "officers": [("k1", 5, 0.01)]})
    assert speed_bench.same_fingerprint(base, {**base, "veil_coefficient": -0.5 * (1 + 1e-9)})
    settled = (-0.4, None)
    robust = {**base, "veil_robust": [settled, (None, "few_cases"), (0.2, None)]}
    assert speed_bench.same_fingerprint(
        robust, {**robust, "veil_robust": [(-0.4 * (1 + 1e-9), None), (None, "few_cases"), (0.2, None)]}
    )
    # A row only one side could fit, for the one reason allowed each side: ours did not settle, the
    # reference's IRLS ran off. Any other reason, or a row too many, is not the same work.
    for mine, theirs, same in [
        ((None, "not_settled"), (0.2, None), True),
        ((0.2, None), (None, "unstable"), True),
        ((None, "few_cases"), (0.2, None), False),
        ((0.2, None), (None, "few_cases"), False),
        ((0.2, None), (0.2001, None), False),
        ((None, "not_settled"), (None, "unstable"), True),
        ((None, "few_times"), (None, "few_cases"), False),
    ]:
        pair = ({**base, "veil_robust": [settled, mine]}, {**base, "veil_robust": [settled, theirs]})
        assert speed_bench.same_fingerprint(*pair) is same, (mine, theirs)
    assert not speed_bench.same_fingerprint(robust, {**robust, "veil_robust": [settled]})
    assert not speed_bench.same_fingerprint(robust, {**robust, "veil_robust": None})


def test_sizes_accept_underscores_and_lists():
    assert speed_bench.parse_rows("1_000_000, 3000000") == [1_000_000, 3_000_000]
