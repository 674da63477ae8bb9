"""Small-cell suppression of public tables and of the public report.json (docs/rule-sets.md `SMALL-CELLS`).

A count table is protected as its *extended* grid: the cells, a column of row totals, a row of column
totals and the grand total in the corner. Every row and every column of that grid is a "line" whose last
entry is the sum of the others. The rule set's threshold gives the primary suppressions (any entry below
it, zeros included); complementary suppressions are then added until

* every line hides either nothing or at least two entries, and the hidden cells of a line whose total
  is published add up to at least the threshold, so one subtraction cannot reveal a small count; and
* no hidden entry's value is fixed by the published figures taken together (several lines can pin a
  value that each line alone hides behind two entries, and zeros can only grow): checked exactly, as a
  directed cycle through the entry (see `_determined_repair`).

Extra entries are chosen smallest first, ties broken by position, so the result is deterministic; a line's
partner is first sought among entries whose crossing line also hides a single entry, so that one choice
balances two lines (fewer counts hidden for the same protection).
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, SupportsInt

import numpy as np
import pandas as pd

from fairengage.analytics.counts import CITY
from fairengage.vocabulary import REFERENCE_GROUP, UNKNOWN

Entry = tuple[int, int]

# The column label of "all groups" in the grids built from a report (the row label of the totals is CITY).
ALL_GROUPS = "*"
# The report sections whose rows carry counts; each row of the public version gains `suppressed`.
TABLE_SECTIONS: tuple[str, ...] = ("disproportionality", "disparity", "outcome_test", "compliance")
# Every key of report.json (docs/architecture.md); the public version has these and no others.
REPORT_SECTIONS: tuple[str, ...] = (*TABLE_SECTIONS, "veil_of_darkness", "officers", "meta")
# Sections of the exact report that the public version carries as null: their figures (differences
# with intervals, officers' comparisons, indices under other benchmarks) rest on counts this module
# does not suppress, so they stay with the board.
WITHHELD_SECTIONS: tuple[str, ...] = (
    "outcome_test_difference", "outcome_test_stratified", "officer_review", "benchmark_comparison",
)  # fmt: skip
# The counts of each section's rows; every other number is derived from them (or is the census).
COUNT_KEYS: dict[str, tuple[str, ...]] = {
    "disproportionality": ("count", "total"),
    "disparity": ("count", "total"),
    "outcome_test": ("searches", "hits"),
    "compliance": ("count", "total"),
}
# Why a row is hidden (`suppressed_reason`): one of its own counts is below the threshold, or it is hidden
# only to protect another figure (in this release or across releases; see disclosure.py).
SMALL, PROTECTS = "small", "protects"
OFFICERS_NOTE = (
    "Officer-level results are left out of public reports: they are for the board and the service's "
    "early-intervention process, not publication."
)


@dataclass(frozen=True)
class SuppressedTable:
    """A count table as published: hidden entries are <NA> (cells and totals) or None (grand total)."""

    values: pd.DataFrame
    row_totals: pd.Series
    column_totals: pd.Series
    grand_total: int | None
    suppressed: pd.DataFrame
    # The extended grid's entries below the threshold (cells, row totals last, column totals last row):
    # what `count_suppressed_reason` says of each hidden entry.
    small: np.ndarray | None = None

    def to_long(self, *, row_name: str, column_name: str, total_label: str = CITY) -> pd.DataFrame:
        """One line per cell and total: labels, `count` (<NA> if hidden), `count_suppressed`, its reason."""
        records: list[dict[str, Any]] = []
        rows, cols = self.values.shape
        small = self.small if self.small is not None else np.zeros((rows + 1, cols + 1), dtype=bool)
        for i, row in enumerate(self.values.index):
            for j, column in enumerate(self.values.columns):
                records.append(_long_record(row, column, self.values.at[row, column], small[i, j]))
            records.append(_long_record(row, total_label, self.row_totals[row], small[i, cols]))
        for j, column in enumerate(self.values.columns):
            records.append(_long_record(total_label, column, self.column_totals[column], small[rows, j]))
        records.append(_long_record(total_label, total_label, self.grand_total, small[rows, cols]))
        columns = ["row", "column", "count", "count_suppressed", "count_suppressed_reason"]
        frame = pd.DataFrame.from_records(records, columns=columns)
        frame["row"] = frame["row"].astype(str)
        frame["column"] = frame["column"].astype(str)
        frame["count"] = frame["count"].astype("Int64")
        frame["count_suppressed"] = frame["count_suppressed"].astype(bool)
        return frame.rename(columns={"row": row_name, "column": column_name})


def _long_record(row: object, column: object, value: SupportsInt | None, small: bool) -> dict[str, Any]:
    hidden = value is None or value is pd.NA
    reason = (SMALL if small else PROTECTS) if hidden else None
    return {
        "row": row,
        "column": column,
        # `value is None` is part of `hidden`; said again so that the type checker sees it.
        "count": None if hidden or value is None else int(value),
        "count_suppressed": hidden,
        "count_suppressed_reason": reason,
    }


def suppress_table(table: pd.DataFrame, *, threshold: int, settled_rows: bool = False) -> SuppressedTable:
    """Suppress a 2-D count table (no total row or column) and its totals, with complementary cells.

    `settled_rows`: each row is a period an earlier release published (a trend table). A cell hidden to
    protect another is then taken from the totals row (the sum over the periods, new with this release)
    before any period's own cell: a period's count that its own release published, withheld later,
    would stand "withheld" beside a number anyone has (issue 10: "freeze a closed period's cells").
    """
    _check_threshold(threshold)
    counts = _counts(table)
    grid = _extend(counts)
    settled = None
    if settled_rows:
        settled = np.zeros(grid.shape, dtype=bool)
        settled[:-1, :] = True
    mask = _protect(grid, threshold=threshold, settled=settled)
    rows, cols = counts.shape
    values = pd.DataFrame(counts, index=table.index, columns=table.columns).astype("Int64")
    values = values.mask(pd.DataFrame(mask[:rows, :cols], index=table.index, columns=table.columns))
    row_totals = pd.Series(grid[:rows, cols], index=table.index, name="total").astype("Int64")
    row_totals = row_totals.mask(pd.Series(mask[:rows, cols], index=table.index))
    column_totals = pd.Series(grid[rows, :cols], index=table.columns, name="total").astype("Int64")
    column_totals = column_totals.mask(pd.Series(mask[rows, :cols], index=table.columns))
    grand = None if mask[rows, cols] else int(grid[rows, cols])
    hidden = pd.DataFrame(mask[:rows, :cols], index=table.index, columns=table.columns).astype(bool)
    return SuppressedTable(values, row_totals, column_totals, grand, hidden, small=grid < threshold)


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 0:
        raise ValueError(f"threshold must be a non-negative integer, got {threshold!r}")


def _counts(table: pd.DataFrame) -> np.ndarray:
    """The table's counts as int64, refusing anything that is not a table of non-negative integers."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError("a count table must be a pandas DataFrame")
    if table.isna().to_numpy().any():
        raise ValueError("a count table cannot hold missing values")
    try:
        numbers = table.to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError("a count table must hold numbers only") from error
    if (numbers < 0).any() or (numbers != np.floor(numbers)).any():
        raise ValueError("a count table must hold non-negative whole numbers")
    return numbers.astype(np.int64)


