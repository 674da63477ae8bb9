"""Toronto's police divisions and an approximate resident population by perceived-race group.

This is the benchmark that synthetic engagements are drawn from and that analyses compare them with
(the benchmark-file format of docs/architecture.md: ``area,group,population``).

Sources and approximations:

* City-wide group counts are the 2016 Census visible-minority counts for the City of Toronto
  (Statistics Canada, via the City's Neighbourhood Profiles; population in private households,
  25% sample, total 2,691,665), mapped to the Ontario Anti-Racism Data Standards categories as:

  - Black: Black
  - East/Southeast Asian: Chinese + Filipino + Southeast Asian + Korean + Japanese
  - Indigenous: Aboriginal identity (counted by the census among "not a visible minority")
  - Latino: Latin American
  - Middle Eastern: Arab + West Asian
  - South Asian: South Asian
  - White: not a visible minority, less Aboriginal identity
  - Another race: visible minority n.i.e. + multiple visible minorities

  ``Unknown`` is an officer's answer, not a population group: it has no population row.
* Division totals are the 2016 populations of the City's 140 neighbourhoods, each given to the
  division that holds its centroid (Waterfront Communities-The Island to D52), rounded to hundreds.
* The split of each division by group is *not* census data: it is the city-wide split tilted by a
  fixed, hand-set table (e.g. more South Asian and East/Southeast Asian residents in D42), then
  balanced by iterative proportional fitting so that divisions keep their totals and the city keeps
  its census shares. It is deterministic and only approximately like the real city.
* Division centres are area centroids of the Toronto Police Service division boundaries (CRS84),
  rounded to four decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fairengage.vocabulary import BENCHMARK_GROUPS

# 2016 Census, City of Toronto, mapped as described in the module docstring.
CITY_COUNTS_2016: dict[str, int] = {
    "Black": 239_850,
    "East/Southeast Asian": 299_465 + 152_715 + 41_650 + 41_640 + 13_415,
    "Indigenous": 23_065,
    "Latino": 77_165,
    "Middle Eastern": 36_030 + 60_320,
    "South Asian": 338_965,
    "White": 1_305_815 - 23_065,
    "Another race": 36_975 + 47_670,
}


@dataclass(frozen=True)
class Division:
    """A Toronto Police Service division: centre, land area, residents and relative engagement volume."""

    code: str
    lat: float
    lon: float
    area_sqkm: float
    residents: int
    volume: float


# volume: relative share of street checks, higher downtown and in a few busy divisions (illustrative).
DIVISIONS: dict[str, Division] = {
    d.code: d
    for d in (
        Division("D11", 43.6542, -79.4656, 18.7, 153_000, 0.9),
        Division("D12", 43.6953, -79.4930, 24.8, 109_300, 0.9),
        Division("D13", 43.6924, -79.4400, 18.6, 101_100, 0.7),
        Division("D14", 43.6500, -79.4172, 14.2, 99_000, 1.3),
        Division("D22", 43.6361, -79.5353, 68.1, 213_400, 0.9),
        Division("D23", 43.7143, -79.5779, 57.6, 151_700, 1.2),
        Division("D31", 43.7485, -79.5192, 42.7, 153_600, 1.4),
        Division("D32", 43.7569, -79.4325, 61.1, 257_100, 0.9),
        Division("D33", 43.7644, -79.3528, 52.8, 217_200, 0.7),
        Division("D41", 43.7309, -79.2762, 44.6, 146_800, 1.1),
        Division("D42", 43.8110, -79.2422, 84.6, 265_800, 1.1),
        Division("D43", 43.7664, -79.1999, 59.4, 219_500, 1.1),
        Division("D51", 43.6555, -79.3644, 8.6, 92_900, 1.5),
        Division("D52", 43.6394, -79.3855, 9.2, 117_300, 1.4),
        Division("D53", 43.7013, -79.3859, 31.3, 197_000, 0.7),
        Division("D55", 43.6826, -79.3242, 41.0, 237_000, 1.0),
    )
}
DIVISION_CODES: tuple[str, ...] = tuple(DIVISIONS)

# Hand-set tilts of the city-wide split (1.0 where absent). Illustrative of the city's known
# geography, not measured; see the module docstring.
_TILTS: dict[str, dict[str, float]] = {
    "D11": {"White": 1.4, "Latino": 1.2},
    "D12": {"Black": 1.8, "Latino": 1.8, "White": 0.9},
    "D13": {"Black": 1.2, "Latino": 1.3, "White": 1.2},
    "D14": {"White": 1.4, "Latino": 1.3, "Indigenous": 1.5},
    "D22": {"White": 1.4, "Middle Eastern": 1.1},
    "D23": {"South Asian": 2.5, "Black": 1.8, "White": 0.7},
    "D31": {"Black": 2.5, "Latino": 1.8, "South Asian": 1.3, "White": 0.6},
    "D32": {"Middle Eastern": 1.7, "East/Southeast Asian": 1.3, "White": 1.1},
    "D33": {"East/Southeast Asian": 1.8, "Middle Eastern": 1.8, "White": 0.9},
    "D41": {"South Asian": 1.5, "Black": 1.4, "East/Southeast Asian": 1.2, "Middle Eastern": 1.3},
    "D42": {"East/Southeast Asian": 2.0, "South Asian": 1.8, "Black": 1.3, "White": 0.35},
    "D43": {"South Asian": 1.6, "Black": 1.6, "East/Southeast Asian": 1.1},
    "D51": {"Black": 1.3, "Indigenous": 2.5, "East/Southeast Asian": 1.1},
    "D52": {"East/Southeast Asian": 1.8, "Another race": 1.2},
    "D53": {"White": 1.5, "South Asian": 1.2},
    "D55": {"White": 1.4, "South Asian": 1.2},
}


def city_shares() -> dict[str, float]:
    """Each benchmark group's share of Toronto's 2016 population (approximate, see module docstring)."""
    total = sum(CITY_COUNTS_2016.values())
    return {group: CITY_COUNTS_2016[group] / total for group in BENCHMARK_GROUPS}


def _division_matrix() -> np.ndarray:
    """Residents by division (rows) and group (columns), balanced to both margins, not yet rounded."""
    shares = np.array([city_shares()[g] for g in BENCHMARK_GROUPS])
    residents = np.array([DIVISIONS[d].residents for d in DIVISION_CODES], dtype=float)
    tilt = np.array([[_TILTS[d].get(g, 1.0) for g in BENCHMARK_GROUPS] for d in DIVISION_CODES])
    matrix = residents[:, None] * shares[None, :] * tilt
    group_targets = shares * residents.sum()
    # Iterative proportional fitting: alternate row and column scaling until both margins hold.
    for _ in range(200):
        matrix *= (residents / matrix.sum(axis=1))[:, None]
        matrix *= (group_targets / matrix.sum(axis=0))[None, :]
    return matrix


def population_table() -> pd.DataFrame:
    """The benchmark table: columns area, group, population; area is a division code or ``ALL``."""
    counts = np.rint(_division_matrix()).astype(np.int64)
    rows = [
        (division, group, int(counts[i, j]))
        for i, division in enumerate(DIVISION_CODES)
        for j, group in enumerate(BENCHMARK_GROUPS)
    ]
    # ALL is the sum of the rounded divisions, so the file adds up exactly.
    rows += [("ALL", group, int(counts[:, j].sum())) for j, group in enumerate(BENCHMARK_GROUPS)]
    table = pd.DataFrame(rows, columns=["area", "group", "population"])
    return table.astype({"area": "str", "group": "str", "population": "int64"})


def division_shares() -> dict[str, np.ndarray]:
    """Each division's population share by group, in BENCHMARK_GROUPS order (sums to 1)."""
    matrix = _division_matrix()
    return {d: matrix[i] / matrix[i].sum() for i, d in enumerate(DIVISION_CODES)}


def write_benchmark(path: Path | str) -> None:
    """Write the benchmark table as CSV (``area,group,population``)."""
    population_table().to_csv(Path(path), index=False)
