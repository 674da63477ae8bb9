"""Disclosure control across every release ever published (docs/rule-sets.md `SMALL-CELLS`, issue 10).

Suppression within one report (suppression.py) cannot see what other releases give away: a year's figure
minus three of its published quarters gives the fourth, a trend table's total over two years minus last
year's release gives the year before, and a re-run after more records arrived differs from the version it
replaced by a handful of people. This module treats every figure of every public file as what an outside
attacker sees, a linear equation over unknown non-negative whole numbers, and asks what can be proven.

The model. Each count is a sum of *atoms*: engagements of one quarter, one data snapshot, one division
and one perceived-race group (`eng`); the same for each outcome measure (`out:<measure>`, searches
included) and for searches that found contraband (`hits`); engagements meeting a compliance duty by
division (`comp:<measure>`); and the city's engagements by age, gender and whether information was
collected. The groups are the closed list of perceived-race categories (Unknown included), so a
count of all groups is their sum: attempts less a total that leaves Unknown out is the Unknown count, and
a later release's trend chart repeats an earlier period's figures as the same counts. A year is its four
quarters. Releases taken on the same day (`meta.period.as_of`, or the day
of `meta.generated_at`) share a snapshot, except a second release of one period that day (a re-run is made
because the records changed: it gets a snapshot of its own). Each snapshot has atoms of its own, and
what changed in each cell between two snapshots is a figure of its own (later minus earlier), protected
like a withheld one. Late records only add to a cell, so an attacker may bet that no count shrinks from
one snapshot to the next (`_growth_rows`), and where the bet holds it pins more: a quarter's first
release, less what a later release shows of the same cell, was once worked out to 6 that way. But
records also leave a cell (a perceived race corrected, records destroyed under retention), and then the
bet is contradicted by the figures themselves. So the check works under the strongest attacker the
published figures allow (`MODELS`): same-day releases linked and growth first, then each release on its
own with growth, then without growth; an attacker who sees a bet contradicted has to drop it too. Published
figures are equalities; a hidden row marked `suppressed_reason: "small"` tells the attacker its smallest
count lies in [0, threshold - 1], one marked `"protects"` that its counts reach the threshold, and where a
row states a reason for one of its counts (`total_suppressed_reason`, ...) that count is read by its own
reason (`_stated`). An outcome
never exceeds the engagements it is counted in (per atom), hits never exceed searches, a compliance count
never exceeds its division's engagements, and the age, gender and collection tables add up to all
engagements. The data-quality counts of Unknown race, unknown gender and age not recorded are those
tables' counts; the counts of records missing a place or a search's result are lone families. A rate
published beside one of its two counts gives the other (it is rounded to ten places).

What can be proven about a hidden figure is its interval [min, max] over that system, each end found by
a linear programme (HiGHS through scipy), rounded inwards to whole numbers. Most figures need neither
end: every solution met is a point the figures take together, and a figure whose values over those
points already spread wide enough passes. A sweep (programmes on randomly weighted sums of the figures
still open, see `Solver.sweep`) meets such points for most of them at once. The linear relaxation gives
an interval at least as wide as the whole-number one, so a wide LP interval is a necessary condition that
we check; see docs/open-data.md for why that is the standard practice (tau-argus and sdcTable do the same).

The protection rule. After a release is published, for every figure hidden in any release:
  * its interval is not a single value (no hidden figure is pinned down, whatever its size); and
  * when it may be small (marked `"small"` or unmarked), the interval is at least `ceil(threshold / 2)`
    wide: an attacker cannot tell a count of 1 from one of 6 at threshold 10, so "fewer than 10" stays
    the most that can be said. Requiring the whole band [0, threshold - 1] would fail on any line whose
    hidden cells must reach the threshold together (their lower ends rise above 0), and the band's half
    is the usual protection level of interval-based checks.
  * except that a count proven to be 0 passes: it counts no one, so no one is singled out. Releases
    already tell where no one is (a report lists only the divisions and groups with records), and
    protecting such a zero would withhold a release's total wherever nothing was recorded as Unknown.
    sdcTable's frequency rule likewise takes empty cells as safe unless told otherwise (`allowZeros`).
Figures already pinned by the earlier releases alone cannot be hidden again by a new one: they are
named in the summary but do not block; any figure the candidate itself pins or narrows does. So a
hidden figure may end pinned only when the earlier releases alone pin it to that value (a year's total
its published quarters add up to): it is published in all but name.

Further suppression. While a hidden figure fails, the figures of the candidate that the failing bound
rests on (the published equalities with a non-zero dual value in its min or max programme) are the
ones whose withholding loosens it; the smallest of them is hidden (ties by file order), marked
`"protects"`, and the check runs again. Hiding only widens the feasible set (a published value v >= t
becomes v >= t), so figures that passed keep passing. When a failing figure rests only on earlier
releases, or after `MAX_ROUNDS`, the release fails closed with the blocking figures.

We chose suppression over freezing closed periods: a revision publishes its new figures, and the check
above withholds those that differ from the older version by a recoverable handful. A later release's trend
table does keep a closed period's published counts where it can: its complementary cells come from the
sum over the periods first (`suppression.suppress_table`'s `settled_rows`).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairengage.analytics.counts import CITY
from fairengage.reports import open_data
from fairengage.reports.figures import QUALITY_FIELDS, QUALITY_SAME_AS, quality_twins
from fairengage.vocabulary import PERCEIVED_RACES

PUBLIC_REPORT = "report.public.json"
OPEN_DATA = "open-data"
TREND_FILE = f"{open_data.TREND_TABLE}.csv"
MAX_ROUNDS = 60
# HiGHS's primal simplex (its `simplex_strategy` 4; 0 lets HiGHS choose, the dual simplex here): see
# `Solver._model` for why, and benchmarks/disclosure_speed.py for the two measured side by side.
SIMPLEX_STRATEGY = 4
log = logging.getLogger(__name__)
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4]))?$")
ALL = "*"
COLLECTED_DUTY = "comp:identifying_info_collected"  # the annual table's "collected", by division
COLLECTED_CATEGORIES = ("collected", "not collected")
# The annual tables' counts by the family of figures they are (see `_Reader.annual`).
ANNUAL_FAMILIES = {"by_race": "eng", "by_gender": "gender", "by_age": "age"}
# Data-quality counts of records missing a value: each a city-wide family of its own (see `data_quality`).
MISSING_FIELDS = tuple(name for name, _ in QUALITY_FIELDS if name not in QUALITY_SAME_AS)


@dataclass(frozen=True)
class Model:
    """What the attacker assumes about the records behind different releases (see `MODELS`)."""

    link: bool  # releases taken on one day count the same records (see `_snapshots`)
    growth: bool  # no cell's count shrinks from one snapshot to the next (see `_growth_rows`)
    closed: bool = True  # the divisions the releases list are all there are (no "(other)" area)


# Strongest first: the check takes the first model the published figures do not contradict. An
# attacker who finds a bet contradicted drops it, so a weaker model is what is left to him. A report
# lists every division with engagements in its period (a withheld row keeps its label), so the city is
# the sum of the divisions listed; only when even that is contradicted is a catch-all area allowed.
MODELS = (
    Model(True, True),
    Model(False, True),
    Model(True, False),
    Model(False, False),
    Model(False, False, closed=False),
)


@dataclass(frozen=True)
class BlockingFigure:
    """A hidden figure that everything published (the candidate included) pins down or narrows too far."""

    release: str  # the candidate's folder name or period
    file: str  # e.g. "report.public.json" or "open-data/trends_by_period_and_group.csv"
    figure: str  # a human-readable locator, e.g. "disproportionality D31 × White count"
    low: int
    high: int  # what an attacker can prove about it from everything published


@dataclass(frozen=True)
class DisclosureResult:
    """The outcome of `protect_release`."""

    ok: bool  # False: fail closed, do not publish
    blocking: tuple[BlockingFigure, ...]
    further_suppressed: int  # figures protect_release hid in the candidate
    summary: str  # one plain sentence for the analyst


class DisclosureInputError(ValueError):
    """A release folder cannot be read as public files (the message names the file)."""


# --- figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """What a count counts: a family of atoms over a period, as of a snapshot, in an area and groups."""

    family: str
    period: str
    snapshot: str
    area: str  # one division, or ALL for the whole city
    groups: tuple[str, ...] | str  # one or more groups/categories, or ALL


@dataclass
class Figure:
    """One count as a release shows it: its value (None when hidden), why it is hidden, where it is."""

    key: Key
    value: int | None
    reason: str | None  # "small", "protects" or None (hidden without a reason, or published)
    release: str
    file: str
    locator: str
    candidate: bool = False
    places: list[tuple[str, Any]] = field(default_factory=list)  # where to blank it (see _hide)


@dataclass
class Release:
    """The figures of one release folder."""

    folder: Path
    name: str
    period: str
    snapshot: str
    threshold: int
    figures: list[Figure]
    report: dict[str, Any]


def _int(value: Any) -> int | None:
    """A published count, or None where it is hidden; ValueError for anything that is not a count."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    # Only what a writer of counts writes: a rewritten file's 3.5, -2 or "twelve" is refused, not rounded.
    if (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().isdigit()
    ):
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _snapshot(meta: dict[str, Any]) -> str:
    """The day the release's data were taken: `meta.period.as_of`, else the day it was generated."""
    period = meta.get("period")
    if not isinstance(period, dict):
        period = {}
    for value in (period.get("as_of"), meta.get("as_of"), meta.get("generated_at")):
        if isinstance(value, str) and len(value) >= 10:
            return value[:10]
    return "unknown"