def _extend(counts: np.ndarray) -> np.ndarray:
    """The extended grid: cells, a last column of row totals, a last row of column totals."""
    rows, cols = counts.shape
    grid = np.zeros((rows + 1, cols + 1), dtype=np.int64)
    grid[:rows, :cols] = counts
    grid[:rows, cols] = counts.sum(axis=1)
    grid[rows, :cols] = counts.sum(axis=0)
    grid[rows, cols] = counts.sum()
    return grid


def _protect(
    grid: np.ndarray,
    *,
    threshold: int,
    forced: np.ndarray | None = None,
    settled: np.ndarray | None = None,
) -> np.ndarray:
    """The suppression mask of an extended grid (totals last); `forced` entries stay hidden.

    `settled` entries are hidden to protect another only when no other entry of the line will do."""
    mask = np.asarray(grid) < threshold
    if forced is not None:
        mask |= forced
    rows, cols = grid.shape
    if rows < 2 or cols < 2:
        # An empty table: only its grand total exists, and a line of one entry has nothing to balance.
        return mask
    lines = [[(i, j) for j in range(cols)] for i in range(rows)]
    lines += [[(i, j) for i in range(rows)] for j in range(cols)]
    while True:
        # One entry at a time, rescanning from the first line: a partner chosen for one line often
        # balances the crossing line too, which a sweep adding to every line at once would miss.
        entry = next(
            (e for line in lines if (e := _line_shortfall(grid, mask, line, threshold, settled)) is not None),
            None,
        )
        if entry is None:
            # Only when every line is balanced: the costlier whole-grid check.
            entry = _determined_repair(grid, mask, settled)
        if entry is None:
            return mask
        mask[entry] = True


