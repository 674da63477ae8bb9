"""The cell-key method: same cell, same noise in every table; bounded, zero-mean noise; no 1s or 2s."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairengage.ingest import synth
from fairengage.reports import cellkey

KEY = cellkey.cell_key_secret("a test secret")


def test_every_ptable_row_has_zero_mean_and_sums_to_one():
    for count, row in cellkey.PTABLE.items():
        assert sum(row.values()) == pytest.approx(1.0)
        assert sum(v * p for v, p in row.items()) == pytest.approx(0.0), count
        assert all(abs(v) <= cellkey.MAX_NOISE for v in row)


@given(count=st.integers(min_value=0, max_value=10_000), key=st.integers(min_value=0, max_value=255))
def test_noise_is_bounded_and_never_shows_one_or_two(count, key):
    shown = cellkey.perturb(count, key)
    assert abs(shown - count) <= cellkey.MAX_NOISE and shown >= 0
    assert shown not in (1, 2)
    if count == 0:
        assert shown == 0


def test_the_noise_over_all_cell_keys_has_the_ptable_chances():
    for count in (1, 2, 3, 4, 7):
        noises = [cellkey.noise(count, k) for k in range(cellkey.KEY_RANGE)]
        assert np.mean(noises) == pytest.approx(0.0, abs=0.02), count


def test_record_keys_are_fixed_per_id_and_depend_on_the_secret():
    ids = [f"e{i}" for i in range(50)]
    first, again = cellkey.record_keys(ids, KEY), cellkey.record_keys(ids, KEY)
    assert (first == again).all() and ((first >= 0) & (first < 256)).all()
    assert (cellkey.record_keys(ids, cellkey.cell_key_secret("another")) != first).any()


def test_the_same_cell_gets_the_same_noise_in_every_table():
    frame = synth.generate(3000, seed=4, start=date(2025, 1, 1), end=date(2025, 12, 31))
    keys = cellkey.record_keys(frame["engagement_id"], KEY)
    by_area = cellkey.perturbed_table(frame, ["division", "perceived_race"], keys)
    by_outcome = cellkey.perturbed_table(frame, ["perceived_race", "outcome"], keys)
    # The city's count per group appears in both tables (as a total): the same records, the same value.
    one = by_area[by_area["division"] == "ALL"].set_index("perceived_race")["count"]
    two = by_outcome[by_outcome["outcome"] == "ALL"].set_index("perceived_race")["count"]
    assert one.sort_index().equals(two.sort_index())
    # Differencing a total and its parts gives no exact small count: the total is perturbed on its own.
    true = frame.groupby(["division", "perceived_race"], observed=True).size()
    shown = by_area[(by_area["division"] != "ALL") & (by_area["perceived_race"] != "ALL")]
    shown = shown.set_index(["division", "perceived_race"])["count"]
    assert (shown - true.reindex(shown.index)).abs().max() <= cellkey.MAX_NOISE


def test_planted_small_counts_are_never_published_as_themselves():
    frame = pd.DataFrame(
        {
            "engagement_id": [f"x{i}" for i in range(1003)],
            "division": ["D11"] * 1000 + ["D12"] * 2 + ["D13"],
            "perceived_race": ["White"] * 1003,
        }
    )
    keys = cellkey.record_keys(frame["engagement_id"], KEY)
    table = cellkey.perturbed_table(frame, ["division", "perceived_race"], keys)
    cells = table.set_index(["division", "perceived_race"])["count"]
    assert cells[("D12", "White")] in (0, 3) and cells[("D13", "White")] in (0, 3)
