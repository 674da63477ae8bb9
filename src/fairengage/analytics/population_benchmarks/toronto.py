"""Build Toronto's population benchmark by police division from the City's public census and boundary files.

Inputs, all public: the City of Toronto's 2016 Neighbourhood Profiles (one column per neighbourhood,
numbers with thousands separators), the City's 140 neighbourhood boundaries and the Toronto Police
Service's 16 division boundaries (both GeoJSON in WGS84 longitude/latitude). Census rows become
perceived-race groups through ``census_groups.csv``; each neighbourhood's groups are shared among the
divisions by area (see ``area_shares``); each group's division figures are rounded by largest
remainder so that they add up exactly to the city figure.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from fairengage.analytics.population_benchmarks import (
    CITY,
    GROUP_MAPPING_FILE,
    BenchmarkError,
    BenchmarkRow,
    CensusTerm,
    load_group_mapping,
)
from fairengage.vocabulary import BENCHMARK_GROUPS

PROFILES_FILE = "toronto_neighbourhood_profiles_2016.csv"
NEIGHBOURHOODS_FILE = "toronto_neighbourhoods_140.geojson"
DIVISIONS_FILE = "tps_police_divisions.geojson"
# Areas are measured in metres in UTM zone 17N (WGS84), the zone Toronto lies in; the ratios of areas
# barely depend on the projection, but they must not be taken in degrees (a degree of longitude is
# about 0.72 of a degree of latitude at 43.7° N).
AREA_CRS = "EPSG:32617"
# GeoJSON without a "crs" member is WGS84 longitude/latitude (RFC 7946, section 4).
GEOJSON_CRS = "OGC:CRS84"
NUMBER_ROW = ("Neighbourhood Information", "Neighbourhood Number")
CITY_COLUMN = "City of Toronto"
# A neighbourhood with less of its area inside the divisions than this is reported in the summary.
FULL_COVER = 0.99

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Profiles:
    """The census rows the mapping needs: per neighbourhood number, and the city-wide column."""

    path: Path
    names: dict[int, str]
    counts: dict[int, dict[tuple[str, str], int]]
    city: dict[tuple[str, str], int]


@dataclass(frozen=True)
class PartialCover:
    """A neighbourhood only part of whose area lies in a division (its people are shared over that part)."""

    number: int
    name: str
    covered: float


@dataclass(frozen=True)
class TorontoBuild:
    """The benchmark rows, the census's own city figures for the same rows, and the coverage notes."""

    rows: list[BenchmarkRow]
    census_city: dict[str, int]
    partial_cover: list[PartialCover]

    def totals(self) -> dict[str, int]:
        """Population per area (division codes and ALL), over every group."""
        result: dict[str, int] = {}
        for row in self.rows:
            result[row.area] = result.get(row.area, 0) + row.population
        return result

    def city(self) -> dict[str, int]:
        """The benchmark's city-wide figure per group (the ALL rows)."""
        return {row.group: row.population for row in self.rows if row.area == CITY}


def _count(text: str, path: Path, row_id: str, column: str) -> int:
    try:
        return int(text.replace(",", "").strip())
    except ValueError:
        raise BenchmarkError(
            f"{path}: row _id {row_id}, column {column!r}: {text!r} is not a whole number"
        ) from None


def read_profiles(path: Path, terms: list[CensusTerm]) -> Profiles:
    """Read the census rows named by the mapping from the City's wide Neighbourhood Profiles file."""
    wanted = {(t.census_category, t.characteristic) for t in terms}
    try:
        # utf-8-sig: the City's downloads sometimes start with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if "Category" not in header or "Characteristic" not in header:
                raise BenchmarkError(f"{path}: no Category or Characteristic column")
            category_at, characteristic_at = header.index("Category"), header.index("Characteristic")
            found: dict[tuple[str, str], list[str]] = {}
            for line in reader:
                if len(line) != len(header):
                    continue
                # Characteristic is indented with spaces to show the census hierarchy.
                key = (line[category_at].strip(), line[characteristic_at].strip())
                if key in wanted or key == NUMBER_ROW:
                    found.setdefault(key, line)
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: file not found") from None
    if CITY_COLUMN not in header:
        raise BenchmarkError(f"{path}: no {CITY_COLUMN!r} column")
    for key in [NUMBER_ROW, *sorted(wanted)]:
        if key not in found:
            raise BenchmarkError(f"{path}: no row with Category {key[0]!r} and Characteristic {key[1]!r}")
    id_at = header.index("_id") if "_id" in header else 0
    city_at = header.index(CITY_COLUMN)
    numbers_row = found[NUMBER_ROW]
    names: dict[int, str] = {}
    columns: dict[int, int] = {}
    for at in range(city_at + 1, len(header)):
        number = _count(numbers_row[at], path, numbers_row[id_at], header[at])
        names[number] = header[at]
        columns[number] = at
    counts = {
        number: {key: _count(found[key][at], path, found[key][id_at], header[at]) for key in wanted}
        for number, at in columns.items()
    }
    city = {key: _count(found[key][city_at], path, found[key][id_at], CITY_COLUMN) for key in wanted}
    return Profiles(path=path, names=names, counts=counts, city=city)


