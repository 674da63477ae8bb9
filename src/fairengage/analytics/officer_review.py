"""Officer review, broader: every group, three measures, two comparisons with peers, for supervisors' review.

For each officer and each perceived-race group (Unknown aside) three measures are compared with what
peers working in the same circumstances did:

- ``share``: of the officer's engagements, how many involved the group (as ``officers.py`` does for
  one group);
- ``search_rate``: of the officer's engagements with the group, how many led to a search;
- ``hit_rate``: of the officer's searches of the group, how many found contraband. Here a *lower*
  rate than peers' is the concern (searches on weaker grounds).

Two comparisons are made for each. **Exact matching**: peers' rate in the same cell (division x
four-hour band of local time x weekday/weekend), the officer left out, as ``officers.py``. **Doubly
robust**, after Ridgeway & MacDonald (2009, JASA 104:661): a propensity model gives, for every
circumstance (division, hour of day as a smooth curve, day type), the odds that an engagement there
is the officer's; peers' engagements are weighted by those odds so that, together, they look like
the officer's, and an outcome model of the measure on the same circumstances corrects what the
weights miss. Either model being right is enough for the comparison to be right ("doubly robust").
Where exact matching and the doubly robust comparison disagree on a flag, the report says so: the
difference then rests on how circumstances are matched, and a reviewer should know that.

One Benjamini–Hochberg family per measure and comparison: all (officer, group) tests of that
measure. The output is an agenda for review in officer-key order, never a ranking.

The engine counts engagements by officer, division, hour of local time, day type and group; the
models and tests run on that small table in numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import binom
from statsmodels.stats.multitest import multipletests

from fairengage.analytics.design_blocks import Blocks
from fairengage.analytics.engine import fetch
from fairengage.analytics.veil import with_local_clock
from fairengage.vocabulary import UNKNOWN

MEASURES = ("share", "search_rate", "hit_rate")
# Direction of concern: more engagements of the group, more searches of them, fewer finds.
CONCERN = {"share": 1, "search_rate": 1, "hit_rate": -1}
# Comparisons where peers' rate predicts fewer events than this are not flagged (see review_from_counts).
MIN_EXPECTED = 1.0
FINE = ["division", "hour", "weekend"]
EXACT = ["division", "band", "weekend"]
ROW_KEYS = (
    "officer_key", "group", "measure", "trials", "observed", "expected", "ratio", "p_value", "q_value",
    "flagged", "dr_expected", "dr_ratio", "dr_p_value", "dr_q_value", "dr_flagged", "agree",
)  # fmt: skip


def officer_review(
    table: ir.Table,
    *,
    groups: Sequence[str],
    min_volume: int = 50,
    min_searches: int = 20,
    fdr: float = 0.05,
    tz: str = "America/Toronto",
) -> dict[str, Any]:
    """The review agenda: rows flagged by either comparison, the families tested, the disagreements."""
    known = [g for g in groups if g != UNKNOWN]
    return review_from_counts(
        review_counts(table, groups=known, tz=tz),
        known,
        min_volume=min_volume,
        min_searches=min_searches,
        fdr=fdr,
    )


def review_counts(table: ir.Table, *, groups: Sequence[str], tz: str) -> pd.DataFrame:
    """Per officer, division, local hour and day type: ``n``, and per group i ``k{i}``, ``s{i}``, ``h{i}``."""
    clocked = with_local_clock(table, tz)
    known = clocked.filter(
        clocked.perceived_race.notnull() & (clocked.perceived_race != UNKNOWN)
        & clocked.officer_key.notnull() & clocked.division.notnull()
    )  # fmt: skip
    # 1970-01-01 was a Thursday (weekday 3 with Monday as 0); Saturday and Sunday are 5 and 6.
    cells = known.mutate(hour=known.local_second // 3600, weekend=((known.local_day + 3) % 7) >= 5)
    found = cells.searched & cells.contraband_found.fill_null(False)
    keys = ["officer_key", *FINE]
    # One row per cell and group, widened here: a query with a conditional sum per group and measure
    # took 2.4 s on 3M rows, most of it converting its 25 columns; this one and the widening, 0.6 s.
    long = fetch(
        cells.group_by([*keys, "perceived_race"]).aggregate(
            # Counts with a filter, not sums of the conditions cast to numbers: over these 320,000 groups
            # DuckDB counts faster (0.36 s against 0.41 s at 3M rows). Over a few hundred groups, as in
            # counts.cell_counts_expr, the filters are the slower, so that keeps its sums.
            n=cells.count(),
            s=cells.count(where=cells.searched),
            h=cells.count(where=found),
        )
    )
    return _widen(long, keys, groups)


def _widen(long: pd.DataFrame, keys: Sequence[str], groups: Sequence[str]) -> pd.DataFrame:
    """One row per cell of ``keys`` in sorted order: ``n`` over every race, and per group i ``k{i}``,
    ``s{i}``, ``h{i}`` (0 where the cell has none of the group).

    By the keys' codes and ``bincount``: pandas' index, ``unstack`` and sort took 0.2 s on 320,000 rows.
    Engines return groups in no fixed order; the sorted cells make every later float sum
    engine-independent.
    """
    levels, codes, cell_of, present = _cells([long[key] for key in keys])
    frame = pd.DataFrame(
        {key: level.take(code) for key, level, code in zip(keys, levels, codes, strict=True)}
    )
    frame["n"] = _sums(cell_of, len(frame), long[["n"]].to_numpy()[present])[:, 0]
    race = pd.Categorical(long["perceived_race"], categories=list(groups)).codes[present]
    # A race outside ``groups`` counts in n only: it is summed into a last slot that is not kept.
    width = len(groups) + 1
    slot = cell_of * width + np.where(race >= 0, race, len(groups))
    sums = _sums(slot, len(frame) * width, long[["n", "s", "h"]].to_numpy()[present])
    by_group = {measure: sums[:, m].reshape(len(frame), width) for m, measure in enumerate("ksh")}
    for i in range(len(groups)):
        for measure in "ksh":
            frame[f"{measure}{i}"] = by_group[measure][:, i]
    frame["hour"] = frame["hour"].astype("int64")
    frame["weekend"] = frame["weekend"].astype(bool)
    return frame


def _cells(keys: Sequence[Any]) -> tuple[list[pd.Index], list[np.ndarray], np.ndarray, np.ndarray]:
    """The distinct combinations of some key columns, numbered in the keys' sorted order.

    Returns each key's sorted levels, each distinct cell's code in every key, each kept row's cell, and
    which rows are kept: a row with an empty key is left out, as ``groupby`` leaves it out.
    """
    factorized = [pd.factorize(key, sort=True) for key in keys]
    levels = [level for _, level in factorized]
    stacked = (
        np.column_stack([code for code, _ in factorized]) if len(keys[0]) else np.zeros((0, len(keys)), int)
    )
    present: np.ndarray = np.asarray((stacked >= 0).all(axis=1))
    shape = tuple(max(len(level), 1) for level in levels)
    cells, cell_of = np.unique(np.ravel_multi_index(tuple(stacked[present].T), shape), return_inverse=True)
    return levels, list(np.unravel_index(cells, shape)), cell_of, present


def _sums(into: np.ndarray, length: int, values: np.ndarray) -> np.ndarray:
    """Each column of whole-number ``values`` summed into ``length`` slots, as int64.

    Counts are whole numbers far below 2**53, so bincount's float sums are exact.
    """
    return np.column_stack(
        [np.bincount(into, weights=values[:, c], minlength=length) for c in range(values.shape[1])]
    ).astype(np.int64)


def matched_from_review(counts: pd.DataFrame, groups: Sequence[str], group: str) -> pd.DataFrame:
    """``officers.matched_counts`` for one group, from these counts: one pass over the table serves both."""
    known = [g for g in groups if g != UNKNOWN]
    frame = counts.assign(band=counts["hour"] // 4)
    frame["k"] = frame[f"k{known.index(group)}"] if group in known else 0
    frame = frame.groupby(["officer_key", *EXACT], sort=True)[["n", "k"]].sum().reset_index()
    return frame.loc[:, ["officer_key", *EXACT, "n", "k"]]


def _pairs(groups: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(group, measure, trials column, successes column) for every group and measure."""
    pairs = []
    for i, group in enumerate(groups):
        pairs += [(group, "share", "n", f"k{i}"), (group, "search_rate", f"k{i}", f"s{i}"),
                  (group, "hit_rate", f"s{i}", f"h{i}")]  # fmt: skip
    return pairs


