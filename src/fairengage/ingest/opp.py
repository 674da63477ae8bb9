"""The Stanford Open Policing Project's standard CSV (one row per stop) as engagements.

The project publishes each city's or state's stops with the same column names; most columns are
optional and a missing value is the text `NA`. What a stop record says maps onto an engagement as
follows (docs/import-and-extract.md has the full table):

- `subject_race` through the shipped `opp_race_map.csv`; the project's categories are coarser than
  Ontario's, so the mapping is documented there row by row;
- `district` becomes the division; districts are the source's own areas, added as divisions when new;
- `date` and `time` are local clock times in the import's time zone (`--timezone`);
- `officer_id_hash` becomes one officer per distinct hash (badge `OPP-<hash>`);
- `arrest_made`, `citation_issued`, `warning_issued` give the outcome; `search_conducted` and
  `contraband_found` (kept only where a search was made) give the search and its result.

The project records nothing about the person's identity, and has no purpose, reason grounds, or
duties to inform or offer a receipt: those are stored as unknown and the evaluation flags them.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fairengage.engagements import bulk
from fairengage.ingest.rows import (
    MAX_AGE,
    Parsed,
    RowError,
    bool_value,
    check_columns,
    csv_rows,
    float_value,
    int_value,
    not_in_future,
    quote,
    text_value,
)
from fairengage.shipped import shipped
from fairengage.vocabulary import PERCEIVED_RACES

RACE_MAP_FILE = shipped("ingest", "opp_race_map.csv")
# The project's marker for a missing value; an empty cell is read the same way.
MISSING = "NA"
REQUIRED_COLUMNS = ("date", "time")
SEX_TO_GENDER = {"male": "man", "female": "woman"}
# The project's `outcome` column, used only when none of the three outcome flags is given.
OUTCOME_WORDS = {"arrest": "arrest", "citation": "ticket", "summons": "ticket", "warning": "caution"}
UNKNOWN_DIVISION = ("UNKNOWN", "District not recorded")
UNKNOWN_OFFICER = ("OPP-UNKNOWN", "Officer not recorded")
UNKNOWN_PURPOSE = "unknown"
DIVISION_CODE_LENGTH = 16
_OFFICER_HASH = re.compile(r"[A-Za-z0-9_-]{1,28}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


@lru_cache(maxsize=1)
def race_map() -> dict[str, str]:
    """OPP `subject_race` value (lower case; `NA` for missing) -> perceived-race category."""
    with RACE_MAP_FILE.open(newline="", encoding="utf-8") as handle:
        mapping = {row["opp_subject_race"]: row["perceived_race"] for row in csv.DictReader(handle)}
    unknown = sorted(set(mapping.values()) - set(PERCEIVED_RACES))
    if unknown:
        raise ValueError(f"{RACE_MAP_FILE.name}: not perceived-race categories: {', '.join(unknown)}")
    return mapping


def district_code(name: str) -> str:
    """A division code for a district: its name in capitals, or, when longer than a code may be, the
    first letters and a short digest (so that two long names never share a code)."""
    text = " ".join(name.upper().split())
    if len(text) <= DIVISION_CODE_LENGTH:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:4].upper()
    return f"{text[: DIVISION_CODE_LENGTH - 5].rstrip()}-{digest}"


class OppFormat:
    """Rows of an Open Policing Project CSV, checked and mapped to the bulk loader's columns."""

    name = "opp"
    id_column = "raw_row_number"
    # Another jurisdiction's records: the service's legacy sequestration does not apply to them.
    own_records = False

    def __init__(self, *, tz: str, file_digest: str, now: datetime) -> None:
        self.zone = ZoneInfo(tz)
        self.file_digest = file_digest
        self.now = now

    def rows(self, path: Path) -> Iterator[tuple[int, Mapping[str, Any] | RowError]]:
        """Each stop with its line number (header = 1)."""
        yield from csv_rows(path, lambda header: check_columns(header, REQUIRED_COLUMNS))

    def parse(self, row: int, raw: Mapping[str, Any]) -> Parsed:
        """Check one stop and map it to an engagement."""

        def cell(column: str) -> str | None:
            value = raw.get(column)
            if value is None or value.strip() in ("", MISSING):
                return None
            return value.strip()

        def flag(column: str) -> bool | None:
            return bool_value(row, column, cell(column))

        occurred = self._occurred_at(row, cell("date"), cell("time"))
        division, division_name = self._division(row, cell("district"))
        officer = self._officer(row, cell("officer_id_hash"), division)
        race = cell("subject_race")
        race_key = MISSING if race is None else race.lower()
        if race_key not in race_map():
            raise RowError(row, "subject_race", f"{quote(race)} is not an OPP race (see opp_race_map.csv)")
        sex = cell("subject_sex")
        if sex is not None and sex.lower() not in SEX_TO_GENDER:
            raise RowError(row, "subject_sex", f"{quote(sex)} is not male, female or NA")
        searched = flag("search_conducted") or False
        contraband = flag("contraband_found")
        fields = {
            "engagement_id": self._source_id(row, cell("raw_row_number"), cell("department_name")),
            "occurred_at": occurred,
            "division": division,
            "neighbourhood": None,
            "lat": float_value(row, "lat", cell("lat"), low=-90, high=90),
            "lon": float_value(row, "lng", cell("lng"), low=-180, high=180),
            "officer_badge": officer.badge,
            "purpose": UNKNOWN_PURPOSE,
            "perceived_race": race_map()[race_key],
            "perceived_gender": "unknown" if sex is None else SEX_TO_GENDER[sex.lower()],
            "perceived_age": int_value(row, "subject_age", cell("subject_age"), low=0, high=MAX_AGE),
            "informed": None,
            "receipt_offered": None,
            # Nothing identifying about the person is in the source, and so none is in the database.
            "identifying_info_collected": False,
            "searched": searched,
            # Contraband is a search's result: kept only where a search was made (docs/architecture.md).
            "contraband_found": contraband if searched else None,
            "outcome": self._outcome(
                row, flag("arrest_made"), flag("citation_issued"), flag("warning_issued"), cell("outcome")
            ),
            "reason": text_value(row, "reason_for_stop", cell("reason_for_stop"), limit=1000) or "",
            "reason_grounds": [],
            "inform_exception": None,
            "receipt_exception": None,
            "location_description": text_value(row, "location", cell("location"), limit=300),
            "person_name": None,
            "person_date_of_birth": None,
            "person_address": None,
            # Another jurisdiction's stops are never legacy by Ontario's dates (bulk.load_frame, own_records).
            "legacy": False,
        }
        return Parsed(fields=fields, officer=officer, division=division, division_name=division_name)

    def _occurred_at(self, row: int, day_text: str | None, time_text: str | None) -> datetime:
        if day_text is None:
            raise RowError(row, "date", "missing (an engagement needs its date)")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise RowError(row, "date", f"{quote(day_text)} is not a date (YYYY-MM-DD)") from None
        if time_text is None:
            raise RowError(row, "time", "missing (an engagement needs its time)")
        match = _TIME.fullmatch(time_text)
        hour, minute, second = (int(g or 0) for g in match.groups()) if match else (-1, 0, 0)
        if not (0 <= hour <= 23 and minute <= 59 and second <= 59):
            raise RowError(row, "time", f"{quote(time_text)} is not a time (HH:MM:SS)")
        # A local clock time; in the repeated autumn hour the first (daylight) reading is taken, and a time
        # skipped in spring is read with the offset before the change (zoneinfo's fold=0).
        local = datetime.combine(day, time(hour, minute, second), tzinfo=self.zone)
        return not_in_future(row, "date", local.astimezone(UTC), self.now)

    def _division(self, row: int, district: str | None) -> tuple[str, str]:
        if district is None:
            return UNKNOWN_DIVISION
        name = text_value(row, "district", district, limit=120, required=True) or ""
        return district_code(name), name

    def _officer(self, row: int, officer_hash: str | None, division: str) -> bulk.RosterEntry:
        if officer_hash is None:
            return bulk.RosterEntry(UNKNOWN_OFFICER[0], UNKNOWN_OFFICER[1], division, ())
        if not _OFFICER_HASH.fullmatch(officer_hash):
            raise RowError(row, "officer_id_hash", f"{quote(officer_hash)} is not an officer hash")
        return bulk.RosterEntry(f"OPP-{officer_hash}", f"Officer {officer_hash[:8]}", division, ())

    def _source_id(self, row: int, raw_row_number: str | None, department: str | None) -> str:
        if raw_row_number is None:
            # No id of its own: the file's digest and the row number (stable for the same file).
            return f"opp-file:{self.file_digest}:{row}"
        number = text_value(row, "raw_row_number", raw_row_number, limit=200, required=True)
        department = text_value(row, "department_name", department, limit=200) or ""
        return f"opp:{department}:{number}"

    @staticmethod
    def _outcome(
        row: int, arrest: bool | None, citation: bool | None, warning: bool | None, word: str | None
    ) -> str:
        # The most serious outcome wins: a stop with an arrest and a citation is an arrest.
        if arrest:
            return "arrest"
        if citation:
            return "ticket"
        if warning:
            return "caution"
        if arrest is None and citation is None and warning is None and word is not None:
            if word.lower() not in OUTCOME_WORDS:
                raise RowError(row, "outcome", f"{quote(word)} is not arrest, citation, summons or warning")
            return OUTCOME_WORDS[word.lower()]
        return "none"