def _release_period(report: dict[str, Any], folder: Path) -> str:
    meta = report.get("meta") or {}
    for value in ((meta.get("report_period") or {}).get("label"), (meta.get("period") or {}).get("label")):
        if isinstance(value, str) and _PERIOD.fullmatch(value):
            return value
    periods = (report.get("trends") or {}).get("periods") or []
    if periods and _PERIOD.fullmatch(str(periods[-1])):
        return str(periods[-1])
    # A release folder is `<period>/v<n>` (publishing/service.py), or a bare period folder.
    for name in (folder.name, folder.parent.name):
        if _PERIOD.fullmatch(name):
            return name
    raise DisclosureInputError(f"{folder / PUBLIC_REPORT}: no period (meta.report_period.label)")


def read_release(folder: Path, *, candidate: bool = False) -> Release:
    """The figures of a release folder's report.public.json and open-data trend table."""
    folder = Path(folder)
    path = folder / PUBLIC_REPORT
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DisclosureInputError(f"{path}: cannot be read as a public report ({exc})") from None
    if not isinstance(report, dict):
        raise DisclosureInputError(f"{path}: not a JSON object")
    reader: _Reader | None = None
    try:
        meta = report.get("meta") or {}
        threshold = _int((meta.get("suppression") or {}).get("threshold")) or _int(
            meta.get("suppression_threshold")
        )
        period = _release_period(report, folder)
        release = Release(folder, folder.name, period, _snapshot(meta), threshold or 10, [], report)
        reader = _Reader(release, candidate)
        reader.report_sections(report)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, DisclosureInputError):
            raise
        # A file rewritten by hand, or by a tool other than this one: refused by name, never half-read.
        where = reader.at if reader is not None else "meta"
        raise DisclosureInputError(
            f"{path}: {where}: not as a public report is written ({_why(exc)})"
        ) from None
    reader.trend_table(folder / OPEN_DATA / TREND_FILE)
    return release


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}"
    return str(exc)


# One figure of a table row as the reader takes it: what it counts, its value (None: withheld), its column.
Figured = tuple[Key, Any, str]


