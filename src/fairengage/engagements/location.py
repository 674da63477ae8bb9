"""Where an engagement happened: the phone's coordinates, the division they fall in, and their precision.

The form may send the phone's position (the officer taps "Use my location"; the browser asks their
permission). The record keeps it as given, for supervisors and complaint investigators, who may need to
know where an officer stood. Everything that leaves the service's database for analysis keeps only a
coarse position: `coarse` rounds to 0.01 degree (about 1.1 km north-south and 0.8 km east-west in
Toronto), enough to place a record in its neighbourhood and far too coarse to find a doorway. Public
files carry no coordinates at all (they are counts by division).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fairengage.config import Settings

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

# Decimal places kept outside the database (see the module's docstring).
COARSE_DIGITS = 2


def coarse(value: float | None) -> float | None:
    """A latitude or longitude rounded to the precision the service lets leave its database."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, COARSE_DIGITS)


@lru_cache(maxsize=4)
def _outlines(path: str, modified: int, code_property: str) -> dict[str, BaseGeometry]:
    # Imported here: the map module pulls in pyproj and numpy, which only this look-up needs.
    import shapely

    from fairengage.reports.maps import read_boundaries

    outlines = read_boundaries(Path(path), code_property)
    for outline in outlines.values():
        shapely.prepare(outline)
    return outlines


def division_at(settings: Settings, lat: float, lon: float) -> str | None:
    """The code of the division whose boundary holds the point; None without a boundary file or outside."""
    if settings.boundaries is None:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    # Deferred as in _outlines: shapely and the map module load only once a form sends a position.
    from shapely.geometry import Point

    from fairengage.reports.maps import BoundaryFileError

    path = Path(settings.boundaries)
    try:
        outlines = _outlines(str(path), os.stat(path).st_mtime_ns, settings.boundary_code)
    except (OSError, BoundaryFileError):
        return None
    point = Point(lon, lat)
    for code, outline in sorted(outlines.items()):
        if outline.covers(point):
            return code
    return None
