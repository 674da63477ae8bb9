"""Hostile files: huge fields, endless lines, bad encodings and NULs get one clear line, in bounded memory."""

from __future__ import annotations

import csv
import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fairengage import cli
from fairengage.config import get_settings
from fairengage.engagements.models import Engagement, ImportBatch
from fairengage.ingest import importer, synth

HEADER = (
    "raw_row_number,date,time,location,lat,lng,district,subject_age,subject_race,subject_sex,"
    "officer_id_hash,department_name,arrest_made,citation_issued,warning_issued,outcome,"
    "contraband_found,search_conducted,reason_for_stop"
)
FIELD_LIMIT = csv.field_size_limit()


def stop_line(number: int, *, reason: str = "Speeding", location: str = "KING ST W & JOHN ST") -> str:
    return (
        f"{number},2020-05-01,14:{number % 60:02d}:00,{location},43.6465,-79.3902,D52,30,black,female,0f1a,"
        f"Testville,FALSE,TRUE,FALSE,citation,NA,FALSE,{reason}"
    )


def stored(sessions) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Engagement)),
            s.scalar(select(func.count()).select_from(ImportBatch)),
        )


def refused_line(sessions, settings, path: Path, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(importer.ImportRefused) as caught:
        importer.import_file(sessions=sessions, path=path, fmt="opp", settings=settings, actor="t", **kw)
    assert stored(sessions) == (0, 0)
    return str(caught.value)


@pytest.fixture
def runner(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_an_enormous_field_without_a_newline_is_refused_without_reading_it(sessions, settings, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(f"{HEADER}\n{stop_line(1)}\n".encode())
        handle.write(stop_line(2, reason="").encode())
        for _ in range(64):  # a 64 MiB reason, and no newline to end it
            handle.write(b"x" * (1 << 20))
    tracemalloc.start()
    try:
        line = refused_line(sessions, settings, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert line == f"{path}:3:reason_for_stop: longer than {FIELD_LIMIT:,} characters"
    # Reading is by bounded lines: a few MiB at most, never the 64 MiB field.
    assert peak < 8 << 20, peak


def test_the_command_prints_the_one_line(runner, sessions, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(f"{HEADER}\n{stop_line(1, location='x' * (3 << 20))}\n{stop_line(2)}\n")
    result = runner.invoke(cli.app, ["import", str(path), "--format", "opp"])
    assert result.exit_code == 1
    assert result.stderr == f"{path}:2:location: longer than {FIELD_LIMIT:,} characters\n"
    assert stored(sessions) == (0, 0)


def test_a_quoted_field_running_over_many_lines_is_named_at_its_row(sessions, settings, tmp_path):
    path = tmp_path / "lines.csv"
    long_reason = '"' + "a short line\n" * 20_000 + '"'  # 260,000 characters in one field
    path.write_text(f"{HEADER}\n{stop_line(1)}\n{stop_line(2)}\n{stop_line(3, reason=long_reason)}\n")
    line = refused_line(sessions, settings, path, rejects_path=tmp_path / "rejects.csv")
    assert line == f"{path}:4:reason_for_stop: longer than {FIELD_LIMIT:,} characters"


def test_a_file_that_is_one_endless_line_of_short_fields_is_refused(sessions, settings, tmp_path):
    path = tmp_path / "endless.csv"
    path.write_bytes(b"a," * (1 << 20))
    line = refused_line(sessions, settings, path)
    assert line == f"{path}:1:-: the line is longer than 1,048,576 bytes"


def test_a_nul_in_a_cell_names_its_column_and_can_be_skipped(sessions, settings, tmp_path):
    path = tmp_path / "nul.csv"
    with_nul = stop_line(2, location="KING\x00ST")
    path.write_text(f"{HEADER}\n{stop_line(1)}\n{with_nul}\n{stop_line(3)}\n")
    assert refused_line(sessions, settings, path) == f"{path}:3:location: contains a NUL character"
    result = importer.import_file(
        sessions=sessions, path=path, fmt="opp", settings=settings, actor="t", rejects_path=tmp_path / "r.csv"
    )
    assert (result.read, result.stored, result.rejected) == (3, 2, 1)
    assert [(r.row, r.column) for r in result.rejects] == [(3, "location")]


def test_a_byte_order_mark_is_read_and_utf16_is_named(sessions, settings, tmp_path):
    text = f"{HEADER}\r\n{stop_line(1)}\r\n"
    path = tmp_path / "bom.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    result = importer.import_file(sessions=sessions, path=path, fmt="opp", settings=settings, actor="t")
    assert (result.read, result.stored) == (1, 1)
    wide = tmp_path / "wide.csv"
    wide.write_text(text, encoding="utf-16")
    with pytest.raises(importer.ImportRefused) as caught:
        importer.import_file(sessions=sessions, path=wide, fmt="opp", settings=settings, actor="t")
    assert str(caught.value) == f"{wide}:1:-: is UTF-16 text: save the file as UTF-8"


def test_bytes_that_are_not_utf8_refuse_the_whole_file_even_when_skipping(sessions, settings, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\n{stop_line(1)}\n{stop_line(2, location='FAÇADE')}\n".encode("latin-1"))
    line = refused_line(sessions, settings, path, rejects_path=tmp_path / "r.csv")
    assert line == f"{path}:3:-: is not UTF-8 text"


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("person_name", "Sam\x00Example", "contains control characters"),
        ("person_address", "1 Example St\x07", "contains control characters"),
        ("reason_grounds", ["behaviour", "bad\x00code"], "a ground code contains control characters"),
    ],
)
def test_control_characters_in_our_parquet_are_refused_by_their_column(
    sessions, settings, tmp_path, column, value, reason
):
    # PostgreSQL refuses a NUL in text: before this check the import failed with a database error.
    june = {"start": date(2024, 6, 1), "end": date(2024, 6, 30)}
    frame = synth.generate(3, seed=5, officers=2, with_details=True, **june)
    frame[column] = frame[column].astype(object)
    frame.at[1, column] = value
    if column == "reason_grounds":
        frame[column] = [v if isinstance(v, list) else [] for v in frame[column]]
    path = tmp_path / "ours.parquet"
    synth.write_table(frame, path)
    with pytest.raises(importer.ImportRefused) as caught:
        importer.import_file(sessions=sessions, path=path, fmt="fairengage", settings=settings, actor="t")
    assert str(caught.value) == f"{path}:2:{column}: {reason}"
    assert stored(sessions) == (0, 0)