def _line_shortfall(
    grid: np.ndarray, mask: np.ndarray, line: list[Entry], threshold: int, settled: np.ndarray | None = None
) -> Entry | None:
    """The entry to hide next in a line hiding one entry only, or too little behind a published total."""
    hidden = [entry for entry in line if mask[entry]]
    if not hidden:
        return None
    total = line[-1]
    short = not mask[total] and sum(int(grid[entry]) for entry in hidden) < threshold
    if len(hidden) >= 2 and not short:
        return None
    candidates = _unsettled([entry for entry in line if not mask[entry]], settled)
    # Prefer a partner whose crossing line hides a single entry too: one choice then balances both.
    along_row = line[0][0] == line[-1][0]
    pairing = [entry for entry in candidates if _crossing_hidden(mask, entry, along_row=along_row) == 1]
    return _smallest(grid, pairing or candidates)


def _crossing_hidden(mask: np.ndarray, entry: Entry, *, along_row: bool) -> int:
    """How many entries are hidden in the line crossing `line` at `entry`."""
    return int(mask[:, entry[1]].sum()) if along_row else int(mask[entry[0], :].sum())


def _unsettled(entries: list[Entry], settled: np.ndarray | None) -> list[Entry]:
    """The entries not settled, if any; else all of them (see `_protect`)."""
    if settled is None:
        return entries
    return [entry for entry in entries if not settled[entry]] or entries


def _smallest(grid: np.ndarray, entries: Iterable[Entry]) -> Entry | None:
    """The entry with the smallest count, the first by position among equals."""
    return min(entries, key=lambda entry: (int(grid[entry]), entry), default=None)


def _sign(grid: np.ndarray, entry: Entry) -> int:
    """+1 for cells and the grand total, -1 for row and column totals (see `_determined_repair`)."""
    rows, cols = grid.shape
    return 1 if (entry[0] == rows - 1) == (entry[1] == cols - 1) else -1


def _arcs(grid: np.ndarray, entry: Entry) -> list[tuple[int, int]]:
    """The directed arcs (row line -> column line, or back) along which an entry's value may move."""
    rows = grid.shape[0]
    row_node, col_node = entry[0], rows + entry[1]
    positive = grid[entry] > 0
    arcs = []
    if positive or _sign(grid, entry) > 0:
        arcs.append((row_node, col_node))
    if positive or _sign(grid, entry) < 0:
        arcs.append((col_node, row_node))
    return arcs


