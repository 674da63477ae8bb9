"""Reading the rows of an import file, for every format: the CSV reader that refuses over-long lines,
the checks of one value, and the error that names its row and column. `importer.py` (our format and the
machinery) and `opp.py` (the Open Policing format) both build on it, so neither imports the other's
pieces."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fairengage.engagements import bulk

MAX_AGE = 120
# Quoted values in messages are cut to this length, so that one line stays one readable line.
QUOTE_LIMIT = 40
# No CSV line is read whole past this: a row of ours is a few kilobytes, and a file that is one huge
# field or has no newline at all must not be read into memory to find that out.
MAX_LINE_BYTES = 1 << 20


class RowError(Exception):
    """One bad row (or a bad header): the row as a person counts it, the column, and why."""

    def __init__(self, row: int, column: str, reason: str) -> None:
        super().__init__(f"{row}:{column}: {reason}")
        self.row = row
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class Parsed:
    """One good row: the bulk loader's columns, its officer, and its division (name, when new)."""

    fields: dict[str, Any]
    officer: bulk.RosterEntry
    division: str
    division_name: str


def csv_rows(
    path: Path, check_header: Callable[[list[str]], None]
) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """Each data row of a UTF-8 CSV file as {column: text}, numbered as a person counts lines (header 1).

    A row whose field count differs from the header's, or with a NUL character, is yielded as its
    RowError; an unreadable file raises RowError. No line is read whole when it is longer than
    MAX_LINE_BYTES, and no field is kept past the csv module's field_size_limit, so a file with one
    enormous field is refused without being read into memory.
    """
    with path.open("rb") as handle:
        lines = _Lines(handle)
        reader = csv.reader(lines, strict=True)
        header: list[str] = []
        try:
            first = next(reader, None)
            if first is None:
                raise RowError(1, "-", "the file is empty: expected a header line")
            check_header(first)
            header = first
            width = len(header)
            lines.next_row()
            for fields in reader:
                line = lines.row_start
                lines.next_row()
                if not fields:  # a blank line is not a row
                    continue
                if len(fields) != width:
                    yield line, RowError(line, "-", f"has {len(fields)} fields; the header has {width}")
                    continue
                row = dict(zip(header, fields, strict=True))
                nul = next((name for name, value in row.items() if "\x00" in value), None)
                if nul is not None:
                    # No database column can hold one (PostgreSQL refuses it), and it is never meant.
                    yield line, RowError(line, nul, "contains a NUL character")
                    continue
                yield line, row
        except csv.Error as exc:
            if "field larger than field limit" not in str(exc):
                raise RowError(lines.row_start, "-", f"is not valid CSV ({exc})") from None
            raise _too_long(lines.row_start, lines.row_text(), header) from None
        except _LineTooLong as exc:
            raise _too_long(lines.row_start, exc.text, header) from None


def _too_long(row: int, text: str, header: list[str]) -> RowError:
    """The error for a row with a field past the csv module's field_size_limit, or a line past ours."""
    limit = csv.field_size_limit()
    column = _column_of_long_field(text, header, limit)
    if column != "-":
        return RowError(row, column, f"longer than {limit:,} characters")
    return RowError(row, "-", f"the line is longer than {MAX_LINE_BYTES:,} bytes")


class _LineTooLong(Exception):
    def __init__(self, text: str) -> None:
        super().__init__("line too long")
        self.text = text


class _Lines:
    """The file's lines, decoded one by one so that a decoding error names its own line.

    Each line is read with a bound (MAX_LINE_BYTES), never whole. The lines of the row being read are
    kept (they are the csv reader's input anyway) to find the column of a field that is too long.
    """

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.number = 0
        self.row_start = 1
        self._row: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.number += 1
        if not self._row:
            self.row_start = self.number
        if self.number == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise RowError(1, "-", "is UTF-16 text: save the file as UTF-8")
        if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            # Only the bounded start of the line is at hand: enough to say which field ran on.
            raise _LineTooLong(self.row_text() + raw.decode("utf-8", errors="replace"))
        # Splitting bytes at newlines is safe in UTF-8: no multi-byte character contains the byte 0x0A.
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RowError(self.number, "-", "is not UTF-8 text") from None
        if self.number == 1:
            text = text.removeprefix("\ufeff")
        self._row.append(text)
        return text

    def next_row(self) -> None:
        """The csv reader has made a row of the lines read so far: start the next one."""
        self._row.clear()

    def row_text(self) -> str:
        """The lines of the row being read."""
        return "".join(self._row)