class _Reader:
    """Turns the rows of one release into figures."""

    def __init__(self, release: Release, candidate: bool) -> None:
        self.r = release
        self.candidate = candidate
        self.at = "meta"  # the section being read, for the message when it is not as written

    def add(
        self,
        key: Key,
        value: Any,
        reason: str | None,
        file: str,
        locator: str,
        place: tuple[str, Any] | None = None,
    ) -> None:
        try:
            number = _int(value)
        except ValueError as exc:
            raise DisclosureInputError(f"{self.r.folder / file}: {locator}: {exc}") from None
        self.r.figures.append(
            Figure(
                key,
                number,
                None if number is not None else reason,
                self.r.name,
                file,
                locator,
                self.candidate,
                [place] if place else [],
            )
        )

    def key(self, family: str, area: str, groups: tuple[str, ...] | str, period: str | None = None) -> Key:
        return Key(family, period or self.r.period, self.r.snapshot, area, groups)

    def row_figures(self, row: dict[str, Any], where: str, part: Figured, whole: Figured) -> None:
        """A table row's count and the count it is out of, each read by the reason its column states.

        `part` and `whole` are (key, value, column): the column names the figure in its locator and
        the reason read (`_stated`); a row's own reason bounds its part, and its whole only when it says
        "protects" (`_total_reason`).
        """
        reason = _row_reason(row)
        key, value, column = part
        self.add(key, value, _stated(row, column, reason), PUBLIC_REPORT, f"{where} {column}", ("row", row))
        key, value, column = whole
        self.add(key, value, _stated(row, column, _total_reason(reason)), PUBLIC_REPORT, f"{where} {column}")

    def report_sections(self, report: dict[str, Any]) -> None:
        self.at = "disproportionality"
        dispro = [r for r in report.get("disproportionality") or [] if isinstance(r, dict)]
        known = tuple(sorted({r["group"] for r in dispro}))
        for row in dispro:
            area, group = row["area"], row["group"]
            self.row_figures(
                row,
                f"disproportionality {area} × {group}",
                (self.key("eng", area, (group,)), row.get("count"), "count"),
                (self.key("eng", area, known), row.get("total"), "total"),
            )
        self.at = "disparity"
        for row in report.get("disparity") or []:
            area, group, measure = row["area"], row["group"], row["measure"]
            count, total = _with_rate(row.get("count"), row.get("total"), row.get("rate"))
            self.row_figures(
                row,
                f"disparity {area} × {group} × {measure}",
                (self.key(f"out:{measure}", area, (group,)), count, "count"),
                (self.key("eng", area, (group,)), total, "total"),
            )
        self.at = "outcome_test"
        for row in report.get("outcome_test") or []:
            area, group = row["area"], row["group"]
            hits, searches = _with_rate(row.get("hits"), row.get("searches"), row.get("hit_rate"))
            self.row_figures(
                row,
                f"outcome test {area} × {group}",
                (self.key("hits", area, (group,)), hits, "hits"),
                (self.key("out:searched", area, (group,)), searches, "searches"),
            )
        self.at = "compliance"
        for row in report.get("compliance") or []:
            area, measure = row["area"], row["measure"]
            count, total = _with_rate(row.get("count"), row.get("total"), row.get("rate"))
            self.row_figures(
                row,
                f"compliance {area} × {measure}",
                (self.key(f"comp:{measure}", area, ALL), count, "count"),
                (self.key("eng", area, ALL), total, "total"),
            )
        self.at = "annual"
        self.annual(report.get("annual") or {})
        self.at = "data_quality"
        self.data_quality(report.get("data_quality"), report.get("annual") or {})
        self.at = "governance"
        self.governance(report.get("governance"))
        self.at = "trends"
        self.trends(report.get("trends") or {}, known)

    def annual(self, annual: dict[str, Any]) -> None:
        f = PUBLIC_REPORT
        if not annual:
            return
        self.add(
            self.key("eng", CITY, ALL),
            annual.get("attempts"),
            None,
            f,
            "annual attempts",
            ("annual", "attempts"),
        )
        # Encounters are a lone city-wide count of their own family: checked against the threshold alone.
        self.add(
            self.key("encounters", CITY, ALL),
            annual.get("encounters"),
            None,
            f,
            "annual encounters",
            ("annual", "encounters"),
        )
        for group, value in (annual.get("by_race") or {}).items():
            self.add(
                self.key("eng", CITY, (group,)), value, None, f, f"annual by race {group}", ("by_race", group)
            )
        for area, value in (annual.get("by_division") or {}).items():
            self.add(
                self.key("eng", area, ALL),
                value,
                None,
                f,
                f"annual by division {area}",
                ("by_division", area),
            )
        for family, holder in (("age", "by_age"), ("gender", "by_gender")):
            for category, value in (annual.get(holder) or {}).items():
                self.add(
                    self.key(family, CITY, (category,)),
                    value,
                    None,
                    f,
                    f"annual {holder} {category}",
                    (holder, category),
                )
        for category, name in zip(COLLECTED_CATEGORIES, ("collected", "not_collected"), strict=True):
            if name in annual:
                self.add(
                    self.key("collected", CITY, (category,)),
                    annual.get(name),
                    None,
                    f,
                    f"annual {name}",
                    ("annual", name),
                )

    def data_quality(self, quality: Any, annual: dict[str, Any]) -> None:
        # Unknown perceived race, unknown gender and age not recorded are the annual table's counts
        # (builder.public_report), read as the same figures: the annual table leaves out a group with no
        # records, so in a quarter with no Unknown the data-quality line was the only place the count
        # stood withheld, and attempts less the groups' total gave it (found on 2026-12-05). The other
        # fields are lone counts of records missing a value, linked only by a year being its quarters.
        if not isinstance(quality, dict):
            return
        f = PUBLIC_REPORT
        for item in quality.get("fields") or []:
            name = item.get("field")
            if name in QUALITY_SAME_AS:
                table, category = QUALITY_SAME_AS[name]
                if table != "by_race" and not annual.get(table):
                    # Without its table the category list is unknown: read alone, it would be the
                    # whole of its family (all engagements), which it is not.
                    continue
                key = self.key(ANNUAL_FAMILIES[table], CITY, (category,))
            elif name in MISSING_FIELDS:
                key = self.key(f"missing:{name}", CITY, ALL)
            else:
                continue
            self.add(key, item.get("count"), None, f, f"data quality {name}", ("quality", name))

    def governance(self, governance: Any) -> None:
        # The governance summary repeats the year's attempts and its "collected" count: read as the
        # same figures, so that a count withheld in the annual table but shown here is a count shown
        # (an attacker subtracts it from the attempts), and hiding it hides it here too. Its review
        # records are not read: decisions on corrected records make them differ from the attempts.
        if not isinstance(governance, dict):
            return
        f = PUBLIC_REPORT
        for name, key in (
            ("attempts", self.key("eng", CITY, ALL)),
            ("attempts_collected", self.key("collected", CITY, COLLECTED_CATEGORIES[:1])),
        ):
            if name in governance:
                self.add(key, governance.get(name), None, f, f"governance {name}", ("governance", name))

    def trends(self, trend: dict[str, Any], known: tuple[str, ...]) -> None:
        f = PUBLIC_REPORT
        periods = [str(p) for p in trend.get("periods") or []]
        for i, (period, attempts) in enumerate(zip(periods, trend.get("attempts") or [], strict=False)):
            self.add(
                self.key("eng", CITY, ALL, period),
                attempts,
                None,
                f,
                f"trend {period} attempts",
                ("trend_attempts", i),
            )
        for period, rows in zip(periods, trend.get("disproportionality") or [], strict=False):
            rows_known = tuple(sorted({r["group"] for r in rows})) or known
            for row in rows:
                self.row_figures(
                    row,
                    f"trend {period} {row['group']}",
                    (self.key("eng", CITY, (row["group"],), period), row.get("count"), "count"),
                    (self.key("eng", CITY, rows_known, period), row.get("total"), "total"),
                )

    def trend_table(self, path: Path) -> None:
        if not path.is_file():
            return
        file = f"{OPEN_DATA}/{TREND_FILE}"
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as exc:
            raise DisclosureInputError(f"{path}: cannot be read ({exc})") from None
        if not {"period", "perceived_race", "count"} <= set(frame.columns):
            raise DisclosureInputError(f"{path}: needs the columns period, perceived_race and count")
        periods = sorted({p for p in frame["period"] if p != CITY})
        for index, row in frame.iterrows():
            period, group = row["period"], row["perceived_race"]
            try:
                count = _int(row["count"]) if row["count"].strip() else None
            except ValueError as exc:
                # Row 1 is the header: the second line of the file is the frame's first row.
                raise DisclosureInputError(f"{path}: row {int(index) + 2}, column count: {exc}") from None
            reason = row.get("count_suppressed_reason") or None
            groups: tuple[str, ...] | str = ALL if group == CITY else (group,)
            # The ALL row totals the earlier periods: its key covers all of them (quarters joined by '+').
            targets = periods if period == CITY else [period]
            key_period = "+".join(targets)
            self.add(
                self.key("eng", CITY, groups, key_period),
                count,
                reason,
                file,
                f"trend table {period} × {group}",
                ("trend_csv", index),
            )


def _row_reason(row: dict[str, Any]) -> str | None:
    reason = row.get("suppressed_reason")
    return reason if reason in ("small", "protects") else None


def _stated(row: dict[str, Any], column: str, implied: str | None) -> str | None:
    """Why one column's figure is withheld, as the file states it (`<column>_suppressed_reason`).

    A row withheld as "small" (its count is) may state that its total "protects" (reaches the
    threshold): anyone reading the file knows that, so the check must too. Reading only the row's
    reason, it let the independent attacker narrow cells the check thought wide (issue 10's full-size
    run, 2026-12-07: a division's Unknown total stated at least 10 left at most 1 engagement for each
    cell of the divisions without records). Where the file states nothing, the row's reason implies it.
    """
    stated = row.get(f"{column}_suppressed_reason")
    return stated if stated in ("small", "protects") else implied


def _total_reason(reason: str | None) -> str | None:
    # "small" bounds the row's smallest count (its count, hits), not its total; "protects" says every
    # count of the row reaches the threshold, the total included.
    return "protects" if reason == "protects" else None


def _with_rate(part: Any, whole: Any, rate: Any) -> tuple[Any, Any]:
    """Fill in a count that a published rate and the other count give away."""
    rate = None if rate is None or isinstance(rate, bool) else float(rate)
    if rate is None or math.isnan(rate):
        return part, whole
    if part is None and whole is not None:
        return round(rate * int(whole)), whole
    if whole is None and part is not None and rate > 0:
        return part, round(int(part) / rate)
    return part, whole


# --- the linear system ----------------------------------------------------------------------------


def quarters(period: str) -> list[str]:
    """The quarters a period label (`2025`, `2025-Q3`, or several joined by '+') covers."""
    result: list[str] = []
    for part in period.split("+"):
        match = _PERIOD.fullmatch(part)
        if match is None:
            raise DisclosureInputError(f"not a period: {part!r}")
        year = match["year"]
        result += [f"{year}-Q{q}" for q in range(1, 5)] if match["quarter"] is None else [part]
    return result


@dataclass
class System:
    """The attacker's system: atoms, one equality per published figure, bounds from hidden ones."""

    keys: list[Key]  # one per distinct figure
    published: dict[int, int]  # key index -> value
    hidden: dict[int, str | None]  # key index -> reason
    figures: dict[int, list[Figure]]
    rows: list[list[int]]  # key index -> atom indices
    extra_ub: list[tuple[dict[int, float], float]]  # sum coef * x <= b
    extra_eq: list[tuple[dict[int, float], float]]
    n_atoms: int
    threshold: int
    atom_family: list[str] = field(default_factory=list)
    minus: dict[int, list[int]] = field(default_factory=dict)  # key index -> atoms subtracted (changes)
    conflicting: bool = False  # two releases give one count two values


def _quarter_start(quarter: str) -> str:
    """The first day of a quarter label (`2025-Q3` -> `2025-07-01`), comparable with snapshot days."""
    year, q = quarter.split("-Q")
    return f"{year}-{3 * int(q) - 2:02d}-01"


