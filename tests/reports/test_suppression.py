"""Small-cell suppression (docs/rule-sets.md `SMALL-CELLS`): random tables, hand cases, a real report.json."""

from __future__ import annotations

import itertools
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairengage.analytics import engine
from fairengage.analytics.counts import CITY
from fairengage.analytics.population_benchmarks.frame import read_benchmark
from fairengage.analytics.report import analyze
from fairengage.ingest.synth import generate, write_table
from fairengage.reports import suppression
from fairengage.reports.suppression import SuppressedTable, suppress_report, suppress_table
from fairengage.vocabulary import UNKNOWN

SRC = Path(__file__).resolve().parents[2] / "src"
BENCHMARK = SRC / "fairengage/analytics/population_benchmarks/toronto_2016.csv"
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- strategies and helpers ------------------------------------------------------------------------------


@st.composite
def count_tables(draw: st.DrawFn, max_side: int = 8, max_count: int = 60) -> pd.DataFrame:
    """A 2-D count table; half the time skewed: three cells in four below 4, many of them zero."""
    rows = draw(st.integers(1, max_side))
    cols = draw(st.integers(1, max_side))
    if draw(st.booleans()):
        cell = st.integers(0, max_count)
    else:
        # Zeros matter: a hidden zero can only grow, which is how several lines can pin a hidden value.
        small = st.one_of(st.just(0), st.integers(0, 3))
        cell = st.one_of(small, small, small, st.integers(0, max_count))
    values = draw(st.lists(cell, min_size=rows * cols, max_size=rows * cols))
    return pd.DataFrame(
        np.array(values, dtype=np.int64).reshape(rows, cols),
        index=[f"r{i}" for i in range(rows)],
        columns=[f"c{j}" for j in range(cols)],
    )


thresholds = st.integers(1, 15)


def extended(table: pd.DataFrame) -> np.ndarray:
    """The exact table with its row totals as a last column and column totals as a last row."""
    counts = table.to_numpy(dtype=np.int64)
    grid = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1), dtype=np.int64)
    grid[:-1, :-1] = counts
    grid[:-1, -1] = counts.sum(axis=1)
    grid[-1, :-1] = counts.sum(axis=0)
    grid[-1, -1] = counts.sum()
    return grid


def published(result: SuppressedTable) -> list[list[int | None]]:
    """The published table in the same shape as `extended`, None where hidden."""

    def value(v: Any) -> int | None:
        return None if v is None or v is pd.NA else int(v)

    rows = [
        [value(result.values.iat[i, j]) for j in range(result.values.shape[1])]
        + [value(result.row_totals.iat[i])]
        for i in range(result.values.shape[0])
    ]
    rows.append([value(v) for v in result.column_totals] + [value(result.grand_total)])
    return rows


def lines(shape: tuple[int, int]) -> list[list[tuple[int, int]]]:
    """Every row and column of an extended grid, each with its total last."""
    rows, cols = shape
    return [[(i, j) for j in range(cols)] for i in range(rows)] + [
        [(i, j) for i in range(rows)] for j in range(cols)
    ]


def consistent_tables(shown: list[list[int | None]], domains: dict[tuple[int, int], range]) -> np.ndarray:
    """Every table whose hidden cells take values from `domains` and that shows exactly `shown`.

    Brute force: all combinations of values of the hidden cells are tried; a combination is kept when
    every published row total, column total and grand total equals the sum of the candidate table, and
    the candidate's hidden totals are left free. Returns the kept tables as extended grids (n, rows, cols).
    """
    rows, cols = len(shown) - 1, len(shown[0]) - 1
    hidden = sorted(domains)
    values = np.array(list(itertools.product(*(domains[e] for e in hidden))), dtype=np.int64)
    tables = np.zeros((len(values), rows, cols), dtype=np.int64)
    for i in range(rows):
        for j in range(cols):
            if shown[i][j] is not None:
                tables[:, i, j] = shown[i][j]
    for k, (i, j) in enumerate(hidden):
        tables[:, i, j] = values[:, k]
    grids = np.zeros((len(values), rows + 1, cols + 1), dtype=np.int64)
    grids[:, :rows, :cols] = tables
    grids[:, :rows, cols] = tables.sum(axis=2)
    grids[:, rows, :cols] = tables.sum(axis=1)
    grids[:, rows, cols] = tables.sum(axis=(1, 2))
    keep = np.ones(len(values), dtype=bool)
    for i in range(rows + 1):
        for j in range(cols + 1):
            if (i == rows or j == cols) and shown[i][j] is not None:
                keep &= grids[:, i, j] == shown[i][j]
    return grids[keep]


