"""The division map: a choropleth drawn as SVG from the service's own boundary file, or a tile grid.

No map tiles and no network: the boundaries are a GeoJSON file the service configures
(`FAIRENGAGE_BOUNDARIES`, see docs/charts-and-maps.md), projected with pyproj to the UTM zone of its
centre so that areas and shapes are not stretched, simplified to about half a pixel, and written as
SVG paths, one per division, each with the division's code as an id, a class and a label. Without a
boundary file the divisions are drawn as a grid of equal squares sorted by code, which shows the same
values without pretending to geography.

Values are shaded in five equal-interval classes of a single-hue sequential blue (ColorBrewer's
"Blues", which stays ordered for every common colour-vision deficiency and in greyscale); a division
with no value, or a suppressed one, is hatched. Every division is also labelled with its code and
value, so colour never carries the meaning alone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from fairengage.reports.charts import (
    INK,
    MUTED,
    WIDTH,
    Chart,
    attrs,
    chart_uid,
    finite,
    format_number,
    hatch_pattern,
    svg_document,
    text,
    text_width,
    title_block,
    words,
)
from fairengage.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, contexted

# ColorBrewer "Blues", 5 classes (Brewer, Harrower & Hepworth; colorbrewer2.org): light to dark.
SEQUENTIAL_BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
CLASSES = len(SEQUENTIAL_BLUES)
BORDER = "#404040"
MAP_HEIGHT_MAX = 460.0
# Coordinate names that say a file is in WGS84 longitude/latitude, as RFC 7946 requires.
WGS84_NAMES = ("CRS84", "4326")


def map_words(lang: str) -> dict[str, str]:
    """The maps' own sentences in a language (English when it is not known); French is in the catalogue."""
    pgettext = contexted(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    return {
        "map": pgettext(
            "map", "Map of %(n)s divisions shaded in %(k)s classes of %(legend)s, darker for higher values."
        ),
        "tiles": pgettext(
            "map",
            "Grid of %(n)s divisions, one square each in order of code, "
            "shaded in %(k)s classes of %(legend)s, darker for higher values.",
        ),
        "missing_key": pgettext("map", "suppressed or no data"),
        "off_map": pgettext("map", "Not on the map (no boundary in the file): %(codes)s."),
    }


class BoundaryFileError(ValueError):
    """The boundary file cannot be read, or is not a FeatureCollection of coded (multi)polygons."""


@dataclass(frozen=True)
class ShadeClass:
    """One class of the legend: its bounds and colour."""

    low: float
    high: float
    colour: str


def division_sort_key(code: str) -> tuple[Any, ...]:
    """Natural order of division codes, so that D2 comes before D11."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", code))


def class_breaks(values: Iterable[float], classes: int = CLASSES) -> list[float]:
    """Equal-interval class edges from the lowest to the highest value (classes + 1 edges)."""
    present = sorted(v for v in values if v is not None and math.isfinite(v))
    if not present:
        return []
    low, high = present[0], present[-1]
    if high == low:
        return [low, high]
    step = (high - low) / classes
    return [low + step * k for k in range(classes)] + [high]


def class_of(value: float, breaks: list[float]) -> int:
    """The class index of a value: each class holds its lower edge, the last also its upper edge."""
    if len(breaks) < 2 or breaks[-1] == breaks[0]:
        return 0
    for index in range(len(breaks) - 2, -1, -1):
        # A tolerance of a millionth of the range keeps a value that sits on an edge in the upper class.
        if value >= breaks[index] - (breaks[-1] - breaks[0]) * 1e-6:
            return index
    return 0


def shade_classes(breaks: list[float]) -> list[ShadeClass]:
    """The legend's classes for a list of edges (one class when every value is the same)."""
    if len(breaks) < 2:
        return []
    if breaks[0] == breaks[-1]:
        return [ShadeClass(breaks[0], breaks[0], SEQUENTIAL_BLUES[-1])]
    return [ShadeClass(breaks[k], breaks[k + 1], SEQUENTIAL_BLUES[k]) for k in range(len(breaks) - 1)]


def label_ink(fill: str) -> str:
    """Black or white text, whichever has the higher contrast on the fill."""
    channels = [int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


# --- reading boundaries ------------------------------------------------------------------------------


def read_boundaries(path: Path, code_property: str = "DIV") -> dict[str, BaseGeometry]:
    """Each division's outline in WGS84 longitude/latitude, from a GeoJSON FeatureCollection file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BoundaryFileError(f"{path}: cannot read the boundary file: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise BoundaryFileError(f"{path}: not a UTF-8 text file, so not GeoJSON") from exc
    except json.JSONDecodeError as exc:
        raise BoundaryFileError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise BoundaryFileError(f"{path}: expected a GeoJSON FeatureCollection, found {found!r}")
    crs_name = str(((data.get("crs") or {}).get("properties") or {}).get("name", "CRS84"))
    if not any(name in crs_name for name in WGS84_NAMES):
        raise BoundaryFileError(
            f"{path}: coordinates are in {crs_name}; "
            "reproject the file to WGS84 longitude/latitude (RFC 7946)"
        )
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise BoundaryFileError(f"{path}: the FeatureCollection has no features")
    shapes: dict[str, list[BaseGeometry]] = {}
    for number, feature in enumerate(features, start=1):
        where = f"{path}: feature {number}"
        if not isinstance(feature, dict):
            raise BoundaryFileError(f"{where} is not a GeoJSON Feature")
        code = (feature.get("properties") or {}).get(code_property)
        if code in (None, ""):
            raise BoundaryFileError(
                f"{where} has no {code_property!r} property (the division code; set FAIRENGAGE_BOUNDARY_CODE)"
            )
        geometry = feature.get("geometry") or {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise BoundaryFileError(
                f"{where} ({code}) is a {geometry.get('type')!r}; only Polygon and MultiPolygon are drawn"
            )
        try:
            outline = shape(geometry)
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            raise BoundaryFileError(f"{where} ({code}) has malformed coordinates: {exc}") from exc
        if outline.is_empty:
            raise BoundaryFileError(f"{where} ({code}) has no coordinates")
        min_x, min_y, max_x, max_y = outline.bounds
        if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
            raise BoundaryFileError(
                f"{where} ({code}) has coordinates outside longitude/latitude; "
                "the file must be in WGS84 (RFC 7946)"
            )
        shapes.setdefault(str(code), []).append(shapely.make_valid(outline))
    # A division split over several features (islands, say) is drawn as one.
    return {code: parts[0] if len(parts) == 1 else shapely.union_all(parts) for code, parts in shapes.items()}


def utm_epsg(longitude: float, latitude: float) -> int:
    """The EPSG code of the WGS84 UTM zone holding a point (EPSG:32617 for Toronto)."""
    zone = min(int((longitude + 180) // 6) + 1, 60)
    return (32600 if latitude >= 0 else 32700) + zone


def project(outlines: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """The outlines in metres, in the UTM zone of their common centre."""
    min_x, min_y, max_x, max_y = shapely.union_all(list(outlines.values())).bounds
    epsg = utm_epsg((min_x + max_x) / 2, (min_y + max_y) / 2)
    transformer = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)

    def to_metres(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return {code: shapely.transform(outline, to_metres) for code, outline in outlines.items()}


@lru_cache(maxsize=8)
def _projected(path: str, modified: int, code_property: str) -> dict[str, BaseGeometry]:
    """Boundaries read and projected once per file version (the file's mtime is part of the key)."""
    return project(read_boundaries(Path(path), code_property))


def _polygons(outline: BaseGeometry) -> list[Polygon]:
    """The polygons of an outline, whatever make_valid or simplify turned it into."""
    if isinstance(outline, Polygon):
        return [outline]
    if isinstance(outline, MultiPolygon):
        return list(outline.geoms)
    return [g for part in getattr(outline, "geoms", []) for g in _polygons(part)]


# --- drawing ------------------------------------------------------------------------------------------


def _value_text(
    value: float | None, present: bool, lang: str, decimals: int = 2, note: str | None = None
) -> str:
    """A division's value as printed: the number, the caller's words for a missing one, "suppressed"."""
    if value is not None:
        return format_number(value, lang, decimals=decimals)
    if note:
        return note
    return words(lang)["suppressed"] if present else words(lang)["no_data"]


def _said(
    values: dict[str, float | None], code: str, lang: str, decimals: int, notes: dict[str, str] | None
) -> str:
    """One division's value in the text alternative."""
    return _value_text(values.get(code), code in values, lang, decimals, (notes or {}).get(code))


def _decimals(values: Iterable[float]) -> int:
    """Decimals to print: none when every value is a whole number (counts), otherwise two."""
    return 0 if all(float(v).is_integer() for v in values) else 2


def _legend(
    classes: list[ShadeClass],
    legend_title: str,
    hatch: str,
    show_missing: bool,
    y: float,
    lang: str,
    decimals: int,
) -> tuple[list[str], float]:
    """A horizontal legend: the title, a swatch per class with its range, and the hatch."""
    if classes and classes[0].high - classes[0].low < 1:
        decimals = 2  # whole-number values in classes narrower than one need decimals to tell edges apart
    out = [text(16, y + 12, legend_title, size=12, font_weight="bold")]
    x, y = 16.0, y + 22
    items: list[tuple[str, str, str]] = []
    for shade in classes:
        low = format_number(shade.low, lang, decimals=decimals)
        high = format_number(shade.high, lang, decimals=decimals)
        items.append((f'fill="{shade.colour}"', low if low == high else f"{low}–{high}", "legend-class"))
    if show_missing:
        items.append(
            (f'fill="url(#{hatch})"', map_words(lang)["missing_key"], "legend-missing")
        )
    for paint, label, kind in items:
        width = max(44.0, text_width(label, 11)) + 14
        if x + width > WIDTH - 16:
            x, y = 16.0, y + 42
        out.append(
            f'<g class="{kind}"><rect {attrs(x=x, y=y, width=44, height=16)} {paint} stroke="{BORDER}" '
            'stroke-width="0.8"/>' + text(x, y + 30, label, size=11) + "</g>"
        )
        x += width
    return out, y + 42


def _map_alt(
    title: str,
    kind: str,
    codes: list[str],
    values: dict[str, float | None],
    legend_title: str,
    lang: str,
    decimals: int,
    notes: dict[str, str] | None = None,
) -> str:
    """Every division's value in words, in code order."""
    w = words(lang)
    sentence = map_words(lang)[kind] % {"n": len(codes), "k": CLASSES, "legend": legend_title}
    listed = w["semicolon"].join(
        f"{code}{w['colon']}{_said(values, code, lang, decimals, notes)}" for code in codes
    )
    return f"{title}. {sentence} {listed}."


def choropleth(
    values: dict[str, float | None],
    *,
    boundaries: Path | None,
    code_property: str = "DIV",
    title: str,
    legend_title: str,
    lang: str = "en",
    notes: dict[str, str] | None = None,
) -> Chart:
    """A division map shaded in five classes; a tile grid of divisions when no boundary file is given.

    `notes` gives the words printed for a division without a value (e.g. "fewer than 10", "withheld").
    """
    values = {str(code): finite(value) for code, value in values.items()}
    notes = {str(code): note for code, note in (notes or {}).items() if note}
    if boundaries is None:
        return _tile_grid(values, title=title, legend_title=legend_title, lang=lang, notes=notes)
    path = Path(boundaries)
    try:
        modified = path.stat().st_mtime_ns
    except OSError as exc:
        raise BoundaryFileError(f"{path}: cannot read the boundary file: {exc.strerror or exc}") from exc
    outlines = _projected(str(path.resolve()), modified, code_property)
    codes = sorted(outlines, key=division_sort_key)
    # The classes span the divisions drawn; a value with no outline is listed in the text alternative only.
    present = [value for code in codes if (value := values.get(code)) is not None]
    breaks = class_breaks(present)
    classes = shade_classes(breaks)
    decimals = _decimals(present)
    uid = chart_uid("map", title, legend_title, sorted(values.items(), key=lambda kv: kv[0]), str(path), lang)
    hatch = f"{uid}-hatch"

    body, y = title_block(title)
    min_x, min_y, max_x, max_y = shapely.union_all([outlines[c] for c in codes]).bounds
    scale = min((WIDTH - 32) / (max_x - min_x), MAP_HEIGHT_MAX / (max_y - min_y))
    left = 16 + ((WIDTH - 32) - (max_x - min_x) * scale) / 2
    top = y + 8

    def to_svg(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([left + (coords[:, 0] - min_x) * scale, top + (max_y - coords[:, 1]) * scale])

    paths, labels = [], []
    for code in codes:
        # Simplify to half a pixel: invisible at this size, and a tenth of the file's points.
        drawn = shapely.transform(outlines[code].simplify(0.5 / scale, preserve_topology=True), to_svg)
        value = values.get(code)
        fill = classes[class_of(value, breaks)].colour if value is not None and classes else f"url(#{hatch})"
        status = "shaded" if value is not None else ("suppressed" if code in values else "missing")
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", code)
        d = " ".join(
            _ring_path(ring) for poly in _polygons(drawn) for ring in (poly.exterior, *poly.interiors)
        )
        shown = _value_text(value, code in values, lang, decimals, notes.get(code))
        said = f"{code}{words(lang)['colon']}{shown}"
        paths.append(
            f'<path id="{uid}-{safe}" class="division division-{safe} {status}" '
            f'data-code="{escape(code, quote=True)}" '
            f'd="{d}" fill="{fill}" fill-rule="evenodd" stroke="{BORDER}" stroke-width="0.8" '
            f'stroke-linejoin="round"><title>{escape(said, quote=False)}</title></path>'
        )
        largest = max(_polygons(drawn), key=lambda p: p.area)
        spot = polylabel(largest, tolerance=1.0)
        labels.append(
            _division_label(
                spot.x, spot.y, code, value, code in values, fill, lang, decimals=decimals,
                note=notes.get(code),
            )
        )
    body.append('<g class="divisions">' + "".join(paths) + "</g>")
    body.append('<g class="labels">' + "".join(labels) + "</g>")
    bottom = top + (max_y - min_y) * scale + 16
    show_missing = any(values.get(code) is None for code in codes)
    legend, height = _legend(classes, legend_title, hatch, show_missing, bottom, lang, decimals)
    body.extend(legend)

    off_map = sorted(set(values) - set(outlines), key=division_sort_key)
    alt = _map_alt(title, "map", codes + off_map, values, legend_title, lang, decimals, notes)
    if off_map:
        alt += " " + map_words(lang)["off_map"] % {"codes": ", ".join(off_map)}
    svg = svg_document(
        uid=uid,
        width=WIDTH,
        height=height,
        title=title,
        desc=alt,
        body=body,
        lang=lang,
        defs=hatch_pattern(hatch),
    )
    return Chart(svg=svg, alt=alt, title=title)


def _ring_path(ring: Any) -> str:
    """One closed ring as SVG path data."""
    coords = np.asarray(ring.coords)[:-1]
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coords) + " Z"


def _division_label(
    x: float,
    y: float,
    code: str,
    value: float | None,
    present: bool,
    fill: str,
    lang: str,
    *,
    decimals: int,
    size: float = 11,
    note: str | None = None,
) -> str:
    """The division's code over its value, at its most inland point; a white card when it is hatched."""
    ink = label_ink(fill) if fill.startswith("#") else INK
    value_line = _value_text(value, present, lang, decimals, note)
    small = size - 1
    card = ""
    if not fill.startswith("#"):  # hatched: the text needs a plain ground to stay readable
        width = max(text_width(code, size, bold=True), text_width(value_line, small)) + 6
        card = (
            f"<rect {attrs(x=x - width / 2, y=y - size - 1, width=width, height=size + small + 5, rx=2)} "
            'fill="#ffffff" fill-opacity="0.9"/>'
        )
    return (
        f'<g class="division-label" data-code="{escape(code, quote=True)}">{card}'
        + text(x, y, code, size=size, anchor="middle", font_weight="bold", fill=ink)
        + text(
            x,
            y + small + 1,
            value_line,
            size=small,
            anchor="middle",
            fill=ink if value is not None else MUTED,
        )
        + "</g>"
    )


def _tile_grid(
    values: dict[str, float | None],
    *,
    title: str,
    legend_title: str,
    lang: str,
    notes: dict[str, str] | None = None,
) -> Chart:
    """One square per division in a grid sorted by code, for a service without a boundary file."""
    codes = sorted(values, key=division_sort_key)
    present = [v for v in values.values() if v is not None]
    breaks = class_breaks(present)
    classes = shade_classes(breaks)
    decimals = _decimals(present)
    uid = chart_uid("tiles", title, legend_title, sorted(values.items(), key=lambda kv: kv[0]), lang)
    hatch = f"{uid}-hatch"
    body, y = title_block(title)
    columns = max(1, math.ceil(math.sqrt(len(codes)))) if codes else 1
    gap = 6.0
    size = min(96.0, (WIDTH - 32 - gap * (columns - 1)) / columns)
    left = 16 + ((WIDTH - 32) - (size * columns + gap * (columns - 1))) / 2
    top = y + 8
    tiles = []
    for i, code in enumerate(codes):
        row, column = divmod(i, columns)
        x, ty = left + column * (size + gap), top + row * (size + gap)
        value = values[code]
        fill = classes[class_of(value, breaks)].colour if value is not None and classes else f"url(#{hatch})"
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", code)
        status = "shaded" if value is not None else "suppressed"
        note = (notes or {}).get(code)
        said = f"{code}{words(lang)['colon']}{_value_text(value, True, lang, decimals, note)}"
        tiles.append(
            f'<g class="tile"><rect id="{uid}-{safe}" class="division division-{safe} {status}" '
            f'data-code="{escape(code, quote=True)}" {attrs(x=x, y=ty, width=size, height=size, rx=3)} '
            f'fill="{fill}" stroke="{BORDER}" stroke-width="0.8">'
            f"<title>{escape(said, quote=False)}</title></rect>"
            + _division_label(
                x + size / 2, ty + size / 2, code, value, True, fill, lang, decimals=decimals, size=14,
                note=note,
            )
            + "</g>"
        )
    body.append('<g class="divisions">' + "".join(tiles) + "</g>")
    rows = math.ceil(len(codes) / columns) if codes else 0
    bottom = top + rows * (size + gap) + 10
    show_missing = any(v is None for v in values.values())
    legend, height = _legend(classes, legend_title, hatch, show_missing, bottom, lang, decimals)
    body.extend(legend)
    alt = _map_alt(title, "tiles", codes, values, legend_title, lang, decimals, notes)
    svg = svg_document(
        uid=uid,
        width=WIDTH,
        height=height,
        title=title,
        desc=alt,
        body=body,
        lang=lang,
        defs=hatch_pattern(hatch),
    )
    return Chart(svg=svg, alt=alt, title=title)