def _add_virtual(
    by_key: dict[Key, list[Figure]],
    releases: Sequence[Release],
    order: dict[str, int],
    snapshot_of: dict[int, str],
) -> None:
    """Counts no release publishes but differencing could give: each quarter's cell, each late batch.

    A year and three of its quarters give the fourth quarter before it is ever published; a re-run
    gives the records that arrived late. Each cell of engagements (division or city, one group or all)
    is added for every quarter the releases cover, and for each later snapshot's own records, as a
    hidden figure of unknown size, so the check protects it like a withheld one.
    """
    cells = {
        (k.area, k.groups) for k in by_key if k.family == "eng" and (k.groups == ALL or len(k.groups) == 1)
    }
    seen = {snapshot_of[id(r)]: r for r in releases}
    for snapshot, first in sorted(seen.items(), key=lambda item: order[item[0]]):
        # A quarter that had not begun when the data were taken holds nothing, as everyone knows.
        covered = sorted(
            {
                q
                for r in releases
                if snapshot_of[id(r)] == snapshot
                for q in quarters(r.period)
                if _quarter_start(q) < r.snapshot
            }
        )
        names = [snapshot] + ([f"={snapshot}"] if order[snapshot] > 0 else [])
        for name in names:
            for q in covered:
                for area, groups in cells:
                    key = Key("eng", q, name, area, groups)
                    if key not in by_key:
                        by_key[key] = [
                            Figure(
                                key,
                                None,
                                None,
                                first.name,
                                "(not published)",
                                f"worked out: {q} {area} × {groups if groups == ALL else groups[0]}"
                                + (" (late records)" if name.startswith("=") else ""),
                            )
                        ]


def _snapshots(releases: Sequence[Release], same_day: bool) -> dict[int, str]:
    """Which releases count the same records: one id per release (by `id`), ordered like the data.

    With `same_day`, releases taken on one day share their records, except a release of a period
    already released that day: a re-run is made because the records changed, so it gets its own
    (`<day>#<n>`, in the order given). Without, every release has records of its own.
    """
    result: dict[int, str] = {}
    runs: dict[tuple[str, str], int] = {}
    for n, release in enumerate(releases):
        if not same_day:
            result[id(release)] = f"{release.snapshot}#r{n:04d}"
            continue
        again = runs.get((release.snapshot, release.period), 0)
        runs[(release.snapshot, release.period)] = again + 1
        result[id(release)] = release.snapshot + (f"#{again:04d}" if again else "")
    return result


def build_system(
    releases: Sequence[Release],
    threshold: int,
    *,
    link_snapshots: bool = True,
    growth: bool = False,
    closed_areas: bool = False,
    virtual: bool = True,
    extra: Sequence[Key] = (),
) -> System:
    """The linear system of every figure of `releases` (see the module docstring)."""
    snapshot_of = _snapshots(releases, link_snapshots)
    order = {s: i for i, s in enumerate(sorted(set(snapshot_of.values())))}
    areas: set[str] = set()
    groups: set[str] = set()
    categories: dict[str, set[str]] = {}
    by_key: dict[Key, list[Figure]] = {}
    for release in releases:
        for figure in release.figures:
            key = figure.key
            if snapshot_of[id(release)] != key.snapshot:
                key = Key(key.family, key.period, snapshot_of[id(release)], key.area, key.groups)
            by_key.setdefault(key, []).append(figure)
            if key.area != CITY:
                areas.add(key.area)
            if key.family in ("age", "gender", "collected"):
                # Collected or not is a closed pair, even where one side alone is shown (governance).
                closed = COLLECTED_CATEGORIES if key.family == "collected" else key.groups
                categories.setdefault(key.family, set()).update(closed)
            elif key.groups != ALL:
                groups.update(key.groups)
    # Without `closed_areas`, a catch-all area holds engagements of divisions no release lists.
    all_areas = sorted(areas) if closed_areas and areas else [*sorted(areas), "(other)"]
    # The perceived-race categories are a closed, published list (Unknown included): an attacker knows
    # a city's attempts are the sum over exactly these groups, so attempts less a total that leaves
    # Unknown out is the Unknown count. A group outside the list still gets a catch-all atom.
    all_groups = [*PERCEIVED_RACES, *sorted(groups - set(PERCEIVED_RACES))]
    if not groups <= set(PERCEIVED_RACES):
        all_groups.append("(other)")
    atoms: dict[tuple[Any, ...], int] = {}

    def atom(*parts: Any) -> int:
        return atoms.setdefault(parts, len(atoms))

    def atoms_of(key: Key, k: int | None = None) -> list[int]:
        # Each snapshot has atoms of its own: records are added, corrected and destroyed (retention)
        # between snapshots, so no count of one bounds a count of another.
        k = order[key.snapshot.lstrip("=")] if k is None else k
        times = [(q, k) for q in quarters(key.period)]
        if key.family in categories:
            cats = sorted(categories[key.family]) if key.groups == ALL else list(key.groups)
            return [atom(key.family, q, k, c) for q, k in times for c in cats]
        area_list = all_areas if key.area == CITY else [key.area]
        if key.family.startswith("comp:"):
            return [atom(key.family, q, k, a) for q, k in times for a in area_list]
        group_list = all_groups if key.groups == ALL else list(key.groups)
        return [atom(key.family, q, k, a, g) for q, k in times for a in area_list for g in group_list]

    if virtual:
        _add_virtual(by_key, releases, order, snapshot_of)
    for key in extra:
        # A figure of another release, asked about in this one's terms (see `_disclosed_before`).
        if key not in by_key and key.snapshot.lstrip("=") in order:
            by_key[key] = [Figure(key, None, None, "", "(asked)", "asked")]
    keys = sorted(by_key, key=lambda k: (k.family, k.period, k.snapshot, k.area, str(k.groups)))
    system = System(keys, {}, {}, {}, [], [], [], 0, threshold)
    for i, key in enumerate(keys):
        figures = by_key[key]
        system.figures[i] = figures
        system.rows.append(atoms_of(key))
        if key.snapshot.startswith("="):
            # What changed in the cell since the previous snapshot: this one's count minus that one's.
            system.minus[i] = atoms_of(key, order[key.snapshot[1:]] - 1)
        values = {f.value for f in figures if f.value is not None}
        if len(values) > 1:
            # One count, two values: the releases taken as one snapshot were not (see `_snapshots`).
            system.conflicting = True
        if values:
            system.published[i] = max(values)
        else:
            reasons = {f.reason for f in figures}
            system.hidden[i] = (
                "small" if "small" in reasons else ("protects" if "protects" in reasons else None)
            )
    # The annual table's "collected" is the city's compliance count of the same duty: one figure, two
    # places (an attacker reads them as equal, so the check does too).
    for parts, index in list(atoms.items()):
        if parts[0] == "collected" and parts[3] == "collected":
            _, q, k, _ = parts
            same: dict[int, float] = {index: 1.0}
            for a in all_areas:
                same[atom(COLLECTED_DUTY, q, k, a)] = -1.0
            system.extra_eq.append((same, 0.0))
    # Links between families, per atom: outcomes within engagements, hits within searches, compliance
    # within the division's engagements; age, gender and collection tables add up to engagements.
    for parts, index in list(atoms.items()):
        family = parts[0]
        if family.startswith("out:") or family == "hits":
            parent = ("eng", *parts[1:]) if family.startswith("out:") else ("out:searched", *parts[1:])
            system.extra_ub.append(({index: 1.0, atom(*parent): -1.0}, 0.0))
        elif family.startswith("comp:"):
            _, q, k, a = parts
            row: dict[int, float] = {index: 1.0}
            for g in all_groups:
                row[atom("eng", q, k, a, g)] = -1.0
            system.extra_ub.append((row, 0.0))
    times = {(p[1], p[2]) for p in atoms if p[0] == "eng" or p[0] in categories}
    for family, cats in categories.items():
        for q, k in sorted(times):
            row = {atom(family, q, k, c): 1.0 for c in cats}
            for a in all_areas:
                for g in all_groups:
                    row[atom("eng", q, k, a, g)] = row.get(atom("eng", q, k, a, g), 0.0) - 1.0
            system.extra_eq.append((row, 0.0))
    if growth:
        system.extra_ub.extend(_growth_rows(atoms))
    system.n_atoms = len(atoms)
    system.atom_family = [parts[0] for parts in atoms]
    return system