def assert_each_hidden_entry_has_two_values(
    exact: np.ndarray, shown: list[list[int | None]], found: np.ndarray
):
    """The true table is among those found, and every hidden entry takes at least two values across them."""
    assert any((grid == exact).all() for grid in found), "the true table must be consistent with itself"
    for i, row in enumerate(shown):
        for j, value in enumerate(row):
            if value is None:
                taken = set(found[:, i, j].tolist())
                assert len(taken) >= 2, f"hidden entry {(i, j)} = {exact[i, j]} is recoverable: only {taken}"


# --- properties over random tables -------------------------------------------------------------------------


@PROPERTY
@given(table=count_tables(), threshold=thresholds, settled=st.booleans())
def test_no_published_cell_or_total_is_below_the_threshold(table, threshold, settled):
    shown = published(suppress_table(table, threshold=threshold, settled_rows=settled))
    for row in shown:
        for value in row:
            assert value is None or value >= threshold


@PROPERTY
@given(table=count_tables(), threshold=thresholds, settled=st.booleans())
def test_no_line_gives_a_hidden_count_away_by_subtraction(table, threshold, settled):
    exact = extended(table)
    shown = published(suppress_table(table, threshold=threshold, settled_rows=settled))
    for line in lines(exact.shape):
        hidden = [entry for entry in line if shown[entry[0]][entry[1]] is None]
        # One hidden entry in a line is its total minus the others.
        assert len(hidden) != 1, f"line {line} hides only {hidden}"
        total = line[-1]
        if shown[total[0]][total[1]] is not None and hidden:
            # Behind a published total, the hidden cells' sum is known: it must not itself be small.
            assert sum(int(exact[e]) for e in hidden) >= threshold


@PROPERTY
@given(table=count_tables(max_side=3, max_count=30), threshold=thresholds, settled=st.booleans())
def test_every_hidden_entry_of_a_small_table_has_two_consistent_values(table, threshold, settled):
    """The real "cannot be recovered" property, by brute force on tables up to 3 x 3.

    Every hidden cell may take its true value, one less (if not below zero) or one more. That box is
    enough to find a second consistent value whenever one exists at all: moving a hidden value while
    keeping every total means moving others around a cycle of rows and columns, and a unit step around
    such a cycle changes each cell by exactly one. Finding none in the box is therefore a real failure.
    """
    exact = extended(table)
    shown = published(suppress_table(table, threshold=threshold, settled_rows=settled))
    domains = {
        (i, j): range(max(0, int(exact[i, j]) - 1), int(exact[i, j]) + 2)
        for i in range(exact.shape[0] - 1)
        for j in range(exact.shape[1] - 1)
        if shown[i][j] is None
    }
    assert_each_hidden_entry_has_two_values(exact, shown, consistent_tables(shown, domains))


@pytest.mark.slow  # every possible table of many generated cases
@PROPERTY
@given(table=count_tables(max_side=2, max_count=12), threshold=thresholds, settled=st.booleans())
def test_every_hidden_entry_has_two_values_over_every_possible_table(table, threshold, settled):
    """The same, over every table of non-negative counts up to one more than the grand total (no box)."""
    exact = extended(table)
    shown = published(suppress_table(table, threshold=threshold, settled_rows=settled))
    bound = int(exact[-1, -1]) + 1
    domains = {
        (i, j): range(bound + 1)
        for i in range(exact.shape[0] - 1)
        for j in range(exact.shape[1] - 1)
        if shown[i][j] is None
    }
    assert_each_hidden_entry_has_two_values(exact, shown, consistent_tables(shown, domains))