def group_counts(counts: Mapping[tuple[str, str], int], terms: list[CensusTerm]) -> dict[str, int]:
    """Apply the mapping to one column of census counts: perceived-race group -> people."""
    result = dict.fromkeys(BENCHMARK_GROUPS, 0)
    for term in terms:
        result[term.group] += term.sign * counts[(term.census_category, term.characteristic)]
    return result


def read_areas(path: Path, key: str) -> dict[str, BaseGeometry]:
    """Read a GeoJSON FeatureCollection into {feature property ``key``: geometry in metres}."""
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"{path}: not GeoJSON ({exc})") from None
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list):
        raise BenchmarkError(f"{path}: not a GeoJSON FeatureCollection")
    source_crs = ((collection.get("crs") or {}).get("properties") or {}).get("name", GEOJSON_CRS)
    try:
        transformer = Transformer.from_crs(CRS(source_crs), CRS(AREA_CRS), always_xy=True)
    except CRSError:
        raise BenchmarkError(f"{path}: unknown coordinate reference system {source_crs!r}") from None
    areas: dict[str, BaseGeometry] = {}
    for at, feature in enumerate(features):
        value = (feature.get("properties") or {}).get(key)
        if value is None or str(value).strip() == "":
            raise BenchmarkError(f"{path}: feature {at} has no {key!r} property")
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BenchmarkError(f"{path}: feature {at} ({key} {value}) has no usable geometry") from None
        # types-shapely types only the interleaved form (one array of points in and out); with
        # interleaved=False shapely passes x and y apart, which is what pyproj's transform takes.
        geometry = shapely.transform(
            geometry, transformer.transform, interleaved=False  # type: ignore[arg-type]
        )
        # A self-touching ring would make intersections fail; repair rather than refuse.
        areas[str(value).strip()] = geometry if geometry.is_valid else shapely.make_valid(geometry)
    return areas


def division_overlaps(
    neighbourhoods: Mapping[K, BaseGeometry], divisions: Mapping[str, BaseGeometry]
) -> dict[K, dict[str, float]]:
    """The area (in the geometries' units) each neighbourhood shares with each division it overlaps."""
    tree = shapely.STRtree(list(divisions.values()))
    codes = list(divisions)
    overlaps: dict[K, dict[str, float]] = {}
    for key, geometry in neighbourhoods.items():
        here: dict[str, float] = {}
        for at in sorted(int(i) for i in tree.query(geometry, predicate="intersects")):
            area = geometry.intersection(divisions[codes[at]]).area
            if area > 0:
                here[codes[at]] = area
        overlaps[key] = dict(sorted(here.items()))
    return overlaps


def area_shares(
    neighbourhoods: Mapping[K, BaseGeometry], divisions: Mapping[str, BaseGeometry]
) -> dict[K, dict[str, float]]:
    """Each neighbourhood's share of area in each division, over the part of it that lies in any division.

    The shares of a neighbourhood add up to 1, so its whole population is given out even where a
    sliver (or, for the Toronto Islands, a large part) lies outside every division's boundary. A
    neighbourhood that touches no division is an error: there is nowhere to put its people.
    """
    return _shares(division_overlaps(neighbourhoods, divisions))


