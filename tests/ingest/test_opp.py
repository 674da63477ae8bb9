"""The Open Policing format: the race mapping, each column's mapping, junk, and Hartford's real stops."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from fairengage.db import transaction
from fairengage.engagements import extract
from fairengage.engagements.models import Engagement, Finding
from fairengage.ingest import importer, opp
from fairengage.officers.divisions import TORONTO_DIVISIONS
from fairengage.officers.models import Division, Officer
from fairengage.vocabulary import PERCEIVED_RACES

REALDATA = Path(__file__).resolve().parents[2] / "../shared/data/realdata"
HARTFORD = REALDATA / "sopp_ct_hartford_2020_04_01.csv"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Every subject_race value of the project's data README, and its missing marker.
OPP_RACES = ("asian/pacific islander", "black", "hispanic", "other", "unknown", "white", "NA")


def stop(**changes: str) -> dict[str, str]:
    """One stop as the project's CSV has it (text cells), with changes."""
    row = {
        "raw_row_number": "17",
        "date": "2020-05-01",
        "time": "14:30:00",
        "location": "MAIN ST @ ELM ST",
        "lat": "41.7637",
        "lng": "-72.6851",
        "district": "NORTH END",
        "subject_age": "30",
        "subject_race": "black",
        "subject_sex": "male",
        "officer_id_hash": "a1b2c3d4e5",
        "department_name": "Testville",
        "type": "vehicular",
        "arrest_made": "FALSE",
        "citation_issued": "TRUE",
        "warning_issued": "FALSE",
        "outcome": "citation",
        "contraband_found": "NA",
        "search_conducted": "FALSE",
        "reason_for_stop": "Speed Related",
    }
    row.update(changes)
    return row


def parser(tz: str = "America/New_York") -> opp.OppFormat:
    return opp.OppFormat(tz=tz, file_digest="f" * 64, now=NOW)


def test_the_race_map_covers_every_opp_value_with_an_ontario_category():
    mapping = opp.race_map()
    assert set(mapping) == set(OPP_RACES)
    assert set(mapping.values()) <= set(PERCEIVED_RACES)
    assert mapping == {
        "asian/pacific islander": "East/Southeast Asian",
        "black": "Black",
        "hispanic": "Latino",
        "white": "White",
        "other": "Another race",
        "unknown": "Unknown",
        "NA": "Unknown",
    }


@pytest.mark.parametrize("value", OPP_RACES)
def test_each_race_value_parses(value):
    parsed = parser().parse(2, stop(subject_race=value))
    assert parsed.fields["perceived_race"] == opp.race_map()[value]


def test_a_stop_becomes_an_engagement():
    parsed = parser().parse(2, stop())
    fields = parsed.fields
    # 14:30 in Hartford in May is daylight time, UTC-4.
    assert fields["occurred_at"] == datetime(2020, 5, 1, 18, 30, tzinfo=UTC)
    assert (parsed.division, parsed.division_name) == ("NORTH END", "NORTH END")
    assert parsed.officer.badge == fields["officer_badge"] == "OPP-a1b2c3d4e5"
    assert parsed.officer.name == "Officer a1b2c3d4" and parsed.officer.division == "NORTH END"
    assert (fields["lat"], fields["lon"]) == (41.7637, -72.6851)
    assert (fields["perceived_gender"], fields["perceived_age"]) == ("man", 30)
    assert (fields["outcome"], fields["searched"], fields["contraband_found"]) == ("ticket", False, None)
    assert fields["location_description"] == "MAIN ST @ ELM ST"
    # What the project never records is stored as unknown, for the evaluation to flag.
    assert fields["purpose"] == "unknown"
    assert fields["informed"] is None and fields["receipt_offered"] is None
    assert fields["person_name"] is None and fields["identifying_info_collected"] is False
    assert fields["engagement_id"] == "opp:Testville:17"


