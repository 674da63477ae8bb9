"""The broader officer review: every group, share, search rate and hit rate, exact and doubly robust.

Planted effects come from the synthetic generator (60,000 records, 100 officers, seed 2): three
officers engage Black people three times as often as peers (``biased_officers``), and, planted here,
the officer with the most engagements of Black people among the others searches an extra third of them.
Seeds 0-3 were run: every biased officer was flagged by both comparisons in all four; the planted
searcher was tried with seed 2 only, and found. With nothing planted (100 officers x 8 groups: 800
share tests, about 300 search-rate tests, 8-15 hit-rate tests per family) seed 2 gave no flag at all;
seed 0 gave 1 (exact) and 3 (doubly robust) share flags and 1 and 2 search-rate flags, seed 1 one
share flag each way, seed 3 one hit-rate flag by exact matching. Seeds are fixed, so a pass repeats.
"""

from __future__ import annotations

import math
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from fairengage.analytics.officer_review import (
    _exact,
    _pairs,
    _widen,
    fit_logistic,
    fit_logistic_many,
    officer_review,
    review_counts,
    review_from_counts,
    two_sided_p,
)
from fairengage.ingest.synth import PlantedEffects, biased_officer_keys, generate
from fairengage.vocabulary import PERCEIVED_RACES

GROUPS = [g for g in PERCEIVED_RACES if g != "Unknown"]
TZ = "America/Toronto"
SEED, RECORDS, OFFICERS = 2, 60_000, 100


def review(frame: pd.DataFrame, tmp_path: Path) -> dict:
    path = tmp_path / "engagements.parquet"
    frame.to_parquet(path)
    return officer_review(ibis.duckdb.connect().read_parquet(path), groups=PERCEIVED_RACES, tz=TZ)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):  # type: ignore[no-untyped-def]
    frame = generate(RECORDS, seed=SEED, officers=OFFICERS, effects=PlantedEffects(biased_officers=3))
    biased = set(biased_officer_keys(OFFICERS, SEED, 3))
    black = frame.loc[frame["perceived_race"] == "Black", "officer_key"].value_counts()
    searcher = next(key for key in black.index if key not in biased)
    extra = (frame["officer_key"] == searcher) & (frame["perceived_race"] == "Black")
    extra &= np.random.default_rng(SEED).random(len(frame)) < 1 / 3
    frame.loc[extra, "searched"] = True
    return review(frame, tmp_path_factory.mktemp("planted")), biased, searcher


def flagged(result: dict, measure: str, group: str | None = None, *, both: bool = True) -> set[str]:
    return {
        r["officer_key"]
        for r in result["rows"]
        if r["measure"] == measure
        and (group is None or r["group"] == group)
        and ((r["flagged"] and r["dr_flagged"]) if both else (r["flagged"] or r["dr_flagged"]))
    }


def test_planted_officers_are_found_by_both_comparisons(planted):
    result, biased, searcher = planted
    assert biased <= flagged(result, "share", "Black")
    assert searcher in flagged(result, "search_rate", "Black")
    # No one else is flagged for searching more (nothing else was planted there).
    assert flagged(result, "search_rate", both=False) == {searcher}


def test_none_are_found_where_none_were_planted(tmp_path):
    result = review(generate(RECORDS, seed=SEED, officers=OFFICERS), tmp_path)
    assert flagged(result, "share", both=False) == set()
    assert flagged(result, "search_rate", both=False) == set()
    assert result["disagreements"] == 0


def test_one_family_per_measure_and_comparison_and_an_agenda_in_key_order(planted):
    result, _, _ = planted
    families = [(f["measure"], f["comparison"]) for f in result["families"]]
    assert families == [
        (m, c) for m in ("share", "search_rate", "hit_rate") for c in ("exact matching", "doubly robust")
    ]
    share = next(f for f in result["families"] if f["measure"] == "share")
    # Every officer was tested for every group's share: 100 officers x 8 groups.
    assert share["tests"] == OFFICERS * len(GROUPS)
    keys = [(r["officer_key"], r["group"], r["measure"]) for r in result["rows"]]
    assert keys == sorted(keys)  # never ordered by a count: NO-QUOTAS
    assert result["disagreements"] == sum(1 for r in result["rows"] if not r["agree"])