@PROPERTY
@given(table=count_tables(), threshold=thresholds)
def test_suppression_is_deterministic_and_publishes_true_values(table, threshold):
    first, second = suppress_table(table, threshold=threshold), suppress_table(table, threshold=threshold)
    assert published(first) == published(second)
    exact = extended(table)
    shown = published(first)
    for i, row in enumerate(shown):
        for j, value in enumerate(row):
            assert value is None or value == exact[i, j]
    # The flags and the values agree, and the labels are the input's.
    assert (first.suppressed.to_numpy() == first.values.isna().to_numpy()).all()
    assert list(first.values.index) == list(table.index) and list(first.values.columns) == list(table.columns)


# --- hand cases ---------------------------------------------------------------------------------------------


def test_one_small_cell_gets_one_partner_in_its_row_and_one_in_its_column():
    table = pd.DataFrame(
        [[3, 20, 30], [25, 40, 50], [30, 35, 45]], index=["a", "b", "c"], columns=["x", "y", "z"]
    )
    result = suppress_table(table, threshold=10)
    # By hand: (a, x) = 3 is small. Its row's smallest other is (a, y) = 20; its column's is (b, x) = 25.
    # Row b now hides one cell, so its smallest other, (b, y) = 40, closes the rectangle; column y then
    # hides 20 + 40 = 60. Each hidden cell can move by the same amount around the rectangle.
    expected = pd.DataFrame(
        [[None, None, 30], [None, None, 50], [30, 35, 45]], index=table.index, columns=table.columns
    ).astype("Int64")
    pd.testing.assert_frame_equal(result.values, expected)
    assert result.row_totals.tolist() == [53, 115, 110]
    assert result.column_totals.tolist() == [58, 95, 125]
    assert result.grand_total == 278
    assert result.suppressed.loc["a"].tolist() == [True, True, False]
    assert result.suppressed["x"].tolist() == [True, True, False]


def test_zeros_that_can_only_grow_do_not_pin_a_hidden_cell():
    table = pd.DataFrame(
        [[0, 51, 0], [19, 51, 0], [0, 18, 0]], index=["a", "b", "c"], columns=["x", "y", "z"]
    )
    result = suppress_table(table, threshold=10)
    # Each line hiding two or more cells is not enough here: with (b, x) and column y's total shown, the
    # zeros of column z could only grow, and every hidden cell would be pinned (found by brute force).
    exact, shown = extended(table), published(result)
    domains = {
        (i, j): range(max(0, int(exact[i, j]) - 1), int(exact[i, j]) + 2)
        for i in range(3)
        for j in range(3)
        if shown[i][j] is None
    }
    assert_each_hidden_entry_has_two_values(exact, shown, consistent_tables(shown, domains))


def test_an_all_small_table_hides_everything_including_totals():
    table = pd.DataFrame([[1, 2], [3, 0]], index=["a", "b"], columns=["x", "y"])
    result = suppress_table(table, threshold=10)
    assert result.values.isna().all().all()
    assert result.row_totals.isna().all() and result.column_totals.isna().all()
    assert result.grand_total is None
    assert result.suppressed.all().all()


def test_a_table_with_no_small_count_is_published_whole():
    table = pd.DataFrame([[10, 11], [12, 13]], index=["a", "b"], columns=["x", "y"])
    result = suppress_table(table, threshold=10)
    assert not result.suppressed.any().any()
    assert result.grand_total == 46