def _determined_repair(grid: np.ndarray, mask: np.ndarray, settled: np.ndarray | None = None) -> Entry | None:
    """An entry to hide so the first hidden entry whose value the published figures fix can move; or None.

    Why this is exact: each line says "its entries sum to its total". Moving the hidden values by d keeps
    every published figure when, in each line, the moves of the hidden entries cancel. Flipping the sign
    of the totals row's and totals column's equations gives every entry the same coefficient s (+1 for
    cells and the grand total, -1 for row and column totals) in both of its lines, so y = s * d is a
    circulation on the bipartite graph of lines (nodes) and hidden entries (edges). From the true table,
    a count of zero can only grow, which allows its edge one direction only. So an entry can take another
    value exactly when a directed cycle passes through it; and because this constraint matrix is totally
    unimodular, the range it can take has integer ends, hence at least two whole-number values.
    """
    hidden = [(int(i), int(j)) for i, j in zip(*np.nonzero(mask), strict=True)]
    arcs = {entry: _arcs(grid, entry) for entry in hidden}
    for entry in hidden:
        others = [arc for other, pair in arcs.items() if other != entry for arc in pair]
        # An arc tail -> head lies on a directed cycle when the other arcs lead from head back to tail.
        if any(tail in _reach(others, start=head, goal=tail) for tail, head in arcs[entry]):
            continue
        return _closing_entry(grid, mask, entry, others, settled)
    return None


def _reach(arcs: list[tuple[int, int]], *, start: int, goal: int | None = None) -> set[int]:
    """The nodes reachable from `start` along `arcs` (stopping early once `goal` is reached)."""
    forward: dict[int, list[int]] = {}
    for tail, head in arcs:
        forward.setdefault(tail, []).append(head)
    seen = {start}
    queue = deque([start])
    while queue and goal not in seen:
        for nxt in forward.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _closing_entry(
    grid: np.ndarray,
    mask: np.ndarray,
    entry: Entry,
    others: list[tuple[int, int]],
    settled: np.ndarray | None = None,
) -> Entry:
    """The smallest unhidden entry whose arc would close a directed cycle through `entry`.

    Falls back to the smallest unhidden entry in the entry's row or column, which grows the graph; hiding
    everything always leaves every entry free, so repeated repairs end.
    """
    rows, cols = grid.shape
    reversed_arcs = [(head, tail) for tail, head in others]
    wanted: list[tuple[set[int], set[int]]] = []
    for tail, head in _arcs(grid, entry):
        # A path head -> ... -> tail closes the cycle: an arc from what head reaches to what reaches tail.
        wanted.append((_reach(others, start=head), _reach(reversed_arcs, start=tail)))
    candidates = [
        (a, b)
        for a in range(rows)
        for b in range(cols)
        if not mask[a, b]
        and any(t in starts and h in ends for t, h in _arcs(grid, (a, b)) for starts, ends in wanted)
    ]
    pick = _smallest(grid, _unsettled(candidates, settled))
    if pick is None:
        line = [(entry[0], b) for b in range(cols)] + [(a, entry[1]) for a in range(rows)]
        pick = _smallest(grid, _unsettled([e for e in line if not mask[e]], settled))
    if pick is None:
        raise AssertionError("a hidden entry is fixed although its whole row and column are hidden")
    return pick


# --- report.json ---------------------------------------------------------------------------------------


