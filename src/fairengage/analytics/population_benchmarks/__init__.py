"""Population benchmarks: the benchmark file (docs/architecture.md) and the shipped Toronto default.

A benchmark file is a CSV ``area,group,population``: ``area`` is a division code or ``ALL`` (the whole
service area), ``group`` a perceived-race category that has a population (every category but
``Unknown``), ``population`` a whole number of people. This module reads, checks and writes that
format and describes the shipped default; ``toronto.py`` builds the default from the census.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from fairengage.shipped import shipped

# Perceived-race categories of the Ontario Anti-Racism Data Standards that have a population.
# "Unknown" is an officer's answer, not a group of residents, so no benchmark row carries it.
BENCHMARK_GROUPS: tuple[str, ...] = (
    "Black",
    "East/Southeast Asian",
    "Indigenous",
    "Latino",
    "Middle Eastern",
    "South Asian",
    "White",
    "Another race",
)
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


def read_benchmark(path: Path) -> list[BenchmarkRow]:
    """Read and check a benchmark file: the three columns, known groups, whole non-negative numbers."""
    rows: list[BenchmarkRow] = []
    seen: set[tuple[str, str]] = set()
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != FIELDS:
                raise BenchmarkError(f"{path}: header must be {','.join(FIELDS)}")
            for line, row in enumerate(reader, start=2):
                area, group, text = (row[f] or "" for f in FIELDS)
                if not area:
                    raise BenchmarkError(f"{path}: line {line}, column area: empty")
                if group not in BENCHMARK_GROUPS:
                    raise BenchmarkError(f"{path}: line {line}, column group: unknown group {group!r}")
                if not text.isdigit():
                    raise BenchmarkError(
                        f"{path}: line {line}, column population: {text!r} is not a whole number"
                    )
                if (area, group) in seen:
                    raise BenchmarkError(f"{path}: line {line}: second row for {area} / {group}")
                seen.add((area, group))
                rows.append(BenchmarkRow(area, group, int(text)))
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: file not found") from None
    return rows


def write_benchmark(rows: Iterable[BenchmarkRow], path: Path) -> None:
    """Write a benchmark file (``area,group,population``), in the order given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows(rows)
