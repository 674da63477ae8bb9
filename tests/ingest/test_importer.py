"""Importing: all or nothing, --skip-invalid, idempotent re-imports, our own format, and the command."""

from __future__ import annotations

import csv
import string
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from fairengage import cli
from fairengage.access import audit
from fairengage.config import get_settings
from fairengage.engagements.models import Engagement, Finding, ImportBatch, Person
from fairengage.ingest import importer, synth
from fairengage.officers.models import Officer

HEADER = (
    "raw_row_number,date,time,location,lat,lng,district,subject_age,subject_race,subject_sex,"
    "officer_id_hash,department_name,arrest_made,citation_issued,warning_issued,outcome,"
    "contraband_found,search_conducted,reason_for_stop"
)


def stop_line(number: int, *, age: str = "30", race: str = "black", searched: str = "FALSE") -> str:
    """One stop in a Toronto division (so that no new division is made), as a CSV line."""
    return (
        f"{number},2020-05-{1 + number % 28:02d},14:{number % 60:02d}:00,KING ST W & JOHN ST,"
        f"43.6465,-79.3902,D52,{age},{race},female,0f{number % 7}a,Testville,"
        f"FALSE,TRUE,FALSE,citation,NA,{searched},Speeding"
    )


def stops_file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def import_opp(sessions, settings, path: Path, rejects: Path | None = None) -> importer.ImportResult:
    return importer.import_file(
        sessions=sessions, path=path, fmt="opp", settings=settings, actor="t", rejects_path=rejects
    )


def count(sessions, model=Engagement) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_a_bad_row_in_the_middle_stops_everything(sessions, settings, tmp_path):
    import_opp(sessions, settings, stops_file(tmp_path / "earlier.csv", [stop_line(90), stop_line(91)]))
    assert count(sessions) == 2
    lines = [stop_line(1), stop_line(2), stop_line(3, age="thirty"), stop_line(4), stop_line(5, race="?")]
    path = stops_file(tmp_path / "stops.csv", lines)
    with pytest.raises(importer.ImportRefused) as caught:
        import_opp(sessions, settings, path)
    # The header is line 1, so the third stop is line 4; the first bad row is named, not the last.
    assert str(caught.value) == f"{path}:4:subject_age: 'thirty' is not a whole number"
    assert count(sessions) == 2
    assert count(sessions, ImportBatch) == 1


def test_the_command_prints_one_line_and_exits_1(runner, sessions, tmp_path):
    path = stops_file(tmp_path / "stops.csv", [stop_line(1), stop_line(2, age="-3"), stop_line(3)])
    result = runner.invoke(cli.app, ["import", str(path), "--format", "opp"])
    assert result.exit_code == 1
    assert result.stderr == f"{path}:3:subject_age: -3 is outside 0..120\n"
    assert result.stdout == ""
    assert count(sessions) == 0