def _growth_rows(atoms: dict[tuple[Any, ...], int]) -> list[tuple[dict[int, float], float]]:
    """Each cell's count never shrinks from one snapshot to the next: earlier - later <= 0.

    Late records only add; what takes records away (a perceived race corrected, records destroyed
    under retention) is rare, so an attacker may well bet on growth, and where the bet holds it pins
    more. `protect_release` checks under this bet first (see `MODELS`).
    """
    by_cell: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
    for parts, index in atoms.items():
        by_cell.setdefault((parts[0], parts[1], *parts[3:]), []).append((parts[2], index))
    rows: list[tuple[dict[int, float], float]] = []
    for chain in by_cell.values():
        chain.sort()
        for (_, earlier), (_, later) in itertools.pairwise(chain):
            rows.append(({earlier: 1.0, later: -1.0}, 0.0))
    return rows


def family_group(family: str) -> str:
    """The part of the system a family is solved in (see `Solver`)."""
    if family in ("eng", "age", "gender", "collected", COLLECTED_DUTY):
        return "eng"
    if family in ("out:searched", "hits"):
        return "searched"
    return family


_PARENT = {"hits": "out:searched"}


class Solver:
    """Interval bounds of figures over one part of a system, by linear programming (HiGHS).

    The system is solved in parts: engagements (with the age, gender and collection tables that add up
    to them), searches with their hits, each other outcome, each compliance duty. An outcome's link to
    the engagements it is counted in is kept where that engagement figure is published (the outcome
    cannot exceed it); a chain through a withheld engagement figure is left out. This keeps each
    programme a few thousand unknowns (the whole system has tens of thousands), at the price of an
    attacker slightly weaker than one solving everything at once: docs/open-data.md says so.
    """

    def __init__(self, system: System, group: str) -> None:
        # Deferred on purpose: scipy loads only when a release has hidden figures to bound.
        from scipy import sparse

        self.system = system
        self.group = group
        local = [a for a, family in enumerate(system.atom_family) if family_group(family) == group]
        self.column = {a: c for c, a in enumerate(local)}
        n = len(local)
        eq_rows: list[dict[int, float]] = []
        eq_b: list[float] = []
        self.eq_keys: list[int] = []
        ub_rows: list[dict[int, float]] = []
        ub_b: list[float] = []
        t = system.threshold
        self.keys = [i for i, key in enumerate(system.keys) if family_group(key.family) == group]
        by_spec = {(k.family, k.period, k.snapshot, k.area, k.groups): i for i, k in enumerate(system.keys)}
        for i in self.keys:
            cols = {self.column[a]: 1.0 for a in system.rows[i]}
            if i in system.published:
                eq_rows.append(cols)
                eq_b.append(float(system.published[i]))
                self.eq_keys.append(i)
                continue
            reason = system.hidden.get(i)
            if reason == "small":
                ub_rows.append(cols)
                ub_b.append(float(t - 1))
            elif reason == "protects":
                ub_rows.append({c: -1.0 for c in cols})
                ub_b.append(-float(t))
        for i in self.keys:
            key = system.keys[i]
            parent = _PARENT.get(key.family) or ("eng" if key.family.startswith(("out:", "comp:")) else None)
            if parent is None or family_group(parent) == group:
                continue
            # An outcome or a duty met never exceeds the engagements it is counted in, when published.
            spec = (parent, key.period, key.snapshot, key.area, key.groups)
            j = by_spec.get(spec)
            if j is not None and j in system.published:
                ub_rows.append({self.column[a]: 1.0 for a in system.rows[i]})
                ub_b.append(float(system.published[j]))
        for row, b in system.extra_ub:
            if all(a in self.column for a in row):
                ub_rows.append({self.column[a]: c for a, c in row.items()})
                ub_b.append(b)
        for row, b in system.extra_eq:
            if all(a in self.column for a in row):
                eq_rows.append({self.column[a]: c for a, c in row.items()})
                eq_b.append(b)
                self.eq_keys.append(-1)

        def matrix(rows: list[dict[int, float]]) -> Any:
            data, ri, ci = [], [], []
            for r, row in enumerate(rows):
                for c, v in row.items():
                    ri.append(r)
                    ci.append(c)
                    data.append(v)
            return sparse.csr_matrix((data, (ri, ci)), shape=(len(rows), n))

        self.a_eq, self.b_eq = matrix(eq_rows), np.array(eq_b)
        self.a_ub, self.b_ub = matrix(ub_rows), np.array(ub_b)
        self.figure_matrix = matrix([self._row(i) for i in self.keys])
        self.n = n
        self.seen_low = np.full(len(self.keys), np.inf)
        self.seen_high = np.full(len(self.keys), -np.inf)
        self.position = {i: p for p, i in enumerate(self.keys)}
        self._highs: Any = None
        self._cap: float | None = None
        self._anchor: Any = None

    def _row(self, i: int) -> dict[int, float]:
        """Figure i as coefficients of this part's columns (a change between snapshots subtracts)."""
        row = {self.column[a]: 1.0 for a in self.system.rows[i]}
        for a in self.system.minus.get(i, ()):
            row[self.column[a]] = row.get(self.column[a], 0.0) - 1.0
        return row

    def _model(self) -> Any:
        """The part as one HiGHS model, built once: each programme after the first changes only the
        objective and starts from a known basis, instead of presolving thousands of rows again."""
        if self._highs is not None:
            return self._highs
        # Deferred on purpose, as scipy in `__init__`.
        import highspy
        from highspy._core import _Highs
        from scipy import sparse

        a = sparse.vstack([self.a_eq, self.a_ub]).tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = a.shape[0]
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = np.full(self.n, highspy.kHighsInf)
        lp.row_lower_ = np.concatenate([self.b_eq, np.full(len(self.b_ub), -highspy.kHighsInf)])
        lp.row_upper_ = np.concatenate([self.b_eq, self.b_ub])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = self.n
        lp.a_matrix_.num_row_ = a.shape[0]
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        # The core class, not `highspy.Highs`: that wrapper's constructor prints HiGHS's banner to the
        # process's standard output before any option can silence it (HiGHS issues 1702 and 2749), and
        # a publishing command's output is read by people and scripts.
        highs = _Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", 1)
        # The primal simplex: each programme after the first starts from a basis that is already a point
        # of the system (only the objective changed), which is where the primal method starts and the
        # dual method, HiGHS's choice here, must first undo. A year's correction checked against four
        # earlier releases took 285 s with the dual method and 22 s with the primal (7 December 2026).
        highs.setOptionValue("simplex_strategy", SIMPLEX_STRATEGY)
        highs.passModel(lp)
        # The anchor (see `_solve`): the first feasible point, found before any other programme ran.
        highs.run()
        if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            self._anchor = highs.getBasis()
        self._highs = highs
        return highs

    def _solve(self, objective: np.ndarray, cap: float | None = None, *, anchored: bool = False) -> _Solution:
        """One programme: minimise `objective` over the part, atoms within [0, cap].

        `anchored` starts from the basis of the part's first feasible point, not from the last
        programme's: a figure's bounds, and the published figures they rest on (the dual solution, one
        of several when the programme is degenerate), then depend only on the figure, never on which
        programmes ran before it. That keeps carrying intervals between rounds of hiding equal to
        solving afresh (`_Known`).
        """
        # Deferred: HiGHS's native library loads only when a release is checked, never with the web app.
        import highspy

        highs = self._model()
        if cap != self._cap:
            upper = np.full(self.n, highspy.kHighsInf if cap is None else cap)
            highs.changeColsBounds(self.n, np.arange(self.n, dtype=np.int32), np.zeros(self.n), upper)
            self._cap = cap
        if anchored and self._anchor is not None:
            highs.setBasis(self._anchor)
        highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.asarray(objective, dtype=float))
        highs.run()
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return _Solution(2)
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return _Solution(3)
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(
                f"the disclosure check's linear programme failed: {highs.modelStatusToString(status)}"
            )
        solution = highs.getSolution()
        self.widen(np.asarray(solution.col_value))
        duals = np.asarray(solution.row_dual)[: len(self.b_eq)]
        return _Solution(0, float(highs.getInfo().objective_function_value), duals)

    def widen(self, x: np.ndarray) -> None:
        """Every solution found is a point the figures can take together: it widens what each is known
        to reach, so many figures pass without programmes of their own (see `intervals`)."""
        values = self.figure_matrix @ x
        np.minimum(self.seen_low, values, out=self.seen_low)
        np.maximum(self.seen_high, values, out=self.seen_high)

    def feasible(self, samples: int = 6) -> bool:
        """Whether the part is consistent; also draws a few spread-out solutions (seeded, repeatable)."""
        rng = np.random.default_rng(0)
        for n in range(samples):
            weights = rng.random(self.n)
            result = self._solve(weights if n % 2 else -weights)
            if result.status == 2:
                return False
        return True

    def sweep(self, pending: Sequence[int], rounds: int = 16) -> list[int]:
        """Push many figures to their ends at once; the figures still not cleared by the solutions met.

        One programme minimises, one maximises the sum of the figures still pending: each solution is a
        point of the system (atoms capped at a bound no published figure reaches, so none runs off to
        infinity; a capped point is a point all the same), and it widens what each figure is known to
        reach. Two rounds that clear nothing end the sweep; what remains gets programmes of its own.
        """
        published = list(self.system.published.values())
        cap = 10.0 * (max(published, default=0) + self.system.threshold)
        rng = np.random.default_rng(1)
        idle = 0
        for n in range(rounds):
            if not pending or idle == 2:
                break
            # Random weights, and after the first round random directions: figures that share a
            # published total take turns at its ends.
            signs = np.ones(len(pending)) if n == 0 else rng.choice((-1.0, 1.0), len(pending))
            objective = np.zeros(self.n)
            for i, weight in zip(pending, signs * (rng.random(len(pending)) + 0.1), strict=True):
                for c, v in self._row(i).items():
                    objective[c] += weight * v
            for sign in (1.0, -1.0):
                if self._solve(sign * objective, cap).status != 0:
                    return list(pending)
            left = [
                i
                for i in pending
                if failing(*self.seen(i), self.system.hidden[i], self.system.threshold, proven=False)
            ]
            idle = idle + 1 if len(left) == len(pending) else 0
            pending = left
        return list(pending)

    def bounds(self, i: int, *, exact: bool = True) -> tuple[int, int, set[int]] | None:
        """[min, max] of figure i (whole numbers, rounded inwards) and the figures the bounds rest on.

        None when the part is infeasible (the releases contradict the model). With `exact` False, a
        figure whose minimum and the most met so far already pass gets that (inner) interval, and no
        second programme.
        """
        objective = np.zeros(self.n)
        for c, v in self._row(i).items():
            objective[c] = v
        ends: list[float] = []
        resting: set[int] = set()
        for sign in (1.0, -1.0):
            if ends and not exact:
                # The least value with the most met so far may already clear it: no second programme.
                low, high = math.ceil(ends[0] - 1e-6), self.seen(i)[1]
                if not failing(low, high, self.system.hidden.get(i), self.system.threshold, proven=False):
                    return low, high, resting
            result = self._solve(sign * objective, anchored=True)
            if result.status == 2:
                return None
            if result.status == 3:
                ends.append(math.inf)
                continue
            ends.append(sign * result.fun)
            for key, m in zip(self.eq_keys, result.duals, strict=True):
                if key >= 0 and abs(m) > 1e-9:
                    resting.add(key)
        low = math.ceil(ends[0] - 1e-6)
        high = math.floor(ends[1] + 1e-6) if ends[1] != math.inf else 10**12
        return low, high, resting

    def seen(self, i: int) -> tuple[int, int]:
        """The widest spread of figure i over the solutions met so far (an interval inside its bounds)."""
        p = self.position[i]
        return math.ceil(self.seen_low[p] - 1e-6), math.floor(self.seen_high[p] + 1e-6)