def review_from_counts(
    counts: pd.DataFrame, groups: Sequence[str], *, min_volume: int, min_searches: int, fdr: float
) -> dict[str, Any]:
    """The review from the engine's counts (``review_counts``)."""
    pairs = _pairs(groups)
    exact = _exact(counts, pairs)
    dr = _doubly_robust(counts, pairs)
    tests = exact.merge(dr, on=["officer_key", "group", "measure"], how="left")
    floor = np.where(tests["measure"] == "hit_rate", min_searches, min_volume)
    tests = tests[tests["trials"] >= floor].reset_index(drop=True)
    # Where peers almost never did what is measured (fewer than one expected), a single event would
    # look significant without meaning much: such a comparison counts in its family as not flagged.
    for prefix in ("", "dr_"):
        p = two_sided_p(tests[f"{prefix}observed"], tests[f"{prefix}trials"], tests[f"{prefix}expected"])
        tests[f"{prefix}p_value"] = np.where(tests[f"{prefix}expected"] >= MIN_EXPECTED, p, 1.0)
    families = []
    for measure in MEASURES:
        chosen = (tests["measure"] == measure).to_numpy()
        for prefix, name in (("", "exact matching"), ("dr_", "doubly robust")):
            q = np.full(int(chosen.sum()), np.nan)
            if chosen.any():
                q = multipletests(
                    tests.loc[chosen, f"{prefix}p_value"].to_numpy(), alpha=fdr, method="fdr_bh"
                )[1]
            tests.loc[chosen, f"{prefix}q_value"] = q
            direction = CONCERN[measure] * (tests[f"{prefix}observed"] - tests[f"{prefix}expected"])
            tests.loc[chosen, f"{prefix}flagged"] = (q < fdr) & (direction[chosen] > 0).to_numpy()
            families.append(
                {
                    "measure": measure,
                    "comparison": name,
                    "tests": int(chosen.sum()),
                    "flagged": int(np.sum(tests.loc[chosen, f"{prefix}flagged"].astype(bool))),
                    "fdr": fdr,
                }
            )
    if tests.empty:
        return {"families": families, "rows": [], "disagreements": 0}
    tests["flagged"] = tests["flagged"].astype(bool)
    tests["dr_flagged"] = tests["dr_flagged"].astype(bool)
    tests["agree"] = tests["flagged"] == tests["dr_flagged"]
    with np.errstate(divide="ignore", invalid="ignore"):
        tests["ratio"] = np.where(tests["expected"] > 0, tests["observed"] / tests["expected"], np.nan)
        tests["dr_ratio"] = np.where(
            tests["dr_expected"] > 0, tests["dr_observed"] / tests["dr_expected"], np.nan
        )
    shown = tests[tests["flagged"] | tests["dr_flagged"]]
    # Officer-key order, then group and measure: an agenda for review, never a ranking.
    shown = shown.sort_values(["officer_key", "group", "measure"], kind="mergesort")
    rows = [{key: _plain(getattr(row, key)) for key in ROW_KEYS} for row in shown.itertuples(index=False)]
    return {"families": families, "rows": rows, "disagreements": int((~tests["agree"]).sum())}


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _exact(counts: pd.DataFrame, pairs: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Trials, observed and expected from leave-one-out peers in the same exact cell."""
    columns = sorted({c for _, _, t, s in pairs for c in (t, s)})
    # The officers' rows per exact cell (division, band of hours, day type) and the cells' totals by
    # codes and bincount: the same sums as groupby and transform, which took 0.17 s at 150,000 rows,
    # most of it pandas' own bookkeeping.
    levels, (officer, division, band, weekend), row_of, _ = _cells(
        [counts["officer_key"], counts["division"], counts["hour"] // 4, counts["weekend"]]
    )
    # The exact cell each row of officer and cell is in, numbered over every combination of the levels.
    shape = tuple(max(len(level), 1) for level in levels[1:])
    cell_of_row = np.ravel_multi_index((division, band, weekend), shape)
    own = _sums(row_of, len(officer), counts[columns].to_numpy())
    totals = _sums(cell_of_row, math.prod(shape), own)[cell_of_row]
    index = {column: c for c, column in enumerate(columns)}
    # Every pair's trials, observed and expected side by side, summed by officer in one pass: pandas
    # sums each column on its own (the floats as a pass per pair would, compensated).
    wide = {}
    for j, (_, _, trials, successes) in enumerate(pairs):
        ti, si = index[trials], index[successes]
        peers_t = (totals[:, ti] - own[:, ti]).astype(float)
        peers_s = (totals[:, si] - own[:, si]).astype(float)
        usable = peers_t > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.where(usable, own[:, ti].astype(float) * peers_s / peers_t, 0.0)
        wide[f"trials{j}"] = np.where(usable, own[:, ti], 0)
        wide[f"observed{j}"] = np.where(usable, own[:, si], 0)
        wide[f"expected{j}"] = expected
    by_officer = pd.DataFrame(wide).groupby(officer, sort=True).sum()
    keys = np.asarray(levels[0], dtype=object)[by_officer.index.to_numpy()]
    parts = [
        pd.DataFrame(
            {
                "officer_key": keys,
                "trials": by_officer[f"trials{j}"].to_numpy(),
                "observed": by_officer[f"observed{j}"].to_numpy(),
                "expected": by_officer[f"expected{j}"].to_numpy(),
                "group": group,
                "measure": measure,
            }
        )
        for j, (group, measure, _, _) in enumerate(pairs)
    ]
    result = pd.concat(parts, ignore_index=True)
    return result.astype({"trials": "int64", "observed": "int64"})


def design(cells: pd.DataFrame, divisions: Sequence[str]) -> np.ndarray:
    """A column per division (no intercept), two harmonics of the hour, and weekend."""
    # The hour enters as a smooth daily curve (two harmonics, four columns) rather than 24 levels, so
    # the propensity model borrows strength across hours and differs from exact matching by design.
    angle = 2 * np.pi * (cells["hour"].to_numpy(dtype=float) + 0.5) / 24
    division = cells["division"].to_numpy()
    # One column per division and no intercept: a model restricted to some divisions (an officer's)
    # then simply has zero columns for the others, never a collinear design.
    parts = [(division == d).astype(float) for d in divisions]
    parts += [np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)]
    parts.append(cells["weekend"].to_numpy(dtype=float))
    return np.column_stack(parts)


def fit_logistic(
    x: np.ndarray, successes: np.ndarray, trials: np.ndarray, iterations: int = 30
) -> np.ndarray:
    """Fitted probabilities of a binomial logistic regression on grouped counts (Newton–Raphson).

    Rows with no trials carry no information and are ignored; columns that are zero over the
    informative rows are dropped. Stops when no coefficient moves by more than 1e-9, or after
    ``iterations`` steps (a rate of exactly 0 or 1 in some level sends its coefficient towards
    infinity, and the fitted probabilities are then already within a hair of 0 or 1).
    """
    informative = trials > 0
    keep = np.any(x[informative] != 0, axis=0)
    xi = x[informative][:, keep]
    y, t = successes[informative], trials[informative]
    beta = np.zeros(xi.shape[1])
    if xi.shape[1] == 0:
        return np.full(len(x), 0.5)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(_dot("rk,k->r", xi, beta), -30, 30)))
        weight = t * p * (1 - p) + 1e-12
        # The weighted rows first, then one product: a three-operand einsum loops twice as long.
        step = np.linalg.lstsq(
            _dot("rk,rl->kl", xi * weight[:, None], xi), _dot("rk,r->k", xi, y - t * p), rcond=None
        )[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    return 1 / (1 + np.exp(-np.clip(_dot("rk,k->r", x[:, keep], beta), -30, 30)))


def _doubly_robust(counts: pd.DataFrame, pairs: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Per officer and pair: trials, observed, and the doubly robust expected count from weighted peers."""
    if counts.empty:
        return pd.DataFrame(
            columns=["officer_key", "group", "measure", "dr_trials", "dr_observed", "dr_expected"]
        )
    columns = sorted({c for _, _, t, s in pairs for c in (t, s)})
    cells_of = counts.groupby(FINE, sort=True)
    grid = cells_of[columns].sum().reset_index()
    divisions = sorted(grid["division"].unique())
    x = design(grid, divisions)
    trial_cols = [t for _, _, t, _ in pairs]
    success_cols = [s for _, _, _, s in pairs]
    total_t = grid[trial_cols].to_numpy(dtype=float)
    total_s = grid[success_cols].to_numpy(dtype=float)
    # The outcome models: each measure of each group on the circumstances, all officers pooled.
    outcome = np.zeros((len(grid), len(pairs)))
    for j in range(len(pairs) if len(grid) else 0):
        outcome[:, j] = fit_logistic(x, total_s[:, j], total_t[:, j])
    # Each row's cell (the grid's row: both number the cells in sorted order) and officer, by hashing
    # rather than sorting the officers' keys or matching the cells' keys (0.12 s at 150,000 rows).
    cell_of = cells_of.ngroup().to_numpy()
    officer_of, officer_keys = pd.factorize(counts["officer_key"], sort=True)
    officers = np.asarray(officer_keys, dtype=object)
    cells = len(grid)
    # Each officer's counts on the whole grid (officers x cells), and which cells are in the officer's
    # divisions: elsewhere the officer never worked, the propensity is 0 and peers there weigh nothing.
    officer_n = np.zeros((len(officers), cells))
    np.add.at(officer_n, (officer_of, cell_of), counts["n"].to_numpy(dtype=float))
    division_codes = pd.Categorical(grid["division"], categories=divisions).codes
    worked = np.zeros((len(officers), len(divisions)), dtype=bool)
    worked[officer_of, division_codes[cell_of]] = True
    mask = worked[:, division_codes]
    n_all = grid["n"].to_numpy(dtype=float)
    # Started from each officer's share of their divisions' engagements (the fit without the clock
    # terms), Newton's method needs a few steps rather than a dozen.
    by_division = np.zeros((len(officers), len(divisions)))
    np.add.at(by_division, (officer_of, division_codes[cell_of]), counts["n"].to_numpy(dtype=float))
    division_totals = np.bincount(division_codes, weights=n_all, minlength=len(divisions))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(worked, by_division / division_totals, 0.5)
    start = np.zeros((len(officers), x.shape[1]))
    start[:, : len(divisions)] = np.log(np.clip(share, 1e-9, 1 - 1e-9) / np.clip(1 - share, 1e-9, 1))
    trials = np.where(mask, n_all, 0.0)
    # The grid is sorted by division first, so each division's cells are one run of rows.
    propensity = np.clip(
        fit_logistic_many(x, officer_n, trials, start=start, runs=division_codes), 1e-12, 1 - 1e-9
    )
    odds = np.where(mask, propensity / (1 - propensity), 0.0)
    # Row-major, as the sparse products below read them: pandas hands columns over column-major, and
    # each product then copied its operand first (80 ms at 150,000 rows).
    own_t = np.ascontiguousarray(counts[trial_cols].to_numpy(dtype=float))
    own_s = np.ascontiguousarray(counts[success_cols].to_numpy(dtype=float))
    # Officer o's peers in a cell are the cell's totals less o's own counts there, weighted by o's odds.
    # Summed for all officers at once: over the cells o never worked in, the odds times the totals;
    # over o's own rows, the odds times the totals less o's counts. Every term is then a peer count
    # (never a difference of two sums), so a weighted sum is 0 exactly when o has no weighted peers.
    # An officer-by-officer loop took 0.4 s at 400 officers.
    own = sparse.csr_array(
        (np.ones(len(counts)), (officer_of, np.arange(len(counts)))), shape=(len(officers), len(counts))
    )
    odds_elsewhere = odds.copy()
    odds_elsewhere[officer_of, cell_of] = 0.0
    odds_own = odds[officer_of, cell_of][:, None]
    peers_t = total_t[cell_of] - own_t
    peers_s = total_s[cell_of] - own_s
    trials = own @ own_t
    observed = own @ own_s
    weighted = _dot("oc,cj->oj", odds_elsewhere, total_t) + own @ (odds_own * peers_t)
    residual = _dot("oc,cj->oj", odds_elsewhere, total_s - total_t * outcome) + own @ (
        odds_own * (peers_s - peers_t * outcome[cell_of])
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(trials > 0, (own @ (own_t * outcome[cell_of])) / trials, 0.0)
        rate = rate + np.where(weighted > 0, residual / weighted, 0.0)
    expected = trials * np.clip(rate, 0.0, 1.0)
    # Officer by officer, each officer's pairs in order: the (officer, pair) arrays read row by row.
    # A row-by-row list took 0.13 s at 400 officers.
    return pd.DataFrame(
        {
            "officer_key": np.repeat(officers, len(pairs)),
            "group": np.tile([group for group, _, _, _ in pairs], len(officers)),
            "measure": np.tile([measure for _, measure, _, _ in pairs], len(officers)),
            "dr_trials": trials.ravel().astype("int64"),
            "dr_observed": observed.ravel().astype("int64"),
            "dr_expected": expected.ravel(),
        }
    )


def fit_logistic_many(
    x: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    iterations: int = 30,
    start: np.ndarray | None = None,
    runs: np.ndarray | None = None,
) -> np.ndarray:
    """``fit_logistic`` for many outcomes on one design at once: successes and trials are (models x rows).

    One Newton–Raphson step updates every model together (a batched solve), which makes hundreds of
    officers' propensity models cost about as much as a few single fits. A column with no trials in a
    model's rows (a division the officer never worked in) keeps a zero coefficient: a ridge of 1e-9 on
    the diagonal keeps its equation solvable without moving the others.

    ``runs`` labels the rows (the same label on consecutive rows: a division's cells); each run's
    information is summed on the columns it uses only (``Blocks.information_each``). Any labelling
    gives the same fit, to rounding.
    """
    models, k = successes.shape[0], x.shape[1]
    blocks = Blocks.of(x, runs)
    beta = np.zeros((models, k)) if start is None else start.copy()
    ridge = 1e-9 * np.eye(k)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(_dot("mk,rk->mr", beta, x), -30, 30)))
        weight = trials * p * (1 - p)
        hessian = blocks.information_each(weight) + ridge
        gradient = _dot("mr,rk->mk", successes - trials * p, x)
        step = np.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    return 1 / (1 + np.exp(-np.clip(_dot("mk,rk->mr", beta, x), -30, 30)))


