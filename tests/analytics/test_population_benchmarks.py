"""The population benchmark: area apportioning, largest-remainder rounding, the Toronto build and its CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box
from typer.testing import CliRunner

from fairengage.analytics.population_benchmarks import (
    BenchmarkError,
    BenchmarkRow,
    default_benchmark_path,
    describe,
    read_benchmark,
    toronto,
    write_benchmark,
)
from fairengage.cli import app
from fairengage.vocabulary import BENCHMARK_GROUPS

REAL = Path(__file__).resolve().parents[2] / "../shared/data/realdata"
runner = CliRunner()


def unwrapped(stderr: str) -> str:
    """The error as printed, less the line breaks Rich adds at the console width (80 without a terminal)."""
    return stderr.replace("\n", "")


# The mapping written out again by hand, so the expected figures do not come from census_groups.csv.
EXPECTED_MAPPING: dict[str, list[tuple[int, str, str]]] = {
    "Black": [(1, "Visible minority", "Black")],
    "East/Southeast Asian": [
        (1, "Visible minority", name)
        for name in ("Chinese", "Filipino", "Southeast Asian", "Korean", "Japanese")
    ],
    "Indigenous": [(1, "Aboriginal peoples", "Aboriginal identity")],
    "Latino": [(1, "Visible minority", "Latin American")],
    "Middle Eastern": [(1, "Visible minority", "Arab"), (1, "Visible minority", "West Asian")],
    "South Asian": [(1, "Visible minority", "South Asian")],
    "White": [
        (1, "Visible minority", "Not a visible minority"),
        (-1, "Aboriginal peoples", "Aboriginal identity"),
    ],
    "Another race": [
        (1, "Visible minority", "Visible minority; n.i.e."),
        (1, "Visible minority", "Multiple visible minorities"),
    ],
}


# --- area apportioning on hand-made geometry ------------------------------------------------------------


def test_area_shares_of_two_squares_in_two_divisions():
    hoods = {"A": box(0, 0, 2, 2), "B": box(2, 0, 4, 2)}
    divisions = {"X": box(0, 0, 1.5, 2), "Y": box(1.5, 0, 4, 2)}
    # A has 1.5 of its 2 width units in X; B lies wholly in Y.
    assert toronto.area_shares(hoods, divisions) == {"A": {"X": 0.75, "Y": 0.25}, "B": {"Y": 1.0}}


def test_apportion_shares_each_group_by_area():
    shares = {"A": {"X": 0.75, "Y": 0.25}, "B": {"Y": 1.0}}
    counts = {"A": {"Black": 100, "White": 40}, "B": {"Black": 10, "White": 200}}
    assert toronto.apportion(counts, shares) == {
        "X": {"Black": 75.0, "White": 30.0},
        "Y": {"Black": 35.0, "White": 210.0},
    }


def test_area_outside_every_division_is_shared_over_the_covered_part():
    # Half of the strip lies outside both divisions (like the Toronto Islands): its people go to the rest.
    hoods = {"strip": box(0, 0, 4, 1)}
    divisions = {"X": box(0, 0, 1, 2), "Y": box(1, 0, 2, 2)}
    assert toronto.area_shares(hoods, divisions) == {"strip": {"X": 0.5, "Y": 0.5}}


def test_neighbourhood_in_no_division_is_refused():
    with pytest.raises(BenchmarkError, match="neighbourhood far lies in no division"):
        toronto.area_shares({"far": box(10, 10, 11, 11)}, {"X": box(0, 0, 1, 1)})


# --- largest-remainder rounding ---------------------------------------------------------------------------


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False), max_size=30))
def test_largest_remainder_keeps_the_total(values):
    named = {f"k{i}": v for i, v in enumerate(values)}
    total = round(sum(values))
    rounded = toronto.largest_remainder(named, total)
    assert sum(rounded.values()) == total
    for key, value in named.items():
        assert abs(rounded[key] - value) < 1
        if value == int(value):
            assert rounded[key] == value


def test_largest_remainder_gives_the_units_to_the_largest_fractions_first():
    assert toronto.largest_remainder({"a": 1.2, "b": 1.7, "c": 1.1}, 4) == {"a": 1, "b": 2, "c": 1}
    # Ties go to the earlier key.
    assert toronto.largest_remainder({"a": 0.5, "b": 0.5}, 1) == {"a": 1, "b": 0}


def test_largest_remainder_refuses_an_unreachable_total():
    with pytest.raises(ValueError, match="cannot round"):
        toronto.largest_remainder({"a": 1.5, "b": 1.5}, 7)


# --- the benchmark file format ---------------------------------------------------------------------------


def test_benchmark_file_round_trips(tmp_path):
    rows = [BenchmarkRow("D11", "Black", 5), BenchmarkRow("ALL", "Black", 5)]
    write_benchmark(rows, tmp_path / "b.csv")
    assert (tmp_path / "b.csv").read_text().splitlines()[0] == "area,group,population"
    assert read_benchmark(tmp_path / "b.csv") == rows


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        # One reader and one set of rules for every benchmark file (population_benchmarks/__init__.py).
        ("area,group,population\nD11,Unknown,5\n",
         "row 2, column 'group': 'Unknown' is an officer's answer, not a population group: leave it out"),
        ("area,group,population\nD11,Black,5.5\n", "row 2, column 'population': '5.5' is not a whole number"),
        ("area,group,population\nALL,Black,5\nD11,Black,5\nD11,Black,6\n",
         "row 4, column 'group': 'Black' appears twice for area 'D11'"),
        ("division,group,population\n", "column 'area': missing from the header (row 1)"),
        ("area,group,population\nD11,Black,5\n", "column 'area': no 'ALL' rows (the city-wide population)"),
    ],
)
def test_a_bad_benchmark_file_is_named_with_its_line(tmp_path, body, problem):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(BenchmarkError) as caught:
        read_benchmark(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_a_benchmark_saved_by_a_spreadsheet_reads_past_its_byte_order_mark(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes("area,group,population\nALL,Black,5\n".encode("utf-8-sig"))
    assert read_benchmark(path) == [BenchmarkRow("ALL", "Black", 5)]


def test_describe_quotes_sources_mapping_and_method():
    text = describe()
    assert "\n" not in text
    for needed in ("2016 Census", "Neighbourhood Profiles", "largest-remainder", "evenly", "not the people"):
        assert needed in text
    assert "Middle Eastern = Arab + West Asian" in text
    assert "White = Not a visible minority − Aboriginal identity" in text


# --- a small hand-made city, end to end through the command ----------------------------------------------


def _square(lon: float, lat: float, size: float) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _collection(features: list[tuple[dict, dict]]) -> str:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
        }
    )


SMALL_COUNTS = {  # Characteristic -> (Alpha, Beta)
    "Black": (100, 20),
    "Chinese": (50, 300),
    "Filipino": (10, 5),
    "Southeast Asian": (5, 5),
    "Korean": (0, 10),
    "Japanese": (5, 0),
    "Latin American": (15, 25),
    "Arab": (5, 10),
    "West Asian": (10, 0),
    "South Asian": (40, 60),
    "Visible minority; n.i.e.": (5, 5),
    "Multiple visible minorities": (10, 0),
    "Not a visible minority": (700, 400),
}


def _small_city(folder: Path, *, drop_row: str | None = None, hoods: tuple[int, ...] = (1, 2)) -> Path:
    """Two neighbourhoods, each wholly inside one of two divisions, near Toronto."""
    lines = [
        ["_id", "Category", "Topic", "Data Source", "Characteristic", "City of Toronto", "Alpha", "Beta"],
        ["1", "Neighbourhood Information", "", "", "Neighbourhood Number", "", "1", "2"],
        ["2", "Aboriginal peoples", "", "", "  Aboriginal identity", "35", "30", "5"],
    ]
    for at, (name, (alpha, beta)) in enumerate(SMALL_COUNTS.items(), start=3):
        city = f"{alpha + beta:,}"
        lines.append([str(at), "Visible minority", "", "", f"    {name}", city, str(alpha), str(beta)])
    lines = [line for line in lines if line[4].strip() != drop_row]
    with (folder / toronto.PROFILES_FILE).open("w", newline="") as handle:
        csv.writer(handle).writerows(lines)
    places = {1: (-79.40, 43.65), 2: (-79.30, 43.70)}
    (folder / toronto.NEIGHBOURHOODS_FILE).write_text(
        _collection([({"AREA_SHORT_CODE": n}, _square(*places[n], 0.01)) for n in hoods])
    )
    (folder / toronto.DIVISIONS_FILE).write_text(
        _collection(
            [
                ({"DIV": "D1"}, _square(places[1][0] - 0.01, places[1][1] - 0.01, 0.03)),
                ({"DIV": "D2"}, _square(places[2][0] - 0.01, places[2][1] - 0.01, 0.03)),
            ]
        )
    )
    return folder


def test_build_toronto_command_on_a_small_city(tmp_path):
    data = _small_city(tmp_path)
    out = tmp_path / "bench.csv"
    result = runner.invoke(app, ["benchmark", "build-toronto", "--data-dir", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = {(r.area, r.group): r.population for r in read_benchmark(out)}
    assert len(got) == 3 * len(BENCHMARK_GROUPS)
    assert got["D1", "Black"] == 100
    assert got["D2", "East/Southeast Asian"] == 300 + 5 + 5 + 10
    assert got["D1", "Indigenous"] == 30
    assert got["D1", "White"] == 700 - 30
    assert got["D2", "Another race"] == 5
    assert got["ALL", "Middle Eastern"] == 25
    assert got["ALL", "White"] == 1100 - 35
    assert "wrote 24 rows" in result.output


def test_missing_input_file_is_one_line_naming_it(tmp_path):
    data = _small_city(tmp_path)
    (data / toronto.DIVISIONS_FILE).unlink()
    result = runner.invoke(app, ["benchmark", "build-toronto", "--data-dir", str(data), "--out", "x.csv"])
    assert result.exit_code == 1
    assert unwrapped(result.stderr) == f"error: {data / toronto.DIVISIONS_FILE}: file not found"


def test_missing_census_row_is_named(tmp_path):
    data = _small_city(tmp_path, drop_row="Arab")
    with pytest.raises(BenchmarkError) as caught:
        toronto.build_toronto(
            profiles=data / toronto.PROFILES_FILE,
            neighbourhoods=data / toronto.NEIGHBOURHOODS_FILE,
            divisions=data / toronto.DIVISIONS_FILE,
        )
    message = str(caught.value)
    assert message == (
        f"{data / toronto.PROFILES_FILE}: no row with Category 'Visible minority' and Characteristic 'Arab'"
    )
    result = runner.invoke(app, ["benchmark", "build-toronto", "--data-dir", str(data), "--out", "x.csv"])
    assert result.exit_code == 1
    assert unwrapped(result.stderr) == f"error: {message}"


def test_neighbourhood_without_boundary_is_named(tmp_path):
    data = _small_city(tmp_path, hoods=(1,))
    result = runner.invoke(app, ["benchmark", "build-toronto", "--data-dir", str(data), "--out", "x.csv"])
    assert result.exit_code == 1
    assert unwrapped(result.stderr) == (
        f"error: {data / toronto.NEIGHBOURHOODS_FILE}: no boundary for neighbourhood 2 (Beta)"
    )


def test_unreadable_count_is_named_with_row_and_column(tmp_path):
    data = _small_city(tmp_path)
    path = data / toronto.PROFILES_FILE
    path.write_text(path.read_text().replace(",100,", ",1OO,"))
    with pytest.raises(BenchmarkError, match=r"row _id 3, column 'Alpha': '1OO' is not a whole number"):
        toronto.build_toronto(
            profiles=path,
            neighbourhoods=data / toronto.NEIGHBOURHOODS_FILE,
            divisions=data / toronto.DIVISIONS_FILE,
        )


# --- the real public files --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Path:
    if not (REAL / toronto.PROFILES_FILE).exists():
        pytest.skip(f"the shared real data folder {REAL} is absent (a fresh clone has no ../shared)")
    return REAL.resolve()


@pytest.fixture(scope="module")
def built(real):
    return toronto.build_toronto(
        profiles=real / toronto.PROFILES_FILE,
        neighbourhoods=real / toronto.NEIGHBOURHOODS_FILE,
        divisions=real / toronto.DIVISIONS_FILE,
    )


def _independent_census(real: Path) -> tuple[dict[str, int], dict[str, int], int]:
    """(sum of the 140 neighbourhood columns, City of Toronto column, neighbourhoods) per mapped group."""
    with (real / toronto.PROFILES_FILE).open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    header = table[0]
    city_at = header.index("City of Toronto")
    rows = {(line[1], line[4].strip()): line for line in table[1:]}
    hoods = len(header) - city_at - 1
    by_hoods: dict[str, int] = {}
    city: dict[str, int] = {}
    for group, terms in EXPECTED_MAPPING.items():
        by_hoods[group] = sum(
            sign * int(cell.replace(",", ""))
            for sign, category, name in terms
            for cell in rows[category, name][city_at + 1 :]
        )
        city[group] = sum(sign * int(rows[c, n][city_at].replace(",", "")) for sign, c, n in terms)
    return by_hoods, city, hoods


def test_real_build_has_sixteen_divisions_and_the_city(built):
    areas = {row.area for row in built.rows}
    assert len(areas) == 17
    assert "ALL" in areas
    assert all(area.startswith("D") for area in areas - {"ALL"})
    assert len(built.rows) == 17 * len(BENCHMARK_GROUPS)
    assert all(row.population >= 0 for row in built.rows)


def test_real_city_totals_match_the_census(real, built):
    by_hoods, city, hoods = _independent_census(real)
    assert hoods == 140
    assert built.city() == by_hoods  # every neighbourhood's people are given out, none twice
    assert built.census_city == city
    for group, terms in EXPECTED_MAPPING.items():
        # The census rounds each published figure at random to a multiple of 5 (off by at most 4), so the
        # neighbourhoods' sum may differ from the City's own column by up to 4 per cell and row.
        assert abs(built.city()[group] - city[group]) <= 4 * (hoods + 1) * len(terms), group


def test_real_divisions_add_up_to_the_city(built):
    city = built.city()
    for group in BENCHMARK_GROUPS:
        assert sum(r.population for r in built.rows if r.group == group and r.area != "ALL") == city[group]


def test_shipped_benchmark_is_a_fresh_build(built):
    assert read_benchmark(default_benchmark_path()) == built.rows


def test_build_toronto_command_rebuilds_the_shipped_file(real, tmp_path):
    out = tmp_path / "toronto.csv"
    result = runner.invoke(app, ["benchmark", "build-toronto", "--data-dir", str(real), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == default_benchmark_path().read_bytes()
    city_total = sum(row.population for row in read_benchmark(out) if row.area == "ALL")
    assert f"{city_total:,}" in result.output  # the summary table shows the city total


def test_show_prints_the_shipped_file():
    result = runner.invoke(app, ["benchmark", "show", "--csv"])
    assert result.exit_code == 0
    assert result.stdout == default_benchmark_path().read_text()
    table = runner.invoke(app, ["benchmark", "show"])
    assert table.exit_code == 0
    assert "D55" in table.stdout
    assert "Population benchmark" in table.stdout