@dataclass
class _Grid:
    """An extended grid over labelled areas (rows, CITY last) and columns (ALL_GROUPS last)."""

    name: str
    rows: list[str]
    cols: list[str]
    values: np.ndarray
    forced: np.ndarray = field(init=False)
    mask: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.forced = np.zeros(self.values.shape, dtype=bool)
        self.mask = self.forced.copy()
        self._row_at = {label: i for i, label in enumerate(self.rows)}
        self._col_at = {label: j for j, label in enumerate(self.cols)}

    def at(self, row: str, col: str) -> Entry | None:
        """The position of a labelled entry, or None if the grid has no such entry."""
        if row in self._row_at and col in self._col_at:
            return self._row_at[row], self._col_at[col]
        return None

    def hidden(self, row: str, col: str) -> bool:
        """Whether the labelled entry is suppressed (an entry the grid lacks is not)."""
        entry = self.at(row, col)
        return entry is not None and bool(self.mask[entry])

    def force(self, row: str, col: str) -> bool:
        """Hide the labelled entry whatever its count; True if this is new."""
        entry = self.at(row, col)
        if entry is None or self.forced[entry]:
            return False
        self.forced[entry] = True
        return True

    def labelled_hidden(self) -> Iterator[tuple[str, str]]:
        """The labels of every suppressed entry."""
        for i, j in zip(*np.nonzero(self.mask), strict=True):
            yield self.rows[i], self.cols[j]

    def solve(self, threshold: int) -> None:
        """Recompute the mask from the counts and the forced entries."""
        self.mask = _protect(self.values, threshold=threshold, forced=self.forced)


def _grid(
    name: str,
    areas: list[str],
    cols: list[str],
    cells: dict[tuple[str, str], int],
) -> _Grid:
    """A grid whose totals are the report's CITY rows and area totals where given, else the sums.

    A published total larger than the sum of its cells (an area or group the rows do not list) gets a
    residual row or column, so that what only the total reveals is protected like any other count.
    """
    counts = np.array([[cells.get((a, c), 0) for c in cols] for a in areas], dtype=np.int64).reshape(
        len(areas), len(cols)
    )
    row_sums, col_sums = counts.sum(axis=1), counts.sum(axis=0)
    row_totals = np.array([cells.get((a, ALL_GROUPS), s) for a, s in zip(areas, row_sums, strict=True)])
    col_totals = np.array([cells.get((CITY, c), s) for c, s in zip(cols, col_sums, strict=True)])
    grand = cells.get((CITY, ALL_GROUPS), int(row_totals.sum()))
    residual_col = (row_totals - row_sums).astype(np.int64)
    residual_row = (col_totals - col_sums).astype(np.int64)
    corner = int(grand - counts.sum() - residual_col.sum() - residual_row.sum())
    if (residual_col < 0).any() or (residual_row < 0).any() or corner < 0:
        raise ValueError(f"report.json figures for {name} do not add up: a total is below its parts' sum")
    rows_out, cols_out = list(areas), list(cols)
    if residual_col.any() or corner:
        counts = np.column_stack([counts, residual_col])
        cols_out.append("(other)")
    if residual_row.any() or corner:
        extra = list(residual_row) + ([corner] if len(cols_out) > len(cols) else [])
        counts = np.vstack([counts, np.array(extra, dtype=np.int64)])
        rows_out.append("(other)")
    return _Grid(name, [*rows_out, CITY], [*cols_out, ALL_GROUPS], _extend(counts.astype(np.int64)))


def _number(value: Any) -> int | None:
    """A count from report.json, or None when absent."""
    if value is None or isinstance(value, bool):
        return None
    return int(value)


