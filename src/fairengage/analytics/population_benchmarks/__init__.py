"""Population benchmarks: the benchmark file (docs/architecture.md) and the shipped Toronto default.

A benchmark file is a CSV ``area,group,population``: ``area`` is a division code or ``ALL`` (the whole
service area), ``group`` a perceived-race category that has a population (every category but
``Unknown``), ``population`` a whole number of people. This module reads, checks and writes that
format and describes the shipped default; ``toronto.py`` builds the default from the census.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from fairengage.shipped import shipped
from fairengage.vocabulary import BENCHMARK_GROUPS, UNKNOWN

CITY = "ALL"
FIELDS = ("area", "group", "population")
_HERE = shipped("analytics", "population_benchmarks")
GROUP_MAPPING_FILE = _HERE / "census_groups.csv"


class BenchmarkError(ValueError):
    """A benchmark input or file that cannot be used; the message names the file and what is wrong."""


class BenchmarkRow(NamedTuple):
    """One line of a benchmark file."""

    area: str
    group: str
    population: int


@dataclass(frozen=True)
class CensusTerm:
    """One census row that adds to (sign +1) or takes from (sign -1) a perceived-race group."""

    group: str
    sign: int
    census_category: str
    characteristic: str
    label: str
    note: str


def default_benchmark_path() -> Path:
    """The shipped default benchmark: Toronto, 2016 Census, by police division."""
    return _HERE / "toronto_2016.csv"


def load_group_mapping(path: Path = GROUP_MAPPING_FILE) -> list[CensusTerm]:
    """Read the census-row to perceived-race mapping table (``census_groups.csv``)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"group", "sign", "census_category", "characteristic"} - set(reader.fieldnames or ())
            if missing:
                raise BenchmarkError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            terms = []
            for line, row in enumerate(reader, start=2):
                if row["group"] not in BENCHMARK_GROUPS:
                    raise BenchmarkError(f"{path}: line {line}: unknown group {row['group']!r}")
                if row["sign"] not in ("+", "-"):
                    raise BenchmarkError(f"{path}: line {line}: sign must be + or -, not {row['sign']!r}")
                terms.append(
                    CensusTerm(
                        group=row["group"],
                        sign=1 if row["sign"] == "+" else -1,
                        census_category=row["census_category"].strip(),
                        characteristic=row["characteristic"].strip(),
                        label=(row.get("label") or "").strip() or row["characteristic"].strip(),
                        note=(row.get("note") or "").strip(),
                    )
                )
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: file not found") from None
    unmapped = [g for g in BENCHMARK_GROUPS if g not in {t.group for t in terms}]
    if unmapped:
        raise BenchmarkError(f"{path}: no census row for group(s) {', '.join(unmapped)}")
    return terms


def mapping_text(terms: Iterable[CensusTerm]) -> str:
    """The mapping as one sentence-friendly string, e.g. ``Middle Eastern = Arab + West Asian``."""
    parts: dict[str, str] = {}
    for term in terms:
        so_far = parts.get(term.group)
        if so_far is None:
            parts[term.group] = ("−" if term.sign < 0 else "") + term.label
        else:
            parts[term.group] = f"{so_far} {'−' if term.sign < 0 else '+'} {term.label}"
    return "; ".join(f"{group} = {parts[group]}" for group in BENCHMARK_GROUPS if group in parts)


def describe() -> str:
    """One paragraph on the shipped benchmark (sources, year, mapping, apportioning) for reports to quote."""
    return (
        "Population benchmark: residents of the City of Toronto by Toronto Police Service division, from the "
        "2016 Census (Statistics Canada, Census Profile 98-316-X2016001, population in private households, "
        "25% sample data) as published by the City of Toronto in its Neighbourhood Profiles for 140 "
        "neighbourhoods. Census groups are mapped to perceived-race categories as follows: "
        f"{mapping_text(load_group_mapping())} (the census does not count Aboriginal people as a visible "
        "minority, so they are taken out of Not a visible minority to avoid counting them twice). Each "
        "neighbourhood's counts are shared among the 16 divisions in proportion to the part of its area "
        "that lies in each division (City of Toronto neighbourhood boundaries and Toronto Police Service "
        "division boundaries, areas computed in UTM zone 17N), which assumes people are spread evenly "
        "within a neighbourhood; figures are rounded to whole people by the largest-remainder method, so "
        "the divisions add up exactly to the city total (ALL). It counts people who live in an area in "
        "2016, not the people present on its streets when engagements happen."
    )