def test_small_cells_whose_sum_is_small_get_a_third_partner():
    table = pd.DataFrame([[20, 30], [3, 40], [3, 50]], index=["a", "b", "c"], columns=["x", "y"])
    result = suppress_table(table, threshold=10)
    # Hiding only the two 3s of column x would show their sum, 26 - 20 = 6: (a, x) is hidden as well. Each
    # row then hides one cell, so its other cell goes too; only the totals stay.
    assert result.values.isna().all().all()
    assert result.row_totals.tolist() == [50, 43, 53]
    assert result.column_totals.tolist() == [26, 120]
    assert result.grand_total == 146


def test_bad_tables_and_thresholds_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        suppress_table(pd.DataFrame([[1, -2]]), threshold=10)
    with pytest.raises(ValueError, match="missing"):
        suppress_table(pd.DataFrame([[1, None]]), threshold=10)
    with pytest.raises(ValueError, match="threshold"):
        suppress_table(pd.DataFrame([[1, 2]]), threshold=-1)


# --- the public report.json ---------------------------------------------------------------------------

HIGH = 40
COUNT_KEYS = ("count", "total", "searches", "hits", "n", "rows", "dropped_ambiguous")


@pytest.fixture(scope="module")
def exact_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """report.json from 2,500 synthetic engagements (40 officers, so officer rows exist).

    The veil-of-darkness test is the real one, robust sections and all, so that every count it
    publishes passes through the suppression checked here.
    """
    path = tmp_path_factory.mktemp("report") / "synthetic.parquet"
    write_table(generate(2500, seed=11, officers=40, start=date(2025, 1, 1), end=date(2025, 12, 31)), path)
    backend = engine.connect("duckdb")
    try:
        return analyze(
            engine.load_table(backend, path),
            read_benchmark(BENCHMARK),
            engine_name="duckdb",
            tz="America/Toronto",
        )
    finally:
        engine.disconnect(backend)


@pytest.fixture(scope="module")
def public_report(exact_report: dict[str, Any]) -> dict[str, Any]:
    return suppress_report(exact_report, threshold=HIGH)