def _counts(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["officer_key", "division", "hour", "weekend", "n", "k0", "s0", "h0"])
    return frame.sort_values(["officer_key", "division", "hour", "weekend"]).reset_index(drop=True)


def test_exact_matching_by_hand():
    # One cell (D11, 09:00, weekday). Officer a: 60 engagements, 30 of group 0 (12 searched, 3 found);
    # b and c together: 120 engagements, 30 of the group (3 searched, 1 found). Leave-one-out for a:
    # share expected 60 x 30/120 = 15; search rate expected 30 x 3/30 = 3.
    counts = _counts([("a", "D11", 9, False, 60, 30, 12, 3), ("b", "D11", 9, False, 60, 15, 2, 1),
                      ("c", "D11", 9, False, 60, 15, 1, 0)])  # fmt: skip
    result = review_from_counts(counts, ["Black"], min_volume=10, min_searches=1, fdr=0.05)
    rows = {(r["officer_key"], r["measure"]): r for r in result["rows"]}
    assert rows[("a", "share")]["expected"] == pytest.approx(15.0)
    assert rows[("a", "share")]["observed"] == 30
    assert rows[("a", "search_rate")]["expected"] == pytest.approx(3.0)
    # One cell only: the propensity is a constant, the outcome model the peers' rate, so the doubly
    # robust comparison here must land on the same expected counts.
    assert rows[("a", "share")]["dr_expected"] == pytest.approx(15.0, rel=1e-6)


def test_exact_matching_gives_the_leave_one_out_sums_of_a_plain_groupby():
    # Officers in several divisions, hours across every band (a negative one too: a time before 1970
    # on an engine whose remainder keeps the sign), cells an officer shares with none (no peers).
    rng = np.random.default_rng(3)
    rows = [(f"o{rng.integers(12)}", f"D{rng.integers(3)}", int(rng.integers(-2, 24)), bool(rng.integers(2)),
             *(int(v) for v in rng.integers(0, 30, size=4))) for _ in range(300)]  # fmt: skip
    counts = _counts(rows).groupby(["officer_key", "division", "hour", "weekend"], as_index=False).sum()
    pairs = _pairs(["Black"])
    frame = counts.assign(band=counts["hour"] // 4)
    cells = ["division", "band", "weekend"]
    frame = frame.groupby(["officer_key", *cells], as_index=False)[["n", "k0", "s0", "h0"]].sum()
    totals = frame.groupby(cells)[["n", "k0", "s0", "h0"]].transform("sum")
    result = _exact(counts, pairs)
    for _, measure, trials, successes in pairs:
        peers_t, peers_s = totals[trials] - frame[trials], totals[successes] - frame[successes]
        usable = peers_t > 0
        expected = (frame[trials] * peers_s / peers_t).where(usable, 0.0)
        by_officer = (
            pd.DataFrame(
                {
                    "trials": frame[trials].where(usable, 0),
                    "observed": frame[successes].where(usable, 0),
                    "expected": expected,
                }
            )
            .groupby(frame["officer_key"])
            .sum()
        )
        ours = result[result["measure"] == measure].set_index("officer_key")
        assert list(ours.index) == list(by_officer.index)
        assert ours["trials"].tolist() == by_officer["trials"].tolist()
        assert ours["observed"].tolist() == by_officer["observed"].tolist()
        assert ours["expected"].to_numpy() == pytest.approx(by_officer["expected"].to_numpy(), rel=1e-12)


def test_the_batched_fit_equals_one_fit_at_a_time():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(40), rng.normal(size=40), rng.normal(size=40)])
    trials = rng.integers(5, 50, size=(3, 40)).astype(float)
    successes = np.floor(trials * rng.uniform(0.1, 0.6, size=(3, 40)))
    together = fit_logistic_many(x, successes, trials)
    for m in range(3):
        assert together[m] == pytest.approx(fit_logistic(x, successes[m], trials[m]), rel=1e-8)
    # The fit reproduces the observed total (a property of the logistic MLE with an intercept).
    assert float((together[0] * trials[0]).sum()) == pytest.approx(float(successes[0].sum()), rel=1e-8)