def test_the_local_time_zone_decides_the_instant():
    toronto = parser("America/Toronto").parse(2, stop(time="23:30"))
    vancouver = parser("America/Vancouver").parse(2, stop(time="23:30"))
    assert toronto.fields["occurred_at"] == datetime(2020, 5, 2, 3, 30, tzinfo=UTC)
    assert vancouver.fields["occurred_at"] == datetime(2020, 5, 2, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arrest", "citation", "warning", "word", "expected"),
    [
        ("TRUE", "TRUE", "TRUE", "arrest", "arrest"),
        ("FALSE", "TRUE", "TRUE", "citation", "ticket"),
        ("FALSE", "FALSE", "TRUE", "warning", "caution"),
        ("FALSE", "FALSE", "FALSE", "NA", "none"),
        ("NA", "FALSE", "FALSE", "NA", "none"),
        ("NA", "NA", "NA", "summons", "ticket"),
        ("NA", "NA", "NA", "warning", "caution"),
        ("NA", "NA", "NA", "NA", "none"),
    ],
)
def test_outcome_is_the_most_serious_flag(arrest, citation, warning, word, expected):
    row = stop(arrest_made=arrest, citation_issued=citation, warning_issued=warning, outcome=word)
    assert parser().parse(2, row).fields["outcome"] == expected


@pytest.mark.parametrize(
    ("searched", "found", "expected"),
    [("TRUE", "TRUE", True), ("TRUE", "FALSE", False), ("TRUE", "NA", None), ("FALSE", "TRUE", None)],
)
def test_contraband_is_kept_only_where_searched(searched, found, expected):
    fields = parser().parse(2, stop(search_conducted=searched, contraband_found=found)).fields
    assert fields["searched"] is (searched == "TRUE")
    assert fields["contraband_found"] is expected


def test_missing_district_officer_and_row_number():
    parsed = parser().parse(9, stop(district="NA", officer_id_hash="NA", raw_row_number="NA"))
    assert (parsed.division, parsed.officer.badge) == ("UNKNOWN", "OPP-UNKNOWN")
    # With no id of its own a row is known by the file's digest and its row number.
    assert parsed.fields["engagement_id"] == f"opp-file:{'f' * 64}:9"


def test_district_codes_fit_and_stay_distinct():
    assert opp.district_code("  South   West ") == "SOUTH WEST"
    long_names = ["SHELDON-CHARTER OAK", "SHELDON-CHARTER OAKS", "SHELDON-CHARTER PARK"]
    codes = [opp.district_code(n) for n in long_names]
    assert all(len(c) <= 16 for c in codes)
    assert len(set(codes)) == len(codes)
    assert opp.district_code("sheldon-charter oak") == codes[0]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("date", "NA", "missing (an engagement needs its date)"),
        ("date", "2020-13-01", "'2020-13-01' is not a date (YYYY-MM-DD)"),
        ("date", "2027-01-01", "is in the future"),
        ("time", "25:00:00", "'25:00:00' is not a time (HH:MM:SS)"),
        ("subject_race", "martian", "'martian' is not an OPP race (see opp_race_map.csv)"),
        ("subject_sex", "x", "'x' is not male, female or NA"),
        ("subject_age", "abc", "'abc' is not a whole number"),
        ("subject_age", "130", "130 is outside 0..120"),
        ("lat", "91", "'91' is outside -90..90"),
        ("search_conducted", "yes", "'yes' is not true or false"),
        ("officer_id_hash", "a b", "'a b' is not an officer hash"),
    ],
)
def test_bad_values_name_their_column(column, value, reason):
    with pytest.raises(importer.RowError) as caught:
        parser().parse(5, stop(**{column: value}))
    assert (caught.value.row, caught.value.column, caught.value.reason) == (5, column, reason)


JUNK_COLUMNS = [c for c in stop() if c not in ("type",)]


