"""The division map: Toronto's real boundaries, five classes, hatching for gaps, a tile grid, clear errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from fairengage.reports.maps import (
    SEQUENTIAL_BLUES,
    BoundaryFileError,
    choropleth,
    class_breaks,
    class_of,
    read_boundaries,
    utm_epsg,
)

SVG = "{http://www.w3.org/2000/svg}"
REALDATA = Path(__file__).resolve().parents[2] / "../shared/data/realdata"
TORONTO = REALDATA / "tps_police_divisions.geojson"


@pytest.fixture(scope="module")
def toronto() -> Path:
    if not TORONTO.exists():
        pytest.skip(f"Toronto's division boundaries are not here ({TORONTO}); they live outside the project")
    return TORONTO


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314  (our own output)


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def divisions(root: ET.Element) -> dict[str, ET.Element]:
    return {e.get("data-code"): e for e in by_class(root, "division")}


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def square(lon: float, lat: float, size: float = 0.02) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        ],
    }


def write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_class_breaks_are_equal_intervals_and_edges_go_to_the_upper_class():
    # 10..60 in five equal steps of 10: hand-computed edges and classes.
    assert class_breaks([60, 10, 35, None]) == [10, 20, 30, 40, 50, 60]
    breaks = class_breaks([10, 60])
    assert [class_of(v, breaks) for v in (10, 19.9, 20, 29, 30, 45, 50, 59, 60)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        4,
        4,
        4,
    ]
    assert class_breaks([0.5, 3.0]) == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    assert class_breaks([]) == []
    assert class_breaks([7, 7]) == [7, 7]


def test_utm_zone_for_toronto():
    assert utm_epsg(-79.38, 43.65) == 32617
    assert utm_epsg(151.2, -33.9) == 32756  # Sydney: southern hemisphere


def test_toronto_map_has_a_path_per_division_a_five_class_legend_and_labels(toronto):
    codes = sorted(f["properties"]["DIV"] for f in json.loads(toronto.read_text())["features"])
    values = {code: i + 0.25 for i, code in enumerate(codes)}
    chart = choropleth(
        values, boundaries=toronto, title="Engagements by division", legend_title="Engagements"
    )
    root = parse(chart.svg)
    assert root.get("role") == "img" and root.get("viewBox")
    assert root.find(f"{SVG}title").text == chart.title and root.find(f"{SVG}desc").text == chart.alt
    drawn = divisions(root)
    assert len(codes) == 16 and sorted(drawn) == codes
    for code, path in drawn.items():
        assert path.tag == f"{SVG}path"
        assert path.get("id").endswith(f"-{code}") and f"division-{code}" in path.get("class")
        assert path.get("d").startswith("M")
    assert len(by_class(root, "legend-class")) == 5
    assert not by_class(root, "legend-missing")  # nothing is missing here
    shown = texts(root)
    for code in codes:
        assert code in shown, code
        assert f"{code}: {values[code]:.2f}" in chart.alt
    assert "<script" not in chart.svg and "http://www.w3.org/2000/svg" in chart.svg
    assert "http" not in chart.svg.replace("http://www.w3.org/2000/svg", "")


def test_toronto_map_is_projected_north_up_and_east_right(toronto):
    chart = choropleth({}, boundaries=toronto, title="Map", legend_title="Value")
    drawn = divisions(parse(chart.svg))

    def centre(code: str) -> tuple[float, float]:
        ring = drawn[code].get("d").split("Z")[0].strip("M ").split(" L")
        points = [tuple(map(float, p.split(","))) for p in ring]
        return shapely.Polygon(points).centroid.coords[0]

    # 22 Division (Etobicoke) lies south-west of 42 Division (north Scarborough); SVG y grows downwards.
    west_x, south_y = centre("D22")
    east_x, north_y = centre("D42")
    assert west_x < east_x and south_y > north_y


def test_toronto_map_shades_by_class_and_hatches_missing_and_suppressed(toronto):
    values = {"D11": 10, "D12": 25, "D13": 30, "D14": 60, "D22": 49, "D33": None}  # D53 and others absent
    chart = choropleth(values, boundaries=toronto, title="Engagements", legend_title="Engagements")
    root = parse(chart.svg)
    drawn = divisions(root)
    # Edges 10, 20, 30, 40, 50, 60 (hand-computed): 10→0, 25→1, 30→2, 49→3, 60→4.
    expected = {"D11": 0, "D12": 1, "D13": 2, "D22": 3, "D14": 4}
    for code, shade in expected.items():
        assert drawn[code].get("fill") == SEQUENTIAL_BLUES[shade], code
    hatch = drawn["D33"].get("fill")
    assert hatch.startswith("url(#") and root.find(f".//{SVG}pattern[@id='{hatch[5:-1]}']") is not None
    assert drawn["D53"].get("fill") == hatch
    assert "suppressed" in drawn["D33"].get("class") and "missing" in drawn["D53"].get("class")
    assert "D33: suppressed" in chart.alt and "D53: no data" in chart.alt and "D14: 60" in chart.alt
    assert len(by_class(root, "legend-missing")) == 1
    legend = " ".join("".join(g.itertext()) for g in by_class(root, "legend-class"))
    assert "10–20" in legend and "50–60" in legend


def test_tile_grid_without_boundaries_has_one_tile_per_division_in_code_order():
    values = {"D11": 3.5, "D2": 1.25, "D5": None, "D31": 2.0, "D14": 5.0}
    chart = choropleth(values, boundaries=None, title="By division", legend_title="Index")
    root = parse(chart.svg)
    tiles = by_class(root, "division")
    assert [t.get("data-code") for t in tiles] == ["D2", "D5", "D11", "D14", "D31"]  # natural order
    assert all(t.tag == f"{SVG}rect" for t in tiles)
    # Three columns for five tiles, filled row by row.
    spots = [(float(t.get("x")), float(t.get("y"))) for t in tiles]
    assert spots[0][1] == spots[1][1] == spots[2][1] < spots[3][1] == spots[4][1]
    assert spots[0][0] < spots[1][0] < spots[2][0] and spots[3][0] == spots[0][0]
    assert tiles[1].get("fill").startswith("url(#")
    assert tiles[4].get("fill") != tiles[0].get("fill")
    for code in values:
        assert code in texts(root)
    assert "D5: suppressed" in chart.alt and "D14: 5.00" in chart.alt
    assert len(by_class(root, "legend-class")) == 5


def test_own_boundary_file_with_another_code_property(tmp_path):
    path = write(
        tmp_path / "mine.geojson",
        [
            {"type": "Feature", "properties": {"CODE": "North"}, "geometry": square(-75.70, 45.42)},
            {"type": "Feature", "properties": {"CODE": "South"}, "geometry": square(-75.70, 45.38)},
        ],
    )
    chart = choropleth(
        {"North": 4, "South": 8, "East": 2},
        boundaries=path,
        code_property="CODE",
        title="Ottawa",
        legend_title="Count",
    )
    drawn = divisions(parse(chart.svg))
    assert sorted(drawn) == ["North", "South"]
    # The scale spans the divisions drawn (4 to 8), not East, which has no outline in the file.
    assert (
        drawn["North"].get("fill") == SEQUENTIAL_BLUES[0]
        and drawn["South"].get("fill") == SEQUENTIAL_BLUES[4]
    )
    assert "East: 2" in chart.alt and "Not on the map (no boundary in the file): East." in chart.alt


def test_a_division_split_over_features_is_one_shape(tmp_path):
    path = write(
        tmp_path / "split.geojson",
        [
            {"type": "Feature", "properties": {"DIV": "D1"}, "geometry": square(-79.4, 43.6)},
            {"type": "Feature", "properties": {"DIV": "D1"}, "geometry": square(-79.3, 43.6)},
        ],
    )
    outlines = read_boundaries(path)
    assert list(outlines) == ["D1"]
    assert outlines["D1"].area == pytest.approx(shape(square(-79.4, 43.6)).area * 2)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not valid JSON at line 1, column 2"),
        ('{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "has no features"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"DIV": "D1"},
                            "geometry": {"type": "Point", "coordinates": [0, 0]},
                        }
                    ],
                }
            ),
            "feature 1 (D1) is a 'Point'",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {"type": "Feature", "properties": {"NAME": "x"}, "geometry": square(-79.4, 43.6)}
                    ],
                }
            ),
            "feature 1 has no 'DIV' property",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"DIV": "D1"},
                            "geometry": square(630000, 4830000, 1000),
                        }
                    ],
                }
            ),
            "must be in WGS84",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32617"}},
                    "features": [],
                }
            ),
            "reproject the file to WGS84",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"DIV": "D1"},
                            "geometry": {"type": "Polygon", "coordinates": [[1]]},
                        }
                    ],
                }
            ),
            "feature 1 (D1) has malformed coordinates",
        ),
    ],
)
def test_a_bad_boundary_file_gives_a_clear_error_naming_the_file(tmp_path, content, says):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(BoundaryFileError) as caught:
        choropleth({"D1": 1.0}, boundaries=path, title="t", legend_title="v")
    assert str(path) in str(caught.value)
    assert says in str(caught.value)


def test_a_missing_boundary_file_is_named(tmp_path):
    path = tmp_path / "nowhere.geojson"
    with pytest.raises(BoundaryFileError) as caught:
        choropleth({"D1": 1.0}, boundaries=path, title="t", legend_title="v")
    assert str(caught.value).startswith(f"{path}: cannot read the boundary file")


def test_nan_values_are_hatched_like_suppressed_ones():
    chart = choropleth(
        {"D1": float("nan"), "D2": 3.5, "D3": 1.5}, boundaries=None, title="t", legend_title="v"
    )
    tiles = divisions(parse(chart.svg))
    assert tiles["D1"].get("fill").startswith("url(#") and "D1: suppressed" in chart.alt
    assert "nan" not in chart.svg.lower()


def test_map_sentences_come_out_in_french(tmp_path):
    values = {"D2": 1.25, "D5": None}
    grid = choropleth(values, boundaries=None, title="Par division", legend_title="Indice", lang="fr")
    assert "Grille de 2 divisions, un carré chacune dans l’ordre des codes, en 5 classes de Indice" in (
        grid.alt
    )
    assert "D2\u00a0: 1,25" in grid.alt and "D5\u00a0: supprimé" in grid.alt
    assert "supprimé ou aucune donnée" in " ".join(texts(parse(grid.svg)))
    path = write(
        tmp_path / "one.geojson",
        [{"type": "Feature", "properties": {"DIV": "D1"}, "geometry": square(-79.4, 43.6)}],
    )
    drawn = choropleth({"D1": 4, "D9": 2}, boundaries=path, title="Carte", legend_title="Nombre", lang="fr")
    # Every division with a value is counted, on the map or not.
    assert "Carte de 2 divisions en 5 classes de Nombre, plus foncées pour les valeurs" in drawn.alt
    assert "Hors carte (aucune limite dans le fichier)\u00a0: D9." in drawn.alt