@dataclass(frozen=True)
class _Solution:
    """One programme's outcome: status 0 solved, 2 infeasible, 3 unbounded (scipy's numbering)."""

    status: int
    fun: float = math.nan
    duals: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True)
class Interval:
    """What an attacker can prove about a hidden figure: at least this wide (exact when `solved`)."""

    low: int
    high: int
    solved: bool
    resting: frozenset[int]


def intervals(
    system: System, *, stop: Any = None, known: dict[int, Interval] | None = None
) -> dict[int, Interval] | None:
    """The interval of every hidden figure, solving only those that the solutions met do not clear.

    A figure whose values over the solutions found already spread wide enough passes the protection
    rule whatever its exact bounds (they can only be wider), so it gets no programme of its own; the
    others get their exact [min, max]. None when some part of the system is infeasible.

    `known` gives figures whose interval the caller already has (`protect_release` between rounds, see
    `_Known`): they are taken as they are, and a part whose hidden figures are all known is not solved
    (the caller knows it is feasible: it was, and it has only been relaxed since).
    """
    result: dict[int, Interval] = {}
    known = known or {}
    if system.conflicting:
        return None
    groups = sorted({family_group(system.keys[i].family) for i in system.hidden})
    by_group: dict[str, list[int]] = {}
    for i in system.hidden:
        by_group.setdefault(family_group(system.keys[i].family), []).append(i)
    for group in groups:
        result.update({i: known[i] for i in by_group[group] if i in known})
        if all(i in known for i in by_group[group]):
            continue
        solver = Solver(system, group)
        if not solver.feasible():
            return None
        todo = [i for i in solver.keys if i in system.hidden and i not in known]
        pending = [
            i for i in todo if failing(*solver.seen(i), system.hidden[i], system.threshold, proven=False)
        ]
        solver.sweep(pending)
        for i in todo:
            reason = system.hidden[i]
            low, high = solver.seen(i)
            if not failing(low, high, reason, system.threshold, proven=False):
                result[i] = Interval(low, high, False, frozenset())
                continue
            bounds = solver.bounds(i, exact=False)
            if bounds is None:
                return None
            passed = not failing(bounds[0], bounds[1], reason, system.threshold)
            result[i] = Interval(bounds[0], bounds[1], not passed, frozenset(bounds[2]))
    return result


def system_under(
    model: Model, releases: Sequence[Release], threshold: int, *, extra: Sequence[Key] = ()
) -> System:
    """`build_system` with the bets of one attacker model (see `MODELS`)."""
    return build_system(
        releases,
        threshold,
        link_snapshots=model.link,
        growth=model.growth,
        closed_areas=model.closed,
        extra=extra,
    )


def protection_level(threshold: int) -> int:
    """How wide the interval of a possibly small hidden count must be: half the threshold, rounded up."""
    return max(1, math.ceil(threshold / 2))


def failing(low: int, high: int, reason: str | None, threshold: int, *, proven: bool = True) -> bool:
    """Whether an attacker's interval breaks the protection rule (see the module docstring).

    `proven` says the interval's ends are what the attacker can prove; an interval only met (the spread
    of the solutions found so far, which may widen) is given with `proven` False. A count proven to be 0
    passes: it counts no one.
    """
    if proven and high == 0:
        return False
    if high <= low:
        return True
    return reason != "protects" and high - low < protection_level(threshold)


# --- protecting a candidate release ---------------------------------------------------------------