def suppress_report(report: dict, *, threshold: int) -> dict:
    """The public version of a report.json: officers left out, small and recoverable counts hidden.

    Rows of the four tables gain `suppressed`; a suppressed row keeps its labels only. Keys other than
    report.json's own are not copied. A report already suppressed at this threshold or above is returned
    as it is (a copy).
    """
    _check_threshold(threshold)
    meta = report.get("meta") or {}
    done = meta.get("suppression")
    if done is not None:
        if done.get("threshold", -1) >= threshold:
            return copy.deepcopy(report)
        raise ValueError("report.json was already suppressed at a lower threshold; suppress the exact report")
    # Only the sections this function knows how to suppress are carried over: anything else a caller
    # added to the exact report (its own tables) could hold small counts, so it is left for the caller
    # to suppress and add back.
    public = {key: copy.deepcopy(value) for key, value in report.items() if key in REPORT_SECTIONS}
    sections = {name: public.get(name) or [] for name in TABLE_SECTIONS}
    reference = meta.get("reference_group", REFERENCE_GROUP)
    grids = _report_grids(sections, threshold)
    exact = {name: [dict(row) for row in rows] for name, rows in sections.items()}
    _mark_rows(sections, grids, reference, threshold)
    _mark_counts(sections, exact, threshold)
    _suppress_veil(public, threshold)
    public["officers"] = None
    for name in WITHHELD_SECTIONS:
        if name in report:
            public[name] = None
    public_meta = public.setdefault("meta", {})
    rows = _number(public_meta.get("rows"))
    # `rows` is the number of engagements: the grand total of the groups grid, where there is one.
    total_hidden = "groups" in grids and grids["groups"].hidden(CITY, ALL_GROUPS)
    if rows is not None and (rows < threshold or total_hidden):
        public_meta["rows"] = None
    public_meta["suppression"] = {
        "rule": "SMALL-CELLS",
        "threshold": threshold,
        "method": (
            "Counts below the threshold are hidden, and further counts are hidden so that no hidden count "
            "can be worked out from the published totals; every figure derived from a hidden count is "
            "hidden with it."
        ),
        "officers": OFFICERS_NOTE,
    }
    return public


def _report_grids(sections: dict[str, list[dict]], threshold: int) -> dict[str, _Grid]:
    """Build the linked grids of a report and suppress them together until no link adds anything."""
    dispro, disparity = sections["disproportionality"], sections["disparity"]
    outcome, compliance = sections["outcome_test"], sections["compliance"]
    areas = sorted({row["area"] for rows in sections.values() for row in rows} - {CITY})
    groups = sorted({row["group"] for rows in (dispro, disparity, outcome) for row in rows})
    grids: dict[str, _Grid] = {}
    links: list[Callable[[], bool]] = []

    def link(source: str, target: str, *, columns: Callable[[str], bool] = lambda _: True) -> None:
        # Whatever the source hides, the target hides too (the same count appears in both).
        links.append(partial(_propagate, grids[source], grids[target], columns))

    # Engagements by area and group, Unknown included (the disparity rows' `total`), with the areas'
    # engagement totals from the compliance rows.
    if dispro or disparity:
        people: dict[tuple[str, str], int] = {}
        for row in dispro:
            people[(row["area"], row["group"])] = int(row["count"])
        for row in disparity:
            people[(row["area"], row["group"])] = int(row["total"])
        for row in compliance:
            people[(row["area"], ALL_GROUPS)] = int(row["total"])
        grids["groups"] = _grid("engagements by area and group", areas, groups, people)

    # The disproportionality table: the same counts without Unknown, whose totals leave Unknown out.
    if dispro:
        known = sorted({row["group"] for row in dispro})
        counts = {(row["area"], row["group"]): int(row["count"]) for row in dispro}
        counts.update({(row["area"], ALL_GROUPS): int(row["total"]) for row in dispro})
        grids["disproportionality"] = _grid("disproportionality", areas, known, counts)
        link("groups", "disproportionality", columns=lambda c: c != ALL_GROUPS)
        link("disproportionality", "groups", columns=lambda c: c != ALL_GROUPS)
        links.append(partial(_balance_unknown, grids["groups"], grids["disproportionality"]))

    for measure in sorted({row["measure"] for row in disparity}):
        rows = [row for row in disparity if row["measure"] == measure]
        name = f"disparity:{measure}"
        grids[name] = _grid(name, areas, groups, {(r["area"], r["group"]): int(r["count"]) for r in rows})
        _force_small_complements(grids[name], rows, "count", "total", threshold)
        # A hidden group total hides the rows' totals, hence their counts' rates: hide the counts too.
        link("groups", name)

    if outcome:
        for name in ("searches", "hits"):
            grids[name] = _grid(name, areas, groups, {(r["area"], r["group"]): int(r[name]) for r in outcome})
        _force_small_complements(grids["hits"], outcome, "hits", "searches", threshold)
        link("searches", "hits")
        link("hits", "searches")
        if "groups" in grids:
            link("groups", "searches")
        if "disparity:searched" in grids:
            link("disparity:searched", "searches")
            link("searches", "disparity:searched")

    for measure in sorted({row["measure"] for row in compliance}):
        rows = [row for row in compliance if row["measure"] == measure]
        name = f"compliance:{measure}"
        cells: dict[tuple[str, str], int] = {}
        for row in rows:
            cells[(row["area"], "yes")] = int(row["count"])
            cells[(row["area"], "no")] = int(row["total"]) - int(row["count"])
        grids[name] = _grid(name, areas, ["yes", "no"], cells)
        if "groups" in grids:
            # Both tables' row totals are the areas' engagements.
            link("groups", name, columns=lambda c: c == ALL_GROUPS)
            link(name, "groups", columns=lambda c: c == ALL_GROUPS)

    while True:
        for grid in grids.values():
            grid.solve(threshold)
        changed = False
        for propagate in links:
            changed |= propagate()
        if not changed:
            return grids