def read_benchmark(path: str | Path, *, groups: Sequence[str] = BENCHMARK_GROUPS) -> list[BenchmarkRow]:
    """Read and check a benchmark file; the one reader of the format, for every command and analysis.

    Rules: UTF-8 (a byte-order mark from a spreadsheet is skipped); the header names `area`, `group` and
    `population` (other columns are ignored); every area is non-empty, every group one of `groups`
    (never Unknown), every population a whole number of 0 or more; no (area, group) twice; some rows
    for `ALL`, the city-wide population the analyses compare with. Errors name FILE: row N, column 'C'.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for name in FIELDS:
            if name not in header:
                raise BenchmarkError(f"{path}: column {name!r}: missing from the header (row 1)")
        numbered = [(line, _benchmark_row(path, line, row, groups)) for line, row in enumerate(reader, 2)]
    return _check_rows(numbered, path)


def _benchmark_row(path: Path, line: int, record: dict[str, Any], groups: Sequence[str]) -> BenchmarkRow:
    def bad(column: str, problem: str) -> BenchmarkError:
        return BenchmarkError(f"{path}: row {line}, column {column!r}: {problem}")

    area, group, text = ((record.get(name) or "").strip() for name in FIELDS)
    if not area:
        raise bad("area", f"empty; use a division code or {CITY}")
    if group == UNKNOWN:
        raise bad("group", f"{UNKNOWN!r} is an officer's answer, not a population group: leave it out")
    if group not in groups:
        known = ", ".join(g for g in groups if g != UNKNOWN)
        raise bad("group", f"{group!r} is not a perceived-race category ({known})")
    try:
        population = int(text)
    except ValueError:
        raise bad("population", f"{text!r} is not a whole number") from None
    if population < 0:
        raise bad("population", f"{population} is negative")
    return BenchmarkRow(area, group, population)


def _check_rows(numbered: Iterable[tuple[int, BenchmarkRow]], path: Path) -> list[BenchmarkRow]:
    """Refuse an (area, group) given twice and a benchmark with no `ALL` rows; the rows, in file order."""
    rows: list[BenchmarkRow] = []
    seen: set[tuple[str, str]] = set()
    for line, row in numbered:
        if (row.area, row.group) in seen:
            raise BenchmarkError(
                f"{path}: row {line}, column 'group': {row.group!r} appears twice for area {row.area!r}"
            )
        seen.add((row.area, row.group))
        rows.append(row)
    if not any(row.area == CITY for row in rows):
        raise BenchmarkError(f"{path}: column 'area': no {CITY!r} rows (the city-wide population)")
    return rows


def write_benchmark(rows: Iterable[BenchmarkRow], path: Path) -> None:
    """Write a benchmark file (``area,group,population``), in the order given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows(rows)


def named_benchmarks(values: list[str]) -> list[tuple[str, Path]]:
    """``NAME=FILE`` or ``FILE`` (named after the file, without extension), in order; names unique."""
    named: list[tuple[str, Path]] = []
    for value in values:
        name, sep, file = value.partition("=")
        path = Path(file if sep else value)
        name = name.strip() if sep else path.stem
        if not name:
            raise ValueError(f"--benchmark {value!r}: give a name before '=' (NAME=FILE)")
        if any(name == other for other, _ in named):
            raise ValueError(f"--benchmark {value!r}: the name {name!r} is given twice")
        named.append((name, path))
    return named