def test_skip_invalid_stores_the_good_rows_and_lists_the_bad(runner, sessions, tmp_path):
    lines = [stop_line(n) for n in range(1, 9)]
    lines[2] = stop_line(3, age="old")
    lines[5] = stop_line(6, race="purple")
    lines[6] = "7,2020-05-08,14:07:00,too,few,fields"
    path = stops_file(tmp_path / "stops.csv", lines)
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(cli.app, ["import", str(path), "--format", "opp", "--skip-invalid", str(rejects)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "read 8, stored 5, rejected 3"
    assert count(sessions) == 5
    with rejects.open() as handle:
        listed = [(int(r["row"]), r["column"], r["reason"]) for r in csv.DictReader(handle)]
    assert listed == [
        (4, "subject_age", "'old' is not a whole number"),
        (7, "subject_race", "'purple' is not an OPP race (see opp_race_map.csv)"),
        (8, "-", "has 6 fields; the header has 19"),
    ]


@given(
    column=st.sampled_from(HEADER.split(",")),
    junk=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30),
)
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_junk_in_any_field_is_refused_cleanly_or_stored(sessions, settings, tmp_path, column, junk):
    names = HEADER.split(",")
    values = next(csv.reader([stop_line(1)]))
    values[names.index(column)] = junk
    path = tmp_path / "junk.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([names, values])
    before = count(sessions)
    try:
        result = import_opp(sessions, settings, path)
    except importer.ImportRefused as refused:
        assert str(refused).startswith(f"{path}:2:{column}: ")
        assert "\n" not in str(refused)
        assert count(sessions) == before
    else:
        assert result.read == result.stored + result.already_present == 1


def test_reimporting_the_same_file_stores_nothing_new(sessions, settings, tmp_path):
    path = stops_file(tmp_path / "stops.csv", [stop_line(n) for n in range(1, 31)])
    first = import_opp(sessions, settings, path)
    findings = count(sessions, Finding)
    second = import_opp(sessions, settings, path)
    assert (first.stored, first.already_present) == (30, 0)
    assert (second.read, second.stored, second.already_present) == (30, 0, 30)
    assert second.summary() == "read 30, stored 0, rejected 0, already present 30"
    assert count(sessions) == 30 and count(sessions, Finding) == findings
    with sessions() as s:
        batches = s.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
        assert [b.sha256 for b in batches] == [first.sha256, first.sha256]
        assert [b.rows_stored for b in batches] == [30, 0]
        assert s.scalar(select(func.count()).where(Engagement.import_batch_id == batches[0].id)) == 30
        assert audit.verify(s).ok


def test_a_corrected_file_adds_only_the_rows_that_were_rejected(sessions, settings, tmp_path):
    lines = [stop_line(n) for n in range(1, 7)]
    lines[1] = stop_line(2, age="?")
    first = import_opp(sessions, settings, stops_file(tmp_path / "a.csv", lines), rejects=tmp_path / "r.csv")
    assert (first.stored, first.rejected) == (5, 1)
    fixed = import_opp(
        sessions, settings, stops_file(tmp_path / "b.csv", [stop_line(n) for n in range(1, 7)])
    )
    # Ids come from each stop's raw_row_number, not the file's bytes: the five are recognised.
    assert (fixed.stored, fixed.already_present) == (1, 5)
    assert count(sessions) == 6


def test_a_file_without_a_required_column_is_refused_even_when_skipping(sessions, settings, tmp_path):
    path = tmp_path / "stops.csv"
    path.write_text("raw_row_number,time\n1,12:00:00\n")
    with pytest.raises(importer.ImportRefused, match=r"stops\.csv:1:date: missing column$"):
        import_opp(sessions, settings, path, rejects=tmp_path / "r.csv")
    path.write_bytes(HEADER.encode() + b"\n" + stop_line(1).encode("utf-16"))
    with pytest.raises(importer.ImportRefused, match=r"stops\.csv:2:-: is not UTF-8 text$"):
        import_opp(sessions, settings, path)
    assert count(sessions) == 0


def test_repeated_row_ids_in_one_file_are_rejected(sessions, settings, tmp_path):
    path = stops_file(tmp_path / "stops.csv", [stop_line(1), stop_line(2), stop_line(1)])
    with pytest.raises(importer.ImportRefused) as caught:
        import_opp(sessions, settings, path)
    assert str(caught.value).endswith(":4:raw_row_number: repeats the id of row 2")


def test_the_command_checks_its_options(runner, tmp_path):
    path = stops_file(tmp_path / "stops.csv", [stop_line(1)])
    result = runner.invoke(cli.app, ["import", str(path), "--format", "xlsx"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "--format" in result.stderr
    result = runner.invoke(cli.app, ["import", str(path), "--format", "opp", "--timezone", "Mars/Olympus"])
    assert result.exit_code == 1 and "unknown time zone 'Mars/Olympus'" in result.stderr
    result = runner.invoke(cli.app, ["import", str(tmp_path / "none.csv"), "--format", "opp"])
    assert result.exit_code == 1 and "no such file" in result.stderr


# --- our own format -------------------------------------------------------------------------------------


def test_the_detailed_synthetic_table_loads_with_its_people(sessions, settings, tmp_path):
    frame = synth.generate(
        120, seed=4, officers=10, start=date(2024, 6, 1), end=date(2025, 5, 31), with_details=True
    )
    synth.write_table(frame, tmp_path / "detailed.csv")
    result = importer.import_file(
        sessions=sessions, path=tmp_path / "detailed.csv", fmt="fairengage", settings=settings, actor="t"
    )
    assert (result.read, result.stored, result.rejected) == (120, 120, 0)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == frame["person_name"].notna().sum()
        badges = set(s.scalars(select(Officer.badge)))
        assert badges == set(frame["officer_badge"])
        neighbourhoods = set(s.scalars(select(Engagement.neighbourhood)))
        searched = s.scalar(select(func.count()).where(Engagement.searched.is_(True)))
        hits = s.scalar(select(func.count()).where(Engagement.contraband_found.is_(True)))
    assert neighbourhoods - {None} == set(frame["neighbourhood"].dropna())
    assert searched == frame["searched"].sum() and hits == frame["contraband_found"].sum()


def test_the_analytic_table_loads_with_officers_by_key(sessions, settings, tmp_path):
    frame = synth.generate(80, seed=6, officers=8, start=date(2024, 6, 1), end=date(2025, 5, 31))
    synth.write_table(frame, tmp_path / "analytic.parquet")
    result = importer.import_file(
        sessions=sessions, path=tmp_path / "analytic.parquet", fmt="fairengage", settings=settings, actor="t"
    )
    assert result.stored == 80
    with sessions() as s:
        badges = set(s.scalars(select(Officer.badge)))
        by_race = dict(
            s.execute(
                select(Engagement.perceived_race, func.count()).group_by(Engagement.perceived_race)
            ).all()
        )
    assert badges == {f"KEY-{k}" for k in frame["officer_key"]}
    assert by_race == frame["perceived_race"].value_counts().to_dict()


def test_our_format_refuses_divisions_the_service_does_not_have(sessions, settings, tmp_path):
    frame = synth.generate(5, seed=2, officers=3, start=date(2024, 6, 1), end=date(2024, 6, 30))
    frame.loc[3, "division"] = "D99"
    synth.write_table(frame, tmp_path / "t.parquet")
    with pytest.raises(importer.ImportRefused) as caught:
        importer.import_file(
            sessions=sessions, path=tmp_path / "t.parquet", fmt="fairengage", settings=settings, actor="t"
        )
    # Parquet has no header line: its rows are counted from 1.
    assert (
        str(caught.value) == f"{tmp_path / 't.parquet'}:4:division: 'D99' is not a division of this service"
    )
    assert count(sessions) == 0


def test_records_before_the_first_rule_set_are_legacy(sessions, settings, tmp_path):
    frame = synth.generate(12, seed=3, officers=3, start=date(2015, 6, 10), end=date(2015, 6, 25))
    synth.write_table(frame, tmp_path / "t.csv")
    result = importer.import_file(
        sessions=sessions, path=tmp_path / "t.csv", fmt="fairengage", settings=settings, actor="t"
    )
    local_days = frame["occurred_at"].dt.tz_convert(settings.timezone).dt.date
    with sessions() as s:
        rows = s.execute(select(Engagement.legacy, Engagement.ruleset_id, func.count()).group_by(
            Engagement.legacy, Engagement.ruleset_id)).all()  # fmt: skip
        legacy_findings = s.scalar(
            select(func.count()).select_from(Finding).join(Engagement).where(Engagement.legacy.is_(True))
        )
    before = int((local_days < date(2015, 6, 18)).sum())
    assert 0 < before < 12
    assert {(legacy, ruleset): n for legacy, ruleset, n in rows} == {
        (True, "none"): before,
        (False, "tpsb-2015"): 12 - before,
    }
    assert legacy_findings == 0
    # Our own records: the import says at the end how many the default extract will leave out, and why.
    assert result.legacy == before
    assert f"; {before:,} of the stored rows are legacy records" in result.summary()
    assert "--include-legacy" in result.summary()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("occurred_at", "2024-06-01T12:00:00", "'2024-06-01T12:00:00' has no UTC offset"),
        ("perceived_race", "Martian", "'Martian' is not one of Black, East/Southeast Asian, "),
        ("searched", "maybe", "'maybe' is not true or false"),
        ("outcome", "fine", "'fine' is not one of none, caution, ticket, arrest, referral"),
    ],
)
def test_our_csv_names_the_bad_cell(sessions, settings, tmp_path, column, value, reason):
    frame = synth.generate(4, seed=2, officers=3, start=date(2024, 6, 1), end=date(2024, 6, 30))
    synth.write_table(frame, tmp_path / "t.csv")
    with (tmp_path / "t.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[3][rows[0].index(column)] = value
    with (tmp_path / "t.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(importer.ImportRefused) as caught:
        importer.import_file(
            sessions=sessions, path=tmp_path / "t.csv", fmt="fairengage", settings=settings, actor="t"
        )
    assert str(caught.value).startswith(f"{tmp_path / 't.csv'}:4:{column}: {reason}")


def test_rejects_never_quote_personal_values(sessions, settings, tmp_path):
    frame = synth.generate(
        6, seed=8, officers=3, start=date(2024, 6, 1), end=date(2024, 6, 30), with_details=True
    )
    synth.write_table(frame, tmp_path / "t.csv")
    with (tmp_path / "t.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    secret = "Zz" + string.ascii_letters * 3
    rows[2][rows[0].index("person_date_of_birth")] = secret
    with (tmp_path / "t.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = importer.import_file(
        sessions=sessions, path=tmp_path / "t.csv", fmt="fairengage", settings=settings, actor="t",
        rejects_path=tmp_path / "rejects.csv",
    )  # fmt: skip
    assert (result.stored, result.rejected) == (5, 1)
    assert secret not in (tmp_path / "rejects.csv").read_text()
    assert "person_date_of_birth" in (tmp_path / "rejects.csv").read_text()


def test_an_extract_imports_back(sessions, settings, tmp_path):
    from fairengage.engagements import extract

    frame = synth.generate(50, seed=9, officers=5, start=date(2024, 6, 1), end=date(2025, 5, 31))
    synth.write_table(frame, tmp_path / "in.csv")
    importer.import_file(
        sessions=sessions, path=tmp_path / "in.csv", fmt="fairengage", settings=settings, actor="t"
    )
    extract.write_extract(sessions=sessions, out=tmp_path / "out.parquet", settings=settings, actor="t")
    again = importer.import_file(
        sessions=sessions, path=tmp_path / "out.parquet", fmt="fairengage", settings=settings, actor="t"
    )
    # The extract's ids are the stored ones, which are new source ids: a second copy of each record.
    assert again.stored == 50
    table = pq.read_table(tmp_path / "out.parquet").to_pandas()
    assert sorted(table["searched"]) == sorted(frame["searched"])


def test_records_never_share_a_receipt_code_when_the_random_draw_repeats(
    sessions, settings, tmp_path, monkeypatch
):
    from fairengage.receipts import codes

    # The serial's random bits repeat (as 30 random bits do, about once in 18,000 codes in seven):
    # the loader must see the repeated code as taken and draw again.
    draws = iter([5, 5, 9, 9, 12])
    monkeypatch.setattr(codes.secrets, "randbits", lambda bits: next(draws))
    result = import_opp(sessions, settings, stops_file(tmp_path / "s.csv", [stop_line(1), stop_line(2)]))
    assert result.stored == 2
    with sessions() as s:
        stored = sorted(s.scalars(select(Engagement.receipt_code)))
    assert len(set(stored)) == 2