def _propagate(source: _Grid, target: _Grid, columns: Callable[[str], bool]) -> bool:
    """Force in `target` every entry `source` hides (in the chosen columns); True if any is new."""
    changed = False
    for row_label, col_label in source.labelled_hidden():
        if columns(col_label):
            changed |= target.force(row_label, col_label)
    return changed


def _balance_unknown(groups: _Grid, dispro: _Grid) -> bool:
    """Keep "area total = disproportionality total + Unknown" from revealing any of the three.

    The three figures of each area (and of the city) form one more line: like any line, it may hide
    none of them or at least two.
    """
    changed = False
    has_unknown = UNKNOWN in groups.cols
    for area in dispro.rows:
        area_total = groups.hidden(area, ALL_GROUPS)
        unknown = has_unknown and groups.hidden(area, UNKNOWN)
        known_total = dispro.hidden(area, ALL_GROUPS)
        if area_total + unknown + known_total != 1:
            continue
        if known_total:
            changed |= groups.force(area, UNKNOWN if has_unknown else ALL_GROUPS)
        else:
            changed |= dispro.force(area, ALL_GROUPS)
    return changed


def _force_small_complements(grid: _Grid, rows: list[dict], part: str, whole: str, threshold: int) -> None:
    """Hide a count whose complement in its row's total (e.g. the people *not* arrested) is small."""
    for row in rows:
        if int(row[whole]) - int(row[part]) < threshold:
            grid.force(row["area"], row.get("group", ALL_GROUPS))


def _mark_rows(
    sections: dict[str, list[dict]], grids: dict[str, _Grid], reference: str, threshold: int
) -> None:
    """Set `suppressed` (and `suppressed_reason`) on every row; null each figure a hidden count could give.

    A hidden row keeps its total where that total is published elsewhere in the report, so no page can
    show an area's engagements in one place and call them withheld in another.
    """
    groups = grids.get("groups")
    _blank = partial(_blank_row, threshold=threshold)
    for row in sections["disproportionality"]:
        grid = grids["disproportionality"]
        area = row["area"]
        if grid.hidden(area, row["group"]):
            _blank(row, ("count", "total"), keep_total=not grid.hidden(area, ALL_GROUPS))
            continue
        row["suppressed"] = False
        if grid.hidden(area, ALL_GROUPS):
            # The index is the count's share of this total over the population share.
            _null(row, "total", "index", "ci_low", "ci_high", "notable")
    for row in sections["disparity"]:
        grid = grids[f"disparity:{row['measure']}"]
        area = row["area"]
        group_hidden = groups is not None and groups.hidden(area, row["group"])
        if grid.hidden(area, row["group"]) or group_hidden:
            # `total` is the group's engagements in the area: the groups grid decides whether it is shown.
            _blank(row, ("count", "total"), keep_total=not group_hidden)
            continue
        row["suppressed"] = False
        if grid.hidden(area, reference) or (groups is not None and groups.hidden(area, reference)):
            # The reference rate is the reference group's count over its total.
            _null(row, "reference_rate", "index", "ci_low", "ci_high", "notable")
    for row in sections["outcome_test"]:
        if any(grids[name].hidden(row["area"], row["group"]) for name in ("searches", "hits")):
            _blank(row, ("searches", "hits"))
        else:
            row["suppressed"] = False
    for row in sections["compliance"]:
        grid = grids[f"compliance:{row['measure']}"]
        area = row["area"]
        if grid.hidden(area, "yes") or grid.hidden(area, "no") or grid.hidden(area, ALL_GROUPS):
            shown = not grid.hidden(area, ALL_GROUPS)
            _blank(row, ("count", "total"), keep_total=shown)
        else:
            row["suppressed"] = False



