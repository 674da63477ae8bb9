"""DuckDB and Spark give the same report on the same input: same keys, same counts, same figures.

One Spark session serves the module, on a small synthetic table (a few thousand rows), to keep the
JVM's start-up the main cost.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import pytest

import components
from fairengage.analytics import engine
from fairengage.analytics.engine import AnalyticsInputError
from fairengage.analytics.report import AnalysisParams, analyze
from fairengage.ingest import population
from fairengage.ingest.synth import PlantedEffects, generate, write_table

# Starts Spark (a JVM) for the module.
pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning"),
    pytest.mark.slow,
]

EFFECTS = PlantedEffects(over_representation={"Black": 1.8}, biased_officers=3, hit_rate={"Black": 0.15})
PARAMS = AnalysisParams(generated_at=datetime(2026, 1, 1, tzinfo=UTC), officer_min_volume=10)
TZ = "America/Toronto"


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    if importlib.util.find_spec("pyspark") is None:
        components.missing("pyspark", "pip install -e '.[spark]'")
    backend = engine.connect("spark")
    yield backend
    engine.disconnect(backend)


@pytest.fixture(scope="module")
def files(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("engines")
    frame = generate(3000, seed=13, officers=60, effects=EFFECTS)
    paths = {suffix: folder / f"engagements{suffix}" for suffix in (".parquet", ".csv")}
    for path in paths.values():
        write_table(frame, path)
    return paths


def assert_same(left, right, where="report"):  # type: ignore[no-untyped-def]
    """Same structure, equal ints, strings and booleans, floats equal to 1e-9 relative."""
    if isinstance(left, dict):
        assert isinstance(right, dict) and list(left) == list(right), where
        for key in left:
            assert_same(left[key], right[key], f"{where}.{key}")
    elif isinstance(left, list):
        assert isinstance(right, list) and len(left) == len(right), where
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(left, float) and isinstance(right, float):
        assert right == pytest.approx(left, rel=1e-9), where
    else:
        assert type(left) is type(right) and left == right, where


def test_duckdb_and_spark_give_the_same_report(spark, files):
    bench = population.population_table()
    duck = engine.connect("duckdb")
    expected = analyze(
        engine.load_table(duck, files[".parquet"]), bench, engine_name="x", tz=TZ, params=PARAMS
    )
    # Spark reads the CSV: the text-casting path must land on the same types as DuckDB's Parquet.
    got = analyze(engine.load_table(spark, files[".csv"]), bench, engine_name="x", tz=TZ, params=PARAMS)
    assert expected["meta"]["rows"] == 3000
    assert any(r["notable"] for r in expected["disproportionality"])  # the comparison has substance
    # ... and so do the engine counts behind the newer analyses: hit-rate differences, the
    # Mantel-Haenszel inputs and the officer review's counts by officer, division, hour and group.
    assert any(r["difference"] is not None for r in expected["outcome_test_difference"])
    assert any(r["difference"] is not None for r in expected["outcome_test_stratified"])
    assert sum(f["tests"] for f in expected["officer_review"]["families"]) > 0
    assert_same(expected, got)


def test_spark_names_a_bad_cell_like_duckdb(spark, tmp_path):
    frame = generate(20, seed=2)
    path = tmp_path / "bad.csv"
    write_table(frame, path)
    text = path.read_text().splitlines()
    text[3] = text[3].replace(",true,", ",sometimes,", 1)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(
        AnalyticsInputError, match=r"bad\.csv: column '\w+': 'sometimes' is not true or false"
    ):
        engine.load_table(spark, path)


def test_threshold_test_counts_are_the_same_on_both(spark, tmp_path):
    # The threshold model's inputs (stops, searches, hits by division and group) come from the engine:
    # planted thresholds make searches depend on group and division, so the comparison has substance.
    from fairengage.analytics.counts import cell_counts
    from fairengage.analytics.threshold import model_cells

    path = tmp_path / "planted.csv"
    effects = PlantedEffects(plant_thresholds=True, thresholds={"Black": 0.2})
    write_table(generate(3000, seed=14, officers=60, effects=effects), path)
    duck = engine.connect("duckdb")
    expected = model_cells(cell_counts(engine.load_table(duck, path)))
    got = model_cells(cell_counts(engine.load_table(spark, path)))
    assert len(expected) > 16 and expected["searches"].sum() > 0
    assert_same(expected.to_dict(orient="records"), got.to_dict(orient="records"))
