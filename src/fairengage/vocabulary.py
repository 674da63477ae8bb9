"""The words every side shares: perceived-race categories, outcomes and the analytic table's columns.

Recording, the policy, the extract, the analyses, the reports, bulk import and the synthetic data all
speak of the same categories and the same table; each used to keep its own copy, and copies drift. This
module holds them once. It is the bottom layer (an import-linter contract keeps it so): it imports
nothing of fairengage and no library, holds no personal data, and every side may import it.

A rule set's `perceived_race` and `outcomes` lists replace the defaults here where an analysis is given
one (docs/architecture.md, "Domain words").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# An officer's "could not tell": kept in counts, but it has no population to benchmark against.
UNKNOWN = "Unknown"
# The category of people the census groups do not name.
ANOTHER_RACE = "Another race"
# Perceived-race categories of the Ontario Anti-Racism Data Standards, in the order used everywhere.
PERCEIVED_RACES: tuple[str, ...] = (
    "Black",
    "East/Southeast Asian",
    "Indigenous",
    "Latino",
    "Middle Eastern",
    "South Asian",
    "White",
    ANOTHER_RACE,
    UNKNOWN,
)
# The groups that have a population (every category but Unknown): the groups of a benchmark file.
BENCHMARK_GROUPS: tuple[str, ...] = tuple(g for g in PERCEIVED_RACES if g != UNKNOWN)
# Disparities are measured against this group's rate in the same area.
REFERENCE_GROUP = "White"

# The outcome of an engagement where nothing followed; every other outcome is a disparity measure.
NO_OUTCOME = "none"
OUTCOMES: tuple[str, ...] = (NO_OUTCOME, "caution", "ticket", "arrest", "referral")

ColumnKind = Literal["string", "timestamp", "float", "int", "boolean"]


@dataclass(frozen=True)
class Column:
    """A column of the analytic table (docs/architecture.md): its kind and whether it may be null.

    Each producer maps the kind to its own library's type (Arrow in the extract, pandas in the
    synthetic generator, ibis in the analyses); timestamps are microseconds in UTC everywhere.
    """

    name: str
    kind: ColumnKind
    nullable: bool = False


# The analytic table, in order: the contract between the extract and everything after it.
ANALYTIC_COLUMNS: tuple[Column, ...] = (
    Column("engagement_id", "string"),
    Column("occurred_at", "timestamp"),
    Column("division", "string"),
    Column("neighbourhood", "string", nullable=True),
    Column("lat", "float", nullable=True),
    Column("lon", "float", nullable=True),
    Column("officer_key", "string"),
    Column("purpose", "string"),
    Column("perceived_race", "string"),
    Column("perceived_gender", "string"),
    Column("perceived_age", "int", nullable=True),
    Column("informed", "boolean"),
    Column("receipt_offered", "boolean"),
    Column("identifying_info_collected", "boolean"),
    Column("searched", "boolean"),
    Column("contraband_found", "boolean", nullable=True),
    Column("outcome", "string"),
    Column("compliant", "boolean"),
)
# Optional, last: a table without it (older extracts, synthetic tables) counts each engagement as its
# own encounter; an empty cell means the same (docs/import-and-extract.md).
ENCOUNTER_COLUMN = Column("encounter_id", "string", nullable=True)