def suppression_reason(row: dict, counts: Iterable[str], threshold: int) -> str:
    """`small` if one of the row's own counts is below the threshold, else `protects`.

    `protects` means the row is hidden only so that a smaller figure cannot be worked out: another row's,
    or a difference such as the people *not* ticketed. Only a count itself decides, since the reason is
    published and tells a reader that every count of a "protects" row is at least the threshold.
    """
    values = [_number(row.get(key)) for key in counts]
    return SMALL if any(value is not None and value < threshold for value in values) else PROTECTS


def _mark_counts(sections: dict[str, list[dict]], exact: dict[str, list[dict]], threshold: int) -> None:
    """Give each hidden count its own reason, `<count>_suppressed_reason` (open data's reason columns)."""
    for name, rows in sections.items():
        for row, before in zip(rows, exact[name], strict=True):
            for key in COUNT_KEYS[name]:
                value = _number(before.get(key))
                if value is not None and row.get(key) is None:
                    row[f"{key}_suppressed_reason"] = SMALL if value < threshold else PROTECTS


def _blank_row(
    row: dict,
    counts: tuple[str, ...],
    *,
    threshold: int,
    keep_total: bool = False,
) -> None:
    """Mark a row suppressed with its reason; null every figure but its labels (and a published total)."""
    row["suppressed_reason"] = suppression_reason(row, counts, threshold)
    for key, value in row.items():
        if key == "total" and keep_total:
            continue
        if isinstance(value, int | float | bool) or value is None:
            row[key] = None
    row["suppressed"] = True


def _null(row: dict, *keys: str) -> None:
    for key in keys:
        if key in row:
            row[key] = None


def _suppress_veil(public: dict, threshold: int) -> None:
    """Hide the veil-of-darkness test when it rests on fewer engagements than the threshold."""
    veil = public.get("veil_of_darkness")
    if not isinstance(veil, dict):
        return
    n = _number(veil.get("n"))
    if n is not None and n < threshold:
        for key, value in list(veil.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                veil[key] = None
        veil["suppressed"] = True
        veil["suppressed_reason"] = SMALL
    else:
        veil["suppressed"] = False
    dropped = _number(veil.get("dropped_ambiguous"))
    if dropped is not None and dropped < threshold:
        veil["dropped_ambiguous"] = None
    # The robust specifications' rows (veil_robust.py): each withheld when it rests on too few stops.
    for section in ("by_group", "by_division", "sensitivity"):
        for row in veil.get(section) or []:
            rows_n = _number(row.get("n")) if isinstance(row, dict) else None
            if rows_n is not None and rows_n < threshold:
                for key, value in list(row.items()):
                    if isinstance(value, int | float) and not isinstance(value, bool) and key != "spline_df":
                        row[key] = None
                row["suppressed"] = True
            elif isinstance(row, dict):
                members = _number(row.get("members"))
                if members is not None and rows_n is not None and min(members, rows_n - members) < threshold:
                    row["members"] = None
