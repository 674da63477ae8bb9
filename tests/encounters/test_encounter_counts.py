"""Encounters through the extract, the import and the analyses: counted once, with their people."""

from __future__ import annotations

import importlib.util
from datetime import date

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

import components
from builders import valid_body
from encounters.test_encounter_api import encounter_body
from fairengage.analytics import engine
from fairengage.analytics.counts import encounter_counts
from fairengage.analytics.population_benchmarks import default_benchmark_path
from fairengage.config import Settings
from fairengage.engagements import extract
from fairengage.engagements.models import Engagement
from fairengage.ingest import importer, synth
from fairengage.reports.builder import analyse_report, public_report, render_html

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")


@pytest.fixture
def recorded(client, world):
    """One encounter of three people and two people engaged alone, through the API."""
    headers = world.officer_with_token("C100")
    encounter = client.post("/api/v1/encounters", json=encounter_body(3), headers=headers).json()
    singles = [
        client.post("/api/v1/engagements", json=valid_body(), headers=headers).json() for _ in range(2)
    ]
    return encounter, singles


def test_the_extract_names_each_rows_encounter(sessions, settings, recorded, tmp_path):
    encounter, singles = recorded
    extract.write_extract(sessions=sessions, out=tmp_path / "a.parquet", settings=settings, actor="t")
    rows = {r["engagement_id"]: r["encounter_id"] for r in pq.read_table(tmp_path / "a.parquet").to_pylist()}
    assert len(rows) == 5
    for e in encounter["engagements"]:
        assert rows[e["id"]] == encounter["id"]
    # A person engaged alone is an encounter of one: their own id.
    for single in singles:
        assert rows[single["id"]] == single["id"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_duckdb_counts_encounters_and_people(sessions, settings, recorded, tmp_path, suffix):
    path = tmp_path / f"a{suffix}"
    extract.write_extract(sessions=sessions, out=path, settings=settings, actor="t")
    backend = engine.connect("duckdb")
    try:
        assert encounter_counts(engine.load_table(backend, path)) == {"encounters": 3, "people": 5}
    finally:
        engine.disconnect(backend)


def test_a_table_without_encounters_counts_each_engagement_once(tmp_path):
    path = tmp_path / "synthetic.parquet"
    synth.write_table(synth.generate(200, seed=3, officers=10, group_share=0.0), path)
    backend = engine.connect("duckdb")
    try:
        assert encounter_counts(engine.load_table(backend, path)) == {"encounters": 200, "people": 200}
    finally:
        engine.disconnect(backend)


def test_empty_encounter_cells_are_encounters_of_one(sessions, settings, recorded, tmp_path):
    path = tmp_path / "a.parquet"
    extract.write_extract(sessions=sessions, out=path, settings=settings, actor="t")
    table = pq.read_table(path)
    blanked = table.set_column(
        table.schema.get_field_index("encounter_id"),
        "encounter_id",
        pa.array([""] + [None] * (table.num_rows - 1), type=pa.large_string()),
    )
    pa_csv.write_csv(blanked, tmp_path / "blank.csv")
    backend = engine.connect("duckdb")
    try:
        counts = encounter_counts(engine.load_table(backend, tmp_path / "blank.csv"))
    finally:
        engine.disconnect(backend)
    assert counts == {"encounters": 5, "people": 5}


@pytest.mark.slow  # Starts Spark (a JVM).
def test_spark_counts_as_duckdb_does(sessions, settings, recorded, tmp_path):
    if importlib.util.find_spec("pyspark") is None:
        components.missing("pyspark", "pip install -e '.[spark]'")
    path = tmp_path / "a.csv"
    extract.write_extract(sessions=sessions, out=path, settings=settings, actor="t")
    counts = {}
    for name in ("duckdb", "spark"):
        backend = engine.connect(name)
        try:
            counts[name] = encounter_counts(engine.load_table(backend, path))
        finally:
            engine.disconnect(backend)
    assert counts["spark"] == counts["duckdb"] == {"encounters": 3, "people": 5}


def test_an_imported_extract_keeps_its_encounters(sessions, settings, recorded, tmp_path):
    encounter, singles = recorded
    path = tmp_path / "a.csv"
    extract.write_extract(sessions=sessions, out=path, settings=settings, actor="t")
    result = importer.import_file(
        sessions=sessions, path=path, fmt="fairengage", settings=settings, actor="t"
    )
    assert result.stored == 5
    with sessions() as s:
        imported = s.scalars(select(Engagement).where(Engagement.import_batch_id.is_not(None))).all()
    by_source = {e.id: e for e in imported}
    from fairengage.engagements.bulk import engagement_uuid

    first = engagement_uuid(encounter["id"])
    for e in encounter["engagements"]:
        assert by_source[engagement_uuid(e["id"])].encounter_id == first
    # A person engaged alone is still an encounter of one: their own (new) id.
    for single in singles:
        own = engagement_uuid(single["id"])
        assert by_source[own].encounter_id == own


@pytest.mark.slow  # Every analysis of a release, on a synthetic table.
def test_the_reports_count_encounters_and_people_and_withhold_a_small_count(tmp_path):
    frame = synth.generate(600, seed=5, start=date(2025, 1, 1), end=date(2025, 12, 31))
    # Every two rows are one encounter of two people, named by the first row's id.
    frame["encounter_id"] = [frame["engagement_id"].iloc[i - i % 2] for i in range(len(frame))]
    path = tmp_path / "t.parquet"
    synth.write_table(frame, path)
    settings = Settings()
    report, threshold = analyse_report(
        table_path=path, benchmark_path=default_benchmark_path(), period="2025", settings=settings
    )
    assert report["annual"]["encounters"] == 300 and report["annual"]["attempts"] == 600
    assert public_report(report, threshold)["annual"]["encounters"] == 300
    board = render_html(report, board=True, boundaries=None, map_group="Black", settings=settings)
    assert "300 encounters involving 600 people" in board
    # Below the threshold the count is withheld, in the public report and in what it says.
    small = {**report, "annual": {**report["annual"], "encounters": threshold - 1}}
    public = public_report(small, threshold)
    assert public["annual"]["encounters"] is None
    html = render_html(public, board=False, boundaries=None, map_group="Black", settings=settings)
    assert "encounters involving" not in html
    assert f'<dt>Encounters</dt><dd class="withheld">fewer than {threshold}</dd>' in html