def protect_release(candidate: Path, published: Sequence[Path], *, threshold: int) -> DisclosureResult:
    """Hide further figures in `candidate` until nothing published pins or narrows a hidden count."""
    candidate = Path(candidate)
    earlier = [read_release(Path(p)) for p in published if Path(p).resolve() != candidate.resolve()]
    hidden_now: list[Figure] = []
    blocking: list[BlockingFigure] = []
    already: list[str] = []
    release = read_release(candidate, candidate=True)
    models = list(MODELS)
    model = models.pop(0)
    known = _Known()
    for _ in range(MAX_ROUNDS):
        system = system_under(model, [*earlier, release], threshold)
        carried = known.carried(system)
        found = intervals(system, known=carried)
        if found is None:
            # The figures contradict the model (records changed the day releases were taken, or a
            # count shrank): the attacker drops that bet, and so does the check.
            if not models:
                return _closed(release, "the published releases contradict one another; check them by hand")
            model = models.pop(0)
            log.info("disclosure check: the releases contradict the model; now %s", model)
            known = _Known()
            continue
        known.remember(system, found)
        log.debug(
            "round: %d figures, %d hidden, %d carried, %d failing",
            len(system.keys),
            len(system.hidden),
            len(carried),
            sum(failing(v.low, v.high, system.hidden[i], threshold) for i, v in found.items()),
        )
        order = {id(f): n for n, f in enumerate(release.figures)}
        to_hide: dict[Key, Figure] = {}
        blocking = []
        unfixable: list[tuple[int, Interval]] = []
        failed = {
            i: interval
            for i, interval in found.items()
            if failing(interval.low, interval.high, system.hidden[i], threshold)
        }

        def shown(k: int, system: System = system) -> list[Figure]:
            return [f for f in system.figures[k] if f.candidate and f.value is not None]

        # A figure the earlier releases alone pin is public already: hiding it protects nothing, and
        # would label "withheld" a figure anyone can work out. It is never picked.
        resting = sorted({k for interval in failed.values() for k in interval.resting if shown(k)})
        given = known.before(earlier, [system.keys[k] for k in resting], threshold, model)
        public = {k for k in resting if (b := given.get(system.keys[k])) is not None and b[0] == b[1]}
        for i, interval in failed.items():
            options = [f for k in sorted(interval.resting) if k not in public for f in shown(k)]
            if not options:
                unfixable.append((i, interval))
                continue
            pick = min(options, key=lambda f: (f.value, order[id(f)]))
            to_hide.setdefault(pick.key, pick)
        before = known.before(earlier, [system.keys[i] for i, _ in unfixable], threshold, model)
        for i, interval in unfixable:
            alone = before.get(system.keys[i])
            if alone is not None and alone[0] >= interval.low and alone[1] <= interval.high:
                # Given away already, and this release narrows it no further: nothing left to hide.
                already.append(system.figures[i][0].locator)
                continue
            figure = system.figures[i][0]
            blocking.append(
                BlockingFigure(release.name, figure.file, figure.locator, interval.low, interval.high)
            )
        if blocking or not to_hide:
            break
        hidden_now.extend(to_hide.values())
        _hide(candidate, release, set(to_hide), threshold)
        release = read_release(candidate, candidate=True)
    else:
        blocking = [
            BlockingFigure(release.name, PUBLIC_REPORT, "too many rounds of further suppression", 0, 0)
        ]
    further = len({f.key for f in hidden_now})
    if blocking:
        names = "; ".join(f"{b.figure} ({b.low}–{b.high})" for b in blocking[:5])
        return DisclosureResult(
            False,
            tuple(blocking),
            further,
            f"Not published: with the earlier releases, {len(blocking)} hidden figure(s) could be worked "
            f"out or narrowed too far ({names}).",
        )
    note = f" {len(set(already))} figure(s) were already given away by earlier releases." if already else ""
    return DisclosureResult(
        True,
        (),
        further,
        f"Checked against {len(earlier)} earlier release(s): {further} more figure(s) withheld so that no "
        f"hidden count can be worked out.{note}",
    )


class _Known:
    """What one `protect_release` call has proven so far, carried from one round of hiding to the next.

    Between rounds the candidate only hides figures: a published equality becomes a bound its value
    already met (`_hide`), so the attacker's feasible set only grows. Hence a figure that passed still
    passes, and the ends of a figure that failed are unchanged unless the optimal dual solution behind
    them (`Interval.resting`, the published figures with a non-zero dual value) used a figure hidden
    since: that dual solution stays feasible for the relaxed programme, with the same value. An
    outcome's or a duty's part also reads published engagement figures as caps (`Solver`), whose duals
    are not recorded: hiding any engagement figure forgets what those parts proved. A hidden figure's
    stated reason made stricter (a row now marked `protects` states its total reaches the threshold)
    tightens its part: what that part proved is forgotten (every part's, for an engagement figure).
    The results are the same as solving every round afresh (tests/reports/test_disclosure.py compares).
    """

    def __init__(self) -> None:
        self.intervals: dict[Key, tuple[Interval, frozenset[Key]]] = {}
        self.published: set[Key] | None = None
        self.hidden: dict[Key, str | None] = {}
        self.earlier: dict[Key, tuple[int, int] | None] = {}

    def carried(self, system: System) -> dict[int, Interval]:
        """The intervals still valid in this round's system, by its figure indices."""
        published = {system.keys[i] for i in system.published}
        hidden = {system.keys[i]: reason for i, reason in system.hidden.items()}
        if self.published is not None:
            newly = self.published - published
            # A part (see `Solver`) is tightened by a figure of its own newly published or given a
            # stricter reason; every part reads published engagement figures as caps.
            tightened = {key for key, reason in self.hidden.items() if hidden.get(key, reason) != reason} | (
                published - self.published
            )
            parts = {family_group(key.family) for key in tightened}
            if any(key.family == "eng" for key in tightened):
                parts = {"*"}
            caps = any(key.family == "eng" for key in newly)
            for key, (interval, resting) in list(self.intervals.items()):
                part = family_group(key.family)
                if "*" in parts or part in parts:
                    del self.intervals[key]
                    continue
                passed = not failing(interval.low, interval.high, hidden.get(key), system.threshold)
                if passed:
                    continue
                if resting & newly or (caps and part != "eng"):
                    del self.intervals[key]
        self.published, self.hidden = published, hidden
        index = {key: i for i, key in enumerate(system.keys)}
        return {
            index[key]: Interval(
                interval.low, interval.high, interval.solved, frozenset(index[k] for k in resting)
            )
            for key, (interval, resting) in self.intervals.items()
            if key in index and index[key] in system.hidden
        }

    def remember(self, system: System, found: dict[int, Interval]) -> None:
        """Keep this round's intervals, by figure key."""
        for i, interval in found.items():
            resting = frozenset(system.keys[k] for k in interval.resting)
            self.intervals[system.keys[i]] = (interval, resting)

    def before(
        self, earlier: Sequence[Release], keys: Sequence[Key], threshold: int, model: Model
    ) -> dict[Key, tuple[int, int]]:
        """`_bounds_before`, each key asked once: the earlier releases do not change between rounds."""
        asked = [key for key in keys if key not in self.earlier]
        if asked:
            found = _bounds_before(earlier, asked, threshold, model)
            self.earlier.update({key: found.get(key) for key in asked})
        return {key: bounds for key in keys if (bounds := self.earlier[key]) is not None}


def _closed(release: Release, why: str) -> DisclosureResult:
    figure = BlockingFigure(release.name, PUBLIC_REPORT, why, 0, 0)
    return DisclosureResult(False, (figure,), 0, f"Not published: {why}.")