@hypothesis_settings(max_examples=400, deadline=None)
@given(column=st.sampled_from(JUNK_COLUMNS), junk=st.text(max_size=60))
def test_junk_in_a_field_gives_a_clean_error_or_a_record(column, junk):
    try:
        parsed = parser().parse(3, stop(**{column: junk}))
    except importer.RowError as error:
        # The error names the row and the very column that holds the junk.
        assert (error.row, error.column) == (3, column)
        assert error.reason and "\n" not in error.reason
    else:
        assert parsed.fields["perceived_race"] in PERCEIVED_RACES


@pytest.fixture
def forget_new_divisions(sessions):
    """Divisions an import adds outlive a test on PostgreSQL (reference data is kept): remove them."""
    yield
    toronto = list(TORONTO_DIVISIONS)
    with transaction(sessions) as s:
        officers = select(Officer.id).where(Officer.division_code.not_in(toronto))
        s.execute(delete(Engagement).where(Engagement.officer_id.in_(officers)))
        s.execute(delete(Engagement).where(Engagement.division_code.not_in(toronto)))
        s.execute(delete(Officer).where(Officer.division_code.not_in(toronto)))
        s.execute(delete(Division).where(Division.code.not_in(toronto)))


def write_stops(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_new_districts_become_divisions_and_old_stops_are_not_legacy(
    sessions, settings, tmp_path, forget_new_divisions
):
    rows = [
        stop(raw_row_number="1", date="2014-03-02", district="SOUTH WEST"),
        stop(raw_row_number="2", date="2016-03-02", district="SHELDON-CHARTER OAK"),
        stop(raw_row_number="3", date="2016-03-03", district="NA"),
    ]
    path = write_stops(tmp_path / "stops.csv", rows)
    result = importer.import_file(
        sessions=sessions, path=path, fmt="opp", settings=settings, actor="t", timezone="America/New_York"
    )
    assert (result.read, result.stored, result.rejected, result.legacy) == (3, 3, 0, 0)
    assert "legacy" not in result.summary()
    with sessions() as s:
        names = dict(s.execute(select(Division.code, Division.name)).all())
        assert names[opp.district_code("SHELDON-CHARTER OAK")] == "SHELDON-CHARTER OAK"
        assert names["SOUTH WEST"] == "SOUTH WEST" and "UNKNOWN" in names
        records = {e.division_code: e for e in s.scalars(select(Engagement))}
        old = records["SOUTH WEST"]
        # Made before any rule set, but in another jurisdiction: unjudged (no findings, rule set "none"),
        # not counted compliant, and not legacy (Ontario's dates say nothing about Connecticut's records).
        assert (old.legacy, old.ruleset_id, old.compliant, old.findings) == (False, "none", False, [])
        assert old.status == "imported" and old.import_batch_id == result.batch_id
        judged = records["UNKNOWN"]
        assert (judged.legacy, judged.ruleset_id) == (False, "tpsb-2015")
        # Stored, not refused, and flagged for what the project does not record.
        failed = {f.rule_code for f in judged.findings if f.verdict == "fail"}
        assert {"SCOPE-PURPOSE", "INFORM-RIGHT", "RECEIPT-OFFER", "TRAINING-36M"} <= failed
        assert judged.compliant is False


# --- Hartford, Connecticut: the project's real stops -----------------------------------------------------

# The specification's mapping, written out again here so that the check does not lean on the shipped file.
SPEC_RACES = {
    "asian/pacific islander": "East/Southeast Asian",
    "black": "Black",
    "hispanic": "Latino",
    "white": "White",
    "other": "Another race",
    "unknown": "Unknown",
    "NA": "Unknown",
}


def raw_counts(path: Path) -> tuple[dict[str, Counter], list[int], int]:
    """Per group: stops, searches and hits, straight from the CSV; and the lines without a date."""
    counts = {"stops": Counter(), "searches": Counter(), "hits": Counter()}
    undated: list[int] = []
    legacy = 0
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for fields in reader:
            row = dict(zip(header, fields, strict=True))
            if row["date"] == "NA":
                undated.append(reader.line_num)
                continue
            legacy += row["date"] < "2015-06-18"
            group = SPEC_RACES[row["subject_race"]]
            counts["stops"][group] += 1
            if row["search_conducted"] == "TRUE":
                counts["searches"][group] += 1
                counts["hits"][group] += row["contraband_found"] == "TRUE"
    return counts, undated, legacy


@pytest.mark.slow  # The real Hartford file: 18,439 stops imported and extracted.
def test_hartford_searches_and_hits_survive_import_and_extract(
    sessions, settings, tmp_path, forget_new_divisions
):
    if not HARTFORD.exists():
        pytest.skip(f"real data not present at {HARTFORD} (a fresh clone has no ../shared)")
    # How long this takes is measured by benchmarks/opp_import.py, not asserted here.
    result = importer.import_file(
        sessions=sessions,
        path=HARTFORD,
        fmt="opp",
        settings=settings,
        actor="t",
        rejects_path=tmp_path / "rejects.csv",
        timezone="America/New_York",
    )
    out = extract.write_extract(
        sessions=sessions,
        out=tmp_path / "hartford.parquet",
        settings=settings,
        actor="t",
    )

    expected, undated, before_ontario_rules = raw_counts(HARTFORD)
    # Only the stops without a date are refused, each named by its line.
    with (tmp_path / "rejects.csv").open() as handle:
        rejects = list(csv.DictReader(handle))
    assert [int(r["row"]) for r in rejects] == undated
    assert {(r["column"], r["reason"]) for r in rejects} == {
        ("date", "missing (an engagement needs its date)")
    }
    assert result.read == result.stored + result.rejected == 18_439
    # The default extract, as documented, holds every stored stop: Connecticut's stops from before
    # Ontario's first rule set (2015-06-18) are not legacy (issue 13: the extract once held 5,627).
    assert before_ontario_rules > 12_000 and result.legacy == 0
    assert out.rows == result.stored and out.legacy_rows == 0

    frame = pq.read_table(out.path).to_pandas()
    searched = frame[frame["searched"]]
    assert Counter(frame["perceived_race"]) == expected["stops"]
    assert Counter(searched["perceived_race"]) == expected["searches"]
    found = Counter(searched.loc[searched["contraband_found"] == True, "perceived_race"])  # noqa: E712
    assert +found == +expected["hits"]
    assert sum(expected["searches"].values()) > 5000 and sum(expected["hits"].values()) > 50
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Officer).where(Officer.badge.like("OPP-%"))) == 333
        assert s.scalar(select(func.count()).select_from(Finding)) > 0

    # The acceptance check: report.json's per-group searches and hits equal the raw file's.
    from fairengage.analytics import engine as engines
    from fairengage.analytics import report as reports

    groups = [g for g in PERCEIVED_RACES if g != "Unknown"]
    benchmark = pd.DataFrame({"area": "ALL", "group": groups, "population": 1000})
    backend = engines.connect("duckdb")
    try:
        table = engines.load_table(backend, out.path)
        params = reports.AnalysisParams(lat=41.7637, lon=-72.6851, input_name="hartford.parquet")
        report = reports.analyze(table, benchmark, engine_name="duckdb", tz="America/New_York", params=params)
    finally:
        engines.disconnect(backend)
    city = {r["group"]: r for r in report["outcome_test"] if r["area"] == "ALL"}
    for group, searches in expected["searches"].items():
        assert city[group]["searches"] == searches, group
        assert city[group]["hits"] == expected["hits"][group], group


def test_hartford_dates_are_as_published():
    if not HARTFORD.exists():
        pytest.skip(f"real data not present at {HARTFORD} (a fresh clone has no ../shared)")
    format_ = parser()
    with HARTFORD.open(newline="") as handle:
        first = next(csv.DictReader(handle))
    parsed = format_.parse(2, first)
    # 2013-10-13 15:21 in Hartford (daylight time) is 19:21 UTC.
    assert parsed.fields["occurred_at"] == datetime(2013, 10, 13, 19, 21, tzinfo=UTC)
    assert parsed.fields["occurred_at"].astimezone(format_.zone).date() == date(2013, 10, 13)