def _dot(subscripts: str, *operands: np.ndarray) -> np.ndarray:
    """A matrix product through numpy's own loops rather than BLAS.

    These products are small (hundreds by hundreds); a multithreaded BLAS on a busy machine spends far
    longer starting and synchronising its threads than computing (measured: 3 s against 0.1 s for
    thirty of them on 2 shared cores). ``einsum`` without optimisation never calls BLAS.
    """
    return np.einsum(subscripts, *operands, optimize=False)


def two_sided_p(observed: Any, trials: Any, expected: Any) -> np.ndarray:
    """Exact binomial two-sided p-values at the rate expected / trials: twice the smaller tail, at most 1.

    The "central" two-sided exact test (doubling the one-sided tail) is used here rather than
    ``officers.two_sided_p``'s likelihood-ordered one because it is computed for thousands of tests at
    once, in one vectorised call; it is slightly more conservative, which is the safe side for a flag.
    """
    k = np.asarray(observed, dtype=float)
    n = np.asarray(trials, dtype=float)
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(np.where(n > 0, e / n, 0.0), 0.0, 1.0)
    lower = binom.cdf(k, n, share)
    upper = binom.sf(k - 1, n, share)
    return np.where(n > 0, np.minimum(1.0, 2 * np.minimum(lower, upper)), 1.0)