def _bounds_before(
    earlier: Sequence[Release], keys: Sequence[Key], threshold: int, model: Model
) -> dict[Key, tuple[int, int]]:
    """What the earlier releases alone prove about these figures (or the same counts), where anything."""
    if not earlier or not keys:
        return {}
    system = system_under(model, earlier, threshold, extra=keys)
    index = {key: i for i, key in enumerate(system.keys)}
    solvers: dict[str, Solver] = {}
    result: dict[Key, tuple[int, int]] = {}
    for key in keys:
        i = index.get(key)
        if i is None:
            continue
        if i in system.published:
            result[key] = (system.published[i], system.published[i])
            continue
        group = family_group(key.family)
        solver = solvers.get(group) or solvers.setdefault(group, Solver(system, group))
        bounds = solver.bounds(i)
        if bounds is not None:
            result[key] = (bounds[0], bounds[1])
    return result


# --- rewriting the candidate's files ----------------------------------------------------------------

_DERIVED = {
    "count": ("rate", "index", "ci_low", "ci_high", "notable"),
    "total": ("rate", "reference_rate", "index", "ci_low", "ci_high", "notable"),
    "searches": ("hit_rate", "ci_low", "ci_high"),
    "hits": ("hit_rate", "ci_low", "ci_high"),
}


def _hide(candidate: Path, release: Release, keys: set[Key], threshold: int) -> None:
    """Blank the figures with these keys everywhere in the candidate's report and open data."""
    report = release.report
    for figure in release.figures:
        if figure.key not in keys:
            continue
        for kind, where in figure.places:
            if kind == "row":
                _blank_row(where, figure.value, threshold)
            elif kind == "trend_attempts":
                report["trends"]["attempts"][where] = None
            elif kind in ("annual", "governance"):
                report[kind][where] = None
            elif kind == "quality":
                for item in report["data_quality"]["fields"]:
                    if item.get("field") == where:
                        item["count"] = None
            elif kind in ("by_race", "by_division", "by_age", "by_gender"):
                report["annual"][kind][where] = None
    # Secondary places: a total shared by many rows, nulled with what it gives away.
    for section, whole_key, family_of in _SECONDARY:
        for row in report.get(section) or []:
            key = family_of(release, row)
            if key is not None and key in keys and row.get(whole_key) is not None:
                row[whole_key] = None
                for derived in _DERIVED[whole_key]:
                    if derived in row:
                        row[derived] = None
    for rows in (report.get("trends") or {}).get("disproportionality") or []:
        for row in rows:
            known = tuple(sorted({r["group"] for r in rows}))
            period = str(report["trends"]["periods"][report["trends"]["disproportionality"].index(rows)])
            if Key("eng", period, release.snapshot, CITY, known) in keys:
                for name in ("total", *_DERIVED["total"]):
                    if name in row:
                        row[name] = None
    _reference_rates(report)
    _sync_counts(report)
    path = candidate / PUBLIC_REPORT
    path.write_text(
        json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    _rewrite_open_data(candidate, release, keys, report)


def _known_key(release: Release, row: dict[str, Any]) -> Key | None:
    known = tuple(sorted({r["group"] for r in release.report.get("disproportionality") or []}))
    return Key("eng", release.period, release.snapshot, row["area"], known)


def _group_key(family: str) -> Any:
    def key(release: Release, row: dict[str, Any]) -> Key:
        return Key(family, release.period, release.snapshot, row["area"], (row["group"],))

    return key


def _area_key(release: Release, row: dict[str, Any]) -> Key:
    return Key("eng", release.period, release.snapshot, row["area"], ALL)


_SECONDARY = (
    ("disproportionality", "total", _known_key),
    ("disparity", "total", _group_key("eng")),
    ("outcome_test", "searches", _group_key("out:searched")),
    ("compliance", "total", _area_key),
)


# A row's whole (its area's or group's engagements, its searches) is a figure of its own, often shown
# in other rows and tables: hiding the row's count leaves it, and `_hide` nulls it only when its own key
# is hidden (a figure shown in one place is shown, or withheld, everywhere).
_WHOLES = ("total", "searches")


def _blank_row(row: dict[str, Any], value: int | None, threshold: int) -> None:
    for key, item in list(row.items()):
        if key in _WHOLES:
            continue
        if isinstance(item, int | float | bool) or item is None:
            row[key] = None
    row["suppressed"] = True
    if row.get("suppressed_reason") not in ("small", "protects"):
        row["suppressed_reason"] = "small" if value is not None and value < threshold else "protects"


def _reference_rates(report: dict[str, Any]) -> None:
    """Null a disparity row's reference rate when the reference group's row of its area is withheld."""
    reference = (report.get("meta") or {}).get("reference_group") or "White"
    withheld = {
        (r["area"], r["measure"])
        for r in report.get("disparity") or []
        if r["group"] == reference and (r.get("count") is None or r.get("total") is None)
    }
    for row in report.get("disparity") or []:
        if (row["area"], row["measure"]) in withheld:
            for name in ("reference_rate", "index", "ci_low", "ci_high", "notable"):
                row[name] = None


def _sync_counts(report: dict[str, Any]) -> None:
    """Keep figures that repeat a withheld count withheld too (data quality, annual tables)."""
    annual = report.get("annual") or {}
    quality = report.get("data_quality") or {}
    if isinstance(quality, dict):
        if "rows" in quality:
            quality["rows"] = annual.get("attempts", quality.get("rows"))
        same_as = quality_twins(annual)
        for item in quality.get("fields") or []:
            if item.get("field") in same_as and same_as[item["field"]] is None:
                item["count"] = None
    if annual and annual.get("attempts") is None and "encounters" in annual:
        annual["encounters"] = None
    meta = report.get("meta") or {}
    if annual and annual.get("attempts") is None and "rows" in meta:
        meta["rows"] = None
    # The governance summary repeats the annual table's attempts and "collected" (and its review
    # records add up to the attempts): found on 2026-12-04, a city "collected" count the check withheld
    # stood in the governance section, and "not collected" followed by subtraction.
    governance = report.get("governance")
    if annual and isinstance(governance, dict):
        for name, source in (("attempts", "attempts"), ("attempts_collected", "collected")):
            if name in governance and source in annual and annual[source] is None:
                governance[name] = None
        reviews = governance.get("reviews")
        if annual.get("attempts") is None and isinstance(reviews, dict) and "records" in reviews:
            reviews["records"] = None


def _rewrite_open_data(candidate: Path, release: Release, keys: set[Key], report: dict[str, Any]) -> None:
    """Rewrite the open-data files from the rewritten report, and the trend table's withheld cells."""
    folder = candidate / OPEN_DATA
    if not folder.is_dir():
        return
    for section in ("disproportionality", "disparity", "outcome_test", "compliance"):
        if (folder / f"{section}.csv").is_file() and report.get(section):
            frame = open_data.section_frame(section, report[section])
            reasons = [
                row.get("suppressed_reason") if row.get("suppressed") else None for row in report[section]
            ]
            if any(reasons) and "suppressed_reason" not in frame.columns:
                frame["suppressed_reason"] = pd.array(reasons, dtype="string")
            for suffix in ("csv", "parquet"):
                open_data.write_frame(frame, folder / f"{section}.{suffix}")
    trend = folder / TREND_FILE
    if trend.is_file():
        frame = pd.read_csv(trend, dtype={"period": "string", "perceived_race": "string"})
        frame["count"] = frame["count"].astype("Int64")
        frame["count_suppressed"] = frame["count_suppressed"].astype("boolean")
        rows = {i for f in release.figures if f.key in keys for kind, i in f.places if kind == "trend_csv"}
        reason_column = "count_suppressed_reason"
        for i in sorted(rows):
            value = frame.at[i, "count"]
            frame.at[i, "count"] = pd.NA
            frame.at[i, "count_suppressed"] = True
            if reason_column not in frame.columns:
                frame[reason_column] = pd.array([pd.NA] * len(frame), dtype="string")
            frame.at[i, reason_column] = (
                "small" if value is not pd.NA and value < release.threshold else "protects"
            )
        for suffix in ("csv", "parquet"):
            open_data.write_frame(frame, folder / f"{TREND_FILE.removesuffix('.csv')}.{suffix}")
    if (folder / PUBLIC_REPORT).is_file():
        (folder / PUBLIC_REPORT).write_text(
            json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
    open_data.refresh_manifest(folder)