# One field of a CSV line, quoted (with "" inside; an unclosed quote runs to the end) or not.
_CSV_FIELD = re.compile(r'"[^"]*(?:""[^"]*)*"?|[^,"\r\n]*')


def _column_of_long_field(text: str, header: list[str], limit: int) -> str:
    """The header name of the first field in `text` longer than `limit` characters, or "-"."""
    position = index = 0
    while position <= len(text):
        match = _CSV_FIELD.match(text, position)
        if match is None or match.end() - match.start() > limit:
            break
        position = match.end()
        if position >= len(text) or text[position] in "\r\n":
            return "-"
        if text[position] == ",":
            index += 1
        position += 1
    return header[index] if index < len(header) else "-"


def check_columns(header: list[str], required: tuple[str, ...], row: int = 1) -> None:
    """Refuse a header with a repeated or blank name, or without a required column."""
    seen: set[str] = set()
    for name in header:
        if not name.strip():
            raise RowError(row, "-", "the header has a column without a name")
        if name in seen:
            raise RowError(row, name, "the column appears twice in the header")
        seen.add(name)
    for name in required:
        if name not in seen:
            raise RowError(row, name, "missing column")


# --- field values ---------------------------------------------------------------------------------------


def quote(value: Any) -> str:
    """A value for a message: repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


def text_value(row: int, column: str, value: Any, *, limit: int, required: bool = False) -> str | None:
    """A string of at most `limit` characters; None when missing (an error when required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(row, column, "missing")
        return None
    if not isinstance(value, str):
        raise RowError(row, column, f"{quote(value)} is not text")
    value = value.strip()
    if len(value) > limit:
        raise RowError(row, column, f"longer than {limit} characters")
    if has_control_characters(value):
        raise RowError(row, column, "contains control characters")
    return value


def bool_value(row: int, column: str, value: Any, *, required: bool = False) -> bool | None:
    """true or false (any case); None when missing (an error when required)."""
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(row, column, "missing")
        return None
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RowError(row, column, f"{quote(value)} is not true or false")


_INTEGER = re.compile(r"[+-]?\d{1,9}(\.0*)?")


def int_value(row: int, column: str, value: Any, *, low: int, high: int) -> int | None:
    """A whole number between low and high; None when missing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RowError(row, column, f"{quote(value)} is not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(float(value.strip()))
    else:
        raise RowError(row, column, f"{quote(value)} is not a whole number")
    if not low <= number <= high:
        raise RowError(row, column, f"{number} is outside {low}..{high}")
    return number


def float_value(row: int, column: str, value: Any, *, low: float, high: float) -> float | None:
    """A finite number between low and high; None when missing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RowError(row, column, f"{quote(value)} is not a number")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise RowError(row, column, f"{quote(value)} is not a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise RowError(row, column, f"{quote(value)} is outside {low:g}..{high:g}")
    return number


def timestamp_value(row: int, column: str, value: Any, *, now: datetime) -> datetime:
    """An ISO 8601 time with its UTC offset (or Z), not in the future; returned in UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError(row, column, "missing")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RowError(row, column, f"{quote(value)} is not an ISO 8601 time") from None
    else:
        raise RowError(row, column, f"{quote(value)} is not an ISO 8601 time")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RowError(row, column, f"{quote(value)} has no UTC offset")
    return not_in_future(row, column, moment.astimezone(UTC), now)


def not_in_future(row: int, column: str, moment: datetime, now: datetime) -> datetime:
    """The moment, refused when it is later than the import."""
    if moment > now:
        raise RowError(row, column, "is in the future")
    return moment


def date_value(row: int, column: str, value: Any, *, quote_value: bool = True) -> date | None:
    """A date YYYY-MM-DD; None when missing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    shown = quote(value) if quote_value else "the value"
    if not isinstance(value, str):
        raise RowError(row, column, f"{shown} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RowError(row, column, f"{shown} is not a date (YYYY-MM-DD)") from None


def choice_value(row: int, column: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of `choices`, exactly."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError(row, column, "missing")
    if not isinstance(value, str) or value.strip() not in choices:
        raise RowError(row, column, f"{quote(value)} is not one of {', '.join(choices)}")
    return value.strip()


# --- our own format -------------------------------------------------------------------------------------

# Columns a fairengage file must have: the analytic table's, except that the detailed table may name
# the officer by badge instead of by key.


def has_control_characters(text: str) -> bool:
    # Tabs and line breaks are text; anything else below 32 (NUL above all: PostgreSQL refuses it) is not.
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)
