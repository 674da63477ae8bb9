"""Properties of `fairengage import` over random files: all or nothing, one clear line, never twice.

Whatever a file holds, an import either stores every row (or finds it already there) or is refused with
one line `FILE:ROW:COLUMN: reason` naming where the trouble is, and then the database is as it was.
"""

from __future__ import annotations

import csv
import itertools
import re
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fairengage.engagements.models import Engagement, ImportBatch, Person
from fairengage.ingest import importer, synth
from fairengage.officers.models import Division, Officer

COLUMNS = (
    "raw_row_number", "date", "time", "location", "lat", "lng", "district", "subject_age", "subject_race",
    "subject_sex", "officer_id_hash", "department_name", "arrest_made", "citation_issued", "warning_issued",
    "outcome", "contraband_found", "search_conducted", "reason_for_stop",
)  # fmt: skip
REFUSAL = re.compile(r"(?P<path>.+):(?P<row>\d+):(?P<column>[^:\n]+): (?P<reason>[^\n]+)")
# Each example gets its own row ids, so that rows stored by one example are not "already present" in the
# next (except where a property says so).
EXAMPLE = itertools.count()
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text that breaks CSV and our checks: quotes, commas, line breaks, control characters, NULs, byte order
# marks, non-ASCII letters, and now and then a cell past the csv module's field limit. No lone
# surrogates: a file is bytes, and UTF-8 cannot hold one.
junk_text = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40),
    st.text(alphabet='",\r\n\x00\t \ufeffé;NA', max_size=20),
    st.sampled_from(["", "NA", "TRUE", "true", "-1", "121", "1e999", "2999-01-01", "24:00:00", '"']),
    st.integers(min_value=131_000, max_value=140_000).map(lambda n: "x" * n),
)


def stop(number: str, index: int) -> dict[str, str]:
    """A good stop in a Toronto division, so that no division is added."""
    return {
        "raw_row_number": number,
        "date": f"2020-05-{1 + index % 28:02d}",
        "time": f"14:{index % 60:02d}:00",
        "location": "KING ST W & JOHN ST",
        "lat": "43.6465",
        "lng": "-79.3902",
        "district": "D52",
        "subject_age": str(18 + index % 60),
        "subject_race": ("black", "white", "hispanic", "NA")[index % 4],
        "subject_sex": ("female", "male")[index % 2],
        "officer_id_hash": f"0f{index % 5}a",
        "department_name": "Testville",
        "arrest_made": "FALSE",
        "citation_issued": "TRUE",
        "warning_issued": "FALSE",
        "outcome": "citation",
        "contraband_found": "NA",
        "search_conducted": "FALSE",
        "reason_for_stop": "Speeding",
    }


def write(path: Path, rows: list[dict[str, str]]) -> list[int]:
    """Write the rows as CSV; return the line on which each row starts (the header is line 1)."""
    starts, line = [], 2
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in rows:
            starts.append(line)
            values = [row[c] for c in COLUMNS]
            writer.writerow(values)
            line += 1 + sum(v.count("\n") for v in values)
    return starts


def snapshot(sessions: Any) -> tuple[int, ...]:
    """What an import may change: records, people, batches, officers and divisions."""
    with sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model))
            for model in (Engagement, Person, ImportBatch, Officer, Division)
        )


def refusal_parts(refused: importer.ImportRefused, path: Path) -> tuple[int, str, str]:
    """The refusal's one line, checked for its form; returns (row, column, reason)."""
    match = REFUSAL.fullmatch(str(refused))
    assert match, f"not one FILE:ROW:COLUMN: reason line: {str(refused)!r}"
    assert match["path"] == str(path)
    return int(match["row"]), match["column"], match["reason"]


def import_opp(sessions: Any, settings: Any, path: Path, **kw: Any) -> importer.ImportResult:
    return importer.import_file(sessions=sessions, path=path, fmt="opp", settings=settings, actor="t", **kw)


@PROPERTY_SETTINGS
@given(
    rows=st.integers(min_value=1, max_value=6),
    junk=st.one_of(
        st.none(),
        st.tuples(st.integers(min_value=0, max_value=5), st.sampled_from(COLUMNS), junk_text),
    ),
)
def test_a_file_is_stored_whole_or_refused_at_its_bad_cell_and_nothing_changes(
    sessions, settings, tmp_path, rows, junk
):
    prefix = f"p{next(EXAMPLE)}-"
    stops = [stop(f"{prefix}{i}", i) for i in range(rows)]
    bad_row = bad_column = None
    if junk is not None:
        index, bad_column, value = junk
        bad_row = min(index, rows - 1)
        stops[bad_row][bad_column] = value
    path = tmp_path / "stops.csv"
    starts = write(path, stops)
    before = snapshot(sessions)
    try:
        result = import_opp(sessions, settings, path)
    except importer.ImportRefused as refused:
        row, column, _reason = refusal_parts(refused, path)
        assert snapshot(sessions) == before
        assert bad_row is not None, f"a good file was refused: {refused}"
        assert column == bad_column, refused
        # Junk in an id can repeat a later row's id; that later row is the one named.
        assert row == starts[bad_row] or (bad_column == "raw_row_number" and row > starts[bad_row]), refused
    else:
        assert (result.read, result.rejected) == (rows, 0)
        assert result.stored + result.already_present == rows
        assert snapshot(sessions)[0] == before[0] + result.stored