def numbers(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """Every (key, number) anywhere in a JSON value."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in numbers(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in numbers(v, key)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [(key, value)]
    return []


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_the_public_report_leaves_officers_out(exact_report, public_report):
    assert exact_report["officers"], "the synthetic data should give officer rows to remove"
    assert public_report["officers"] is None
    assert "Officer-level" in public_report["meta"]["suppression"]["officers"]
    assert public_report["meta"]["suppression"]["threshold"] == HIGH
    assert exact_report["officers"] and "suppression" not in exact_report["meta"], "the input is not changed"


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_no_published_count_in_the_public_report_is_below_the_threshold(exact_report, public_report):
    hidden = [
        row
        for section in ("disparity", "outcome_test")
        for row in public_report[section]
        if row["suppressed"]
    ]
    assert hidden, "a high threshold on a small data set must hide something"
    for key, value in numbers(public_report):
        if key in COUNT_KEYS:
            assert value >= HIGH, f"{key} = {value} is published"
    # The veil test is withheld exactly when it rests on fewer stops than the threshold.
    exact_n, veil = exact_report["veil_of_darkness"]["n"], public_report["veil_of_darkness"]
    assert veil["suppressed"] == (exact_n < HIGH)
    assert veil["n"] == (None if exact_n < HIGH else exact_n)


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_suppressed_rows_keep_no_figure_but_a_total_published_elsewhere(public_report):
    # The total a hidden row may keep is the same figure another row of the report publishes: the area's
    # engagements (compliance), its engagements of known race (disproportionality), a group's (disparity).
    shown_totals: dict[tuple[str, ...], set[int]] = {}
    for section, key in (("disproportionality", "area"), ("compliance", "area"), ("disparity", "group")):
        for row in public_report[section]:
            if not row["suppressed"] and row["total"] is not None:
                label = (section, row["area"], row[key])
                shown_totals.setdefault(label, set()).add(row["total"])
    kept = 0
    for section in ("disproportionality", "disparity", "outcome_test", "compliance"):
        for row in public_report[section]:
            assert isinstance(row["suppressed"], bool)
            if row["suppressed"]:
                figures = numbers(row)
                assert [key for key, _ in figures] in ([], ["total"]), f"{section} row {row} keeps a figure"
                assert row.get("notable") is None
                assert row["suppressed_reason"] in ("small", "protects")
                figures = [(k, v) for k, v in figures if not k.endswith("_reason")]
                if figures:
                    kept += 1
                    assert figures[0][1] >= HIGH
            else:
                assert "suppressed_reason" not in row
    assert kept, "some hidden row should keep its area's published total"


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_the_reason_says_small_exactly_when_a_count_of_the_row_is_small(exact_report, public_report):
    # The reason is published: "protects" tells a reader every count of the row is at least the threshold,
    # "small" that one is below it; both must be true of the exact figures.
    own = {
        "disproportionality": ("count", "total"),
        "disparity": ("count", "total"),
        "outcome_test": ("searches", "hits"),
        "compliance": ("count", "total"),
    }
    reasons, cells = set(), set()
    for section, keys in own.items():
        for before, after in zip(exact_report[section], public_report[section], strict=True):
            if after["suppressed"]:
                small = min(before[key] for key in keys) < HIGH
                assert after["suppressed_reason"] == ("small" if small else "protects"), (before, after)
                reasons.add(after["suppressed_reason"])
            for key in keys:
                reason = after.get(f"{key}_suppressed_reason")
                if after[key] is None:
                    assert reason == ("small" if before[key] < HIGH else "protects"), (key, before, after)
                    cells.add(reason)
                else:
                    assert reason is None
    assert reasons == cells == {"small", "protects"}, "the fixture should hide figures for both reasons"


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_figures_read_from_a_hidden_total_are_hidden(public_report):
    reference = public_report["meta"]["reference_group"]
    by_area: dict[tuple[str, str], dict[str, Any]] = {}
    for row in public_report["disparity"]:
        by_area.setdefault((row["area"], row["measure"]), {})[row["group"]] = row
    for rows in by_area.values():
        if reference in rows and rows[reference]["suppressed"]:
            # The reference rate is the reference group's count over its total.
            assert all(row["reference_rate"] is None and row["index"] is None for row in rows.values())
    for row in public_report["disproportionality"]:
        if row["total"] is None:
            assert row["index"] is None and row["ci_low"] is None and row["ci_high"] is None


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_group_counts_per_area_satisfy_the_complementary_rule(exact_report, public_report):
    """Disproportionality: the groups' counts in an area add up to its total, and areas' to the city's."""
    exact: dict[tuple[str, str], int] = {}
    shown: dict[tuple[str, str], int | None] = {}
    for before, after in zip(
        exact_report["disproportionality"], public_report["disproportionality"], strict=True
    ):
        area, group = before["area"], before["group"]
        exact[(area, group)], shown[(area, group)] = before["count"], after["count"]
        exact[(area, "*")] = before["total"]
        # A suppressed row blanks its copy of the area total; the area's other rows still show it.
        if shown.get((area, "*")) is None:
            shown[(area, "*")] = after["total"]
    areas = sorted({a for a, _ in exact})
    groups = sorted({g for _, g in exact} - {"*"})
    assert CITY in areas and UNKNOWN not in groups
    assert any(value is None for value in shown.values()), "a high threshold must hide some group counts"
    each_area = [[(a, g) for g in groups] + [(a, "*")] for a in areas]
    each_group = [[(a, g) for a in areas if a != CITY] + [(CITY, g)] for g in [*groups, "*"]]
    for line in each_area + each_group:
        hidden = [key for key in line if shown[key] is None]
        assert len(hidden) != 1, f"{line[-1]}: only {hidden} is hidden"
        if hidden and shown[line[-1]] is not None:
            assert sum(exact[key] for key in hidden) >= HIGH, f"{line[-1]}: hidden counts add up to little"


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_the_same_count_is_hidden_wherever_it_appears(public_report):
    """A group's engagements in an area are disproportionality's count and disparity's total."""
    counts = {(r["area"], r["group"]): r["count"] for r in public_report["disproportionality"]}
    for row in public_report["disparity"]:
        if row["total"] is not None and (row["area"], row["group"]) in counts:
            assert counts[(row["area"], row["group"])] == row["total"]
    shown_totals = {(r["area"], r["group"]) for r in public_report["disparity"] if r["total"] is not None}
    for key, count in counts.items():
        if count is None:
            assert key not in shown_totals


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_a_count_whose_complement_is_small_is_hidden(exact_report, public_report):
    for before, after in zip(exact_report["compliance"], public_report["compliance"], strict=True):
        if before["total"] - before["count"] < HIGH:
            assert after["suppressed"], f"{before} would show {before['total'] - before['count']} people"


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_unhidden_figures_are_the_exact_ones(exact_report, public_report):
    for section in ("disproportionality", "disparity", "outcome_test", "compliance"):
        for before, after in zip(exact_report[section], public_report[section], strict=True):
            for key, value in after.items():
                if key != "suppressed" and not key.endswith("_reason") and value is not None:
                    assert value == before[key] or (
                        isinstance(value, float) and math.isclose(value, before[key])
                    )


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_suppressing_the_report_is_deterministic_and_idempotent(exact_report, public_report):
    assert suppress_report(exact_report, threshold=HIGH) == public_report
    assert suppress_report(public_report, threshold=HIGH) == public_report
    with pytest.raises(ValueError, match="lower threshold"):
        suppress_report(public_report, threshold=HIGH + 1)


@pytest.mark.slow  # A whole year's report, every analysis, from synthetic records.
def test_keys_the_suppression_does_not_know_are_not_carried_over(exact_report):
    public = suppress_report({**exact_report, "annual": {"attempts": 3}}, threshold=HIGH)
    assert "annual" not in public
    # Change over time stays in the board's exact report: its yearly counts have no suppression yet.
    assert set(public) == set(exact_report) - {"change_over_time"}


def test_a_veil_test_on_fewer_stops_than_the_threshold_is_withheld():
    veil_in = {"n": 12, "odds_ratio": 1.4, "ci_low": 0.9, "ci_high": 2.1, "dropped_ambiguous": 3}
    small = {"veil_of_darkness": veil_in}
    suppression._suppress_veil(small, 40)
    veil = small["veil_of_darkness"]
    assert veil["suppressed"] and veil["n"] is None and veil["odds_ratio"] is None and veil["ci_high"] is None
    large = {"veil_of_darkness": {"n": 400, "odds_ratio": 1.4}}
    suppression._suppress_veil(large, 40)
    assert large["veil_of_darkness"] == {"n": 400, "odds_ratio": 1.4, "suppressed": False}


def test_a_trend_table_withholds_the_sum_over_periods_before_a_period_its_release_published():
    # Found on 2026-12-05: a later release's trend table withheld an earlier quarter's 12, published by
    # that quarter's own release, as the partner of the next quarter's small count.
    table = pd.DataFrame({"A": [12, 3], "B": [30, 4], "C": [40, 40]}, index=["2025-Q1", "2025-Q2"])
    plain = suppress_table(table, threshold=10)
    assert plain.suppressed.loc["2025-Q1"].any()  # the old choice: the smallest partner, a period's cell
    settled = suppress_table(table, threshold=10, settled_rows=True)
    assert not settled.suppressed.loc["2025-Q1"].any() and settled.row_totals.notna().all()
    assert settled.suppressed.loc["2025-Q2", "A"] and settled.suppressed.loc["2025-Q2", "B"]
    # The sums over the periods are withheld instead.
    assert settled.column_totals.isna()[["A", "B"]].all()
