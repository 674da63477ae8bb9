"""The grouped counts the core analyses rest on: engagements by division and perceived race, one pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import SupportsInt

import ibis
import pandas as pd

from fairengage.vocabulary import OUTCOMES

# The city-wide area, next to the divisions (docs/architecture.md, "Benchmark file").
CITY = "ALL"
# The categories and outcomes are the shared vocabulary's; a rule set's `perceived_race` and `outcomes`
# lists replace them where the analysis is given one.
COMPLIANCE_MEASURES: tuple[str, ...] = (
    "informed",
    "receipt_offered",
    "compliant",
    "identifying_info_collected",
)


def outcome_measures(outcomes: Sequence[str] = OUTCOMES) -> tuple[str, ...]:
    """The outcomes that are disparity measures: all but `none`."""
    return tuple(o for o in outcomes if o != "none")


def cell_counts_expr(table: ibis.Table, outcomes: Sequence[str] = OUTCOMES) -> ibis.Table:
    """The Ibis expression: per (area, group), engagements, searches, hits, outcomes and duties done."""

    def how_many(condition: ibis.BooleanValue) -> ibis.IntegerScalar:
        return condition.cast("int64").sum()

    measures = {
        "engagements": table.count(),
        "searched": how_many(table.searched),
        # A hit is contraband found in a search; contraband_found is null where there was no search.
        "hits": how_many(table.searched & table.contraband_found.fill_null(False)),
        **{m: how_many(table[m]) for m in COMPLIANCE_MEASURES},
        # Outcome codes may hold spaces in other rule sets: positional names are safe on every engine.
        **{f"outcome_{i}": how_many(table.outcome == o) for i, o in enumerate(outcome_measures(outcomes))},
    }
    return table.group_by(area=table.division, group=table.perceived_race).aggregate(**measures)


def count_columns(outcomes: Sequence[str] = OUTCOMES) -> tuple[str, ...]:
    """The count columns of ``cell_counts``, after area and group."""
    return ("engagements", "searched", "hits", *COMPLIANCE_MEASURES, *outcome_measures(outcomes))


def cell_counts(table: ibis.Table, outcomes: Sequence[str] = OUTCOMES) -> pd.DataFrame:
    """Execute the grouped counts; one row per (area, group), plus the city-wide `ALL` rows, sorted."""
    frame = cell_counts_expr(table, outcomes).to_pandas()
    frame = frame.rename(columns={f"outcome_{i}": o for i, o in enumerate(outcome_measures(outcomes))})
    return with_city(frame, outcomes)


def with_city(frame: pd.DataFrame, outcomes: Sequence[str] = OUTCOMES) -> pd.DataFrame:
    """Add the `ALL` rows (sums over divisions) to per-division counts, typed and sorted by area, group."""
    columns = list(count_columns(outcomes))
    frame = frame.loc[:, ["area", "group", *columns]].copy()
    frame["area"] = frame["area"].astype(str)
    frame["group"] = frame["group"].astype(str)
    # A sum over rows that are all false is 0, never null; fill anyway so int64 holds on every engine.
    frame[columns] = frame[columns].fillna(0).astype("int64")
    city = frame.groupby("group", as_index=False)[columns].sum()
    city.insert(0, "area", CITY)
    both = pd.concat([frame, city], ignore_index=True)
    return both.sort_values(["area", "group"], kind="stable").reset_index(drop=True)


def as_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts of Python values, NaN as None (JSON-ready)."""
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({key: _plain(value) for key, value in record.items()})
    return rows


def _plain(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def encounter_counts(table: ibis.Table) -> dict[str, int]:
    """Encounters and the people in them: several people engaged at once are one encounter.

    Each engagement is one person, so `people` is the engagements counted; `encounters` counts distinct
    `encounter_id`s (the engine fills it with the engagement's own id where the table has none).
    """
    row = table.aggregate(encounters=table.encounter_id.nunique(), people=table.count()).to_pandas().iloc[0]
    return {"encounters": _count(row["encounters"]), "people": _count(row["people"])}


def _count(value: SupportsInt | None) -> int:
    return 0 if value is None or pd.isna(value) else int(value)