@PROPERTY_SETTINGS
@given(rows=st.integers(min_value=1, max_value=8), header=st.booleans(), noise=st.binary(max_size=600))
def test_any_bytes_are_imported_or_refused_in_one_line_and_nothing_else(
    sessions, settings, tmp_path, rows, header, noise
):
    prefix = f"b{next(EXAMPLE)}-"
    path = tmp_path / "noise.csv"
    write(path, [stop(f"{prefix}{i}", i) for i in range(rows)])
    content = path.read_bytes()
    # Noise in the header, or in the middle of the rows.
    cut = len(content) // 2 if header else content.index(b",")
    path.write_bytes(content[:cut] + noise + content[cut:])
    before = snapshot(sessions)
    try:
        result = import_opp(sessions, settings, path)
    except importer.ImportRefused as refused:
        row, _column, _reason = refusal_parts(refused, path)
        assert 1 <= row <= content.count(b"\n") + noise.count(b"\n") + 1
        assert snapshot(sessions) == before
    else:
        assert result.read == result.stored + result.already_present + result.rejected
        assert snapshot(sessions)[0] == before[0] + result.stored


@PROPERTY_SETTINGS
@given(rows=st.integers(min_value=1, max_value=10), crlf=st.booleans(), bom=st.booleans())
def test_importing_a_file_again_stores_nothing_new(sessions, settings, tmp_path, rows, crlf, bom):
    prefix = f"r{next(EXAMPLE)}-"
    path = tmp_path / "again.csv"
    write(path, [stop(f"{prefix}{i}", i) for i in range(rows)])
    # The same file as a spreadsheet may save it: Windows line ends and a byte order mark.
    content = path.read_bytes()
    ends = content if crlf else content.replace(b"\r\n", b"\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ends)
    first = import_opp(sessions, settings, path)
    assert (first.read, first.stored, first.rejected) == (rows, rows, 0)
    after_first = snapshot(sessions)
    again = import_opp(sessions, settings, path)
    assert (again.read, again.stored, again.already_present) == (rows, 0, rows)
    # Only the second batch's own row is new.
    assert snapshot(sessions) == (*after_first[:2], after_first[2] + 1, *after_first[3:])
    skipping = import_opp(sessions, settings, path, rejects_path=tmp_path / "rejects.csv")
    assert (skipping.stored, skipping.already_present, skipping.rejected) == (0, rows, 0)


# --- our own format -------------------------------------------------------------------------------------

DETAILED = synth.generate(
    6, seed=11, officers=3, start=date(2024, 6, 1), end=date(2024, 6, 30), with_details=True
)
OUR_COLUMNS = tuple(DETAILED.columns)
# Columns whose junk is read as a list of codes or dropped (officer_key when a badge is given).
LENIENT = {"officer_key"}


@PROPERTY_SETTINGS
@given(
    index=st.integers(min_value=0, max_value=len(DETAILED) - 1),
    column=st.sampled_from([c for c in OUR_COLUMNS if c not in LENIENT]),
    value=junk_text,
)
def test_our_format_is_stored_whole_or_refused_at_its_bad_cell(
    sessions, settings, tmp_path, index, column, value
):
    frame = DETAILED.copy()
    frame["engagement_id"] = [f"o{next(EXAMPLE)}-{i}" for i in range(len(frame))]
    path = tmp_path / "ours.csv"
    synth.write_table(frame, path)
    # Change one cell of the written file, keeping every other cell as the table writer wrote it.
    with path.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    table[1 + index][table[0].index(column)] = value
    starts, line = [], 2
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(table[0])
        for cells in table[1:]:
            starts.append(line)
            writer.writerow(cells)
            line += 1 + sum(cell.count("\n") for cell in cells)
    before = snapshot(sessions)
    try:
        result = importer.import_file(
            sessions=sessions, path=path, fmt="fairengage", settings=settings, actor="t"
        )
    except importer.ImportRefused as refused:
        row, named, _reason = refusal_parts(refused, path)
        assert snapshot(sessions) == before
        assert named == column, refused
        assert row == starts[index] or (column == "engagement_id" and row > starts[index]), refused
    else:
        assert result.read == len(frame) and result.rejected == 0
        assert result.stored + result.already_present == len(frame)