def _shares(overlaps: Mapping[K, Mapping[str, float]]) -> dict[K, dict[str, float]]:
    shares: dict[K, dict[str, float]] = {}
    for key, here in overlaps.items():
        covered = sum(here.values())
        if covered <= 0:
            raise BenchmarkError(f"neighbourhood {key} lies in no division")
        shares[key] = {code: area / covered for code, area in here.items()}
    return shares


def apportion(
    counts: Mapping[K, Mapping[str, int]], shares: Mapping[K, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Share each neighbourhood's group counts among divisions: division -> group -> people (not rounded)."""
    result: dict[str, dict[str, float]] = {}
    for key, groups in counts.items():
        for code, share in shares[key].items():
            into = result.setdefault(code, {})
            for group, people in groups.items():
                into[group] = into.get(group, 0.0) + people * share
    return result


def largest_remainder(values: Mapping[K, float], total: int) -> dict[K, int]:
    """Round non-negative values to whole numbers that add up to ``total`` (largest-remainder method).

    Every value is rounded down, then the units still missing go one each to the values with the
    largest fractional parts (ties to the earlier key). ``total`` must be within the values' sum
    rounded down and up to the next whole number per value, which holds when it is their rounded sum.
    """
    floors = {key: math.floor(value) for key, value in values.items()}
    missing = total - sum(floors.values())
    if missing < 0 or missing > len(floors):
        raise ValueError(f"cannot round values summing to {sum(values.values())} to a total of {total}")
    order = sorted(values, key=lambda key: values[key] - floors[key], reverse=True)
    for key in order[:missing]:
        floors[key] += 1
    return floors


def build_toronto(
    *,
    profiles: Path,
    neighbourhoods: Path,
    divisions: Path,
    groups: Path = GROUP_MAPPING_FILE,
) -> TorontoBuild:
    """Build the benchmark rows (every division x group, then ALL) from the three public files."""
    terms = load_group_mapping(groups)
    census = read_profiles(profiles, terms)
    hood_shapes = read_areas(neighbourhoods, "AREA_SHORT_CODE")
    division_shapes = read_areas(divisions, "DIV")
    shapes: dict[int, BaseGeometry] = {}
    for number, name in sorted(census.names.items()):
        geometry = hood_shapes.get(str(number))
        if geometry is None:
            raise BenchmarkError(f"{neighbourhoods}: no boundary for neighbourhood {number} ({name})")
        shapes[number] = geometry
    extra = sorted(set(hood_shapes) - {str(n) for n in census.names}, key=str)
    if extra:
        raise BenchmarkError(f"{profiles}: no profile column for neighbourhood(s) {', '.join(extra)}")
    overlaps = division_overlaps(shapes, division_shapes)
    try:
        shares = _shares(overlaps)
    except BenchmarkError as exc:
        raise BenchmarkError(f"{neighbourhoods}: {exc}") from None
    counts = {number: group_counts(census.counts[number], terms) for number in shapes}
    for number, groups_here in counts.items():
        negative = [g for g, people in groups_here.items() if people < 0]
        if negative:
            raise BenchmarkError(
                f"{profiles}: neighbourhood {number} ({census.names[number]}) has a negative count for "
                f"{', '.join(negative)} after the mapping"
            )
    by_division = apportion(counts, shares)
    codes = sorted(by_division)
    rounded: dict[str, dict[str, int]] = {code: {} for code in codes}
    city: dict[str, int] = {}
    for group in BENCHMARK_GROUPS:
        # The city figure is the exact sum of the neighbourhoods; the divisions are rounded to keep it.
        city[group] = sum(groups_here[group] for groups_here in counts.values())
        people = largest_remainder({code: by_division[code].get(group, 0.0) for code in codes}, city[group])
        for code in codes:
            rounded[code][group] = people[code]
    rows = [BenchmarkRow(code, group, rounded[code][group]) for code in codes for group in BENCHMARK_GROUPS]
    rows += [BenchmarkRow(CITY, group, city[group]) for group in BENCHMARK_GROUPS]
    partial = [
        PartialCover(number, census.names[number], covered)
        for number, geometry in shapes.items()
        if (covered := sum(overlaps[number].values()) / geometry.area) < FULL_COVER
    ]
    return TorontoBuild(rows=rows, census_city=group_counts(census.city, terms), partial_cover=partial)