@pytest.mark.parametrize("runs", ["none", "by division", "scattered"])
def test_the_batched_fit_equals_one_fit_at_a_time_where_models_have_rows_without_trials(runs):
    # As officers' propensity models: each has trials only in its own divisions' rows, and a division
    # column with no trials, which keeps a coefficient of 0. With the rows in runs by division, the
    # information is summed run by run on each run's own columns: the same fit. Labels that do not
    # follow the divisions (short runs, a division split between several) give the same fit too.
    rng = np.random.default_rng(1)
    division = np.repeat(np.arange(4), 15)
    x = np.column_stack([*(division == d for d in range(4)), rng.normal(size=60)]).astype(float)
    trials = rng.integers(5, 50, size=(5, 60)).astype(float)
    for m in range(5):
        trials[m, ~np.isin(division, [m % 4, (m + 1) % 4])] = 0.0
    successes = np.floor(trials * rng.uniform(0.1, 0.6, size=(5, 60)))
    labels = {"none": None, "by division": division, "scattered": rng.integers(0, 3, size=60)}[runs]
    together = fit_logistic_many(x, successes, trials, runs=labels)
    for m in range(5):
        alone = fit_logistic(x, successes[m], trials[m])
        worked = trials[m] > 0
        assert together[m][worked] == pytest.approx(alone[worked], rel=1e-8)


def test_the_counts_are_widened_as_a_pivot_would_widen_them():
    # Rows out of order, a race outside the groups (it counts in n only), a group with no rows (all
    # 0), a row with an empty key (left out, as groupby leaves it out) and cells repeated.
    long = pd.DataFrame(
        {
            "officer_key": ["b", "a", "a", "b", "a", None, "a"],
            "division": ["D2", "D1", "D1", "D2", "D1", "D1", "D1"],
            "hour": [3, 9, 9, 3, 1, 9, 9],
            "weekend": [True, False, False, True, False, False, False],
            "perceived_race": ["Black", "White", "Other", "White", "Black", "Black", "Black"],
            "n": [5, 7, 2, 1, 4, 9, 3],
            "s": [1, 2, 1, 0, 4, 9, 1],
            "h": [0, 1, 1, 0, 2, 9, 1],
        }
    )
    keys = ["officer_key", "division", "hour", "weekend"]
    groups = ["Black", "Indigenous", "White"]
    wide = _widen(long, keys, groups)
    assert list(wide.columns) == [*keys, "n", "k0", "s0", "h0", "k1", "s1", "h1", "k2", "s2", "h2"]
    present = long.dropna(subset=keys)
    pivot = present.pivot_table(index=keys, columns="perceived_race", values=["n", "s", "h"], aggfunc="sum",
                                fill_value=0)  # fmt: skip
    expected = present.groupby(keys, sort=True)["n"].sum().to_frame("n")
    for i, group in enumerate(groups):
        for measure, column in (("k", "n"), ("s", "s"), ("h", "h")):
            has = (column, group) in pivot.columns
            expected[f"{measure}{i}"] = pivot[(column, group)] if has else 0
    expected = expected.reset_index().astype({c: "int64" for c in wide.columns if c not in keys})
    pd.testing.assert_frame_equal(wide, expected, check_dtype=False)
    assert wide.loc[
        (wide["officer_key"] == "a") & (wide["hour"] == 9), ["n", "k0", "k2"]
    ].values.tolist() == [[12, 3, 7]]
    assert len(_widen(long.iloc[:0], keys, groups)) == 0


def test_two_sided_p_is_twice_the_smaller_tail():
    # 10 of 20 at p = 0.25: twice P(X >= 10), summed here term by term.
    upper = sum(math.comb(20, i) * 0.25**i * 0.75 ** (20 - i) for i in range(10, 21))
    assert float(two_sided_p([10], [20], [5.0])[0]) == pytest.approx(2 * upper, rel=1e-9)
    assert float(two_sided_p([5], [20], [5.0])[0]) == pytest.approx(1.0)
    assert float(two_sided_p([0], [0], [0.0])[0]) == 1.0


def test_review_counts_are_the_engagements(tmp_path):
    frame = generate(2_000, seed=1, officers=20)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    counts = review_counts(ibis.duckdb.connect().read_parquet(path), groups=GROUPS, tz=TZ)
    known = frame[frame["perceived_race"] != "Unknown"]
    assert int(counts["n"].sum()) == len(known)
    black = GROUPS.index("Black")
    assert int(counts[f"s{black}"].sum()) == int(
        (known["searched"] & (known["perceived_race"] == "Black")).sum()
    )
