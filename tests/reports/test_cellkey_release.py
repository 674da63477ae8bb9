"""The cell-key public report's counts (reports/cellkey_release.py): keyed cells, totals, differencing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fairengage.analytics.counts import CITY
from fairengage.reports import cellkey
from fairengage.reports.cellkey_release import (
    ALL_GROUPS,
    KeyedRecords,
    check_release,
    disclosure_meta,
    ptable_sha256,
)

SECRET = cellkey.cell_key_secret("tests-cellkey-secret")
GROUPS = ("Black", "White", "South Asian", "Unknown")


def records(n: int, *, seed: int = 3, prefix: str = "E") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "engagement_id": [f"{prefix}{i:05d}" for i in range(n)],
            "division": rng.choice(["D11", "D12", "D13"], n),
            "perceived_race": rng.choice(GROUPS, n),
            "searched": rng.random(n) < 0.3,
            "contraband_found": rng.choice([True, False, None], n),
            "informed": rng.random(n) < 0.9,
            "receipt_offered": rng.random(n) < 0.8,
            "compliant": rng.random(n) < 0.85,
            "identifying_info_collected": rng.random(n) < 0.5,
            "outcome": rng.choice(["none", "caution", "ticket", "arrest"], n),
        }
    )


def test_every_cell_and_total_is_its_records_perturbed():
    frame = records(400)
    keyed = KeyedRecords(frame, SECRET)
    keys = cellkey.record_keys(frame["engagement_id"], SECRET)
    for area in ("D11", "D12", "D13", CITY):
        for group in (*GROUPS, ALL_GROUPS):
            mask = np.ones(len(frame), dtype=bool)
            if area != CITY:
                mask &= (frame["division"] == area).to_numpy()
            if group != ALL_GROUPS:
                mask &= (frame["perceived_race"] == group).to_numpy()
            expected = cellkey.perturb(int(mask.sum()), int(keys[mask].sum()) % cellkey.KEY_RANGE)
            assert keyed.count(area, group) == expected == keyed.where(mask)
            assert keyed.exact(area, group) == int(mask.sum())
            searched = mask & frame["searched"].to_numpy()
            assert keyed.count(area, group, "searched") == keyed.where(searched)
            published = keyed.count(area, group, "searched")
            assert abs(published - int(searched.sum())) <= cellkey.MAX_NOISE
            assert published not in (1, 2)


def test_a_total_is_a_cell_of_its_own_and_the_same_records_give_the_same_value_in_any_order():
    frame = records(300)
    keyed = KeyedRecords(frame, SECRET)
    shuffled = KeyedRecords(frame.sample(frac=1, random_state=1), SECRET)
    assert keyed.cells == shuffled.cells
    parts = sum(keyed.count("D11", g) for g in GROUPS)
    # Perturbed on its own: equal to the sum of the parts only by chance, within the noise of each.
    assert abs(keyed.count("D11", ALL_GROUPS) - keyed.exact("D11", ALL_GROUPS)) <= cellkey.MAX_NOISE
    assert abs(parts - keyed.exact("D11", ALL_GROUPS)) <= cellkey.MAX_NOISE * len(GROUPS)


@pytest.mark.slow  # releases built and attacked end to end
def test_a_differencing_attack_across_two_releases_gains_nothing_exact():
    """v2 is v1 plus one late record in a cell; the attacker subtracts v1's published count from v2's.

    Exact figures would give 1 every time, and so reveal the late record's division and group. With the
    cell-key method the difference is the true 1 plus the change of two noises: across 300 possible late
    records it takes several values, is the true 1 only about half the time, and a cell that held no one
    publishes 0 before and 0 or 3 after, never the 1.
    """
    base = records(500)
    target = ("D12", "Black")
    before = KeyedRecords(base, SECRET).count(*target)
    differences = []
    for i in range(300):
        late = base.iloc[[0]].assign(
            engagement_id=f"LATE{i:04d}", division=target[0], perceived_race=target[1]
        )
        after = KeyedRecords(pd.concat([base, late], ignore_index=True), SECRET).count(*target)
        differences.append(after - before)
    values = pd.Series(differences).value_counts()
    assert len(values) >= 3
    # The noise of v1 is fixed (its records are); v2's depends on the late key: 1 about half the time.
    assert values.get(1, 0) < 0.6 * len(differences)
    assert all(abs(d - 1) <= 2 * cellkey.MAX_NOISE for d in differences)
    # An empty cell gaining one record: 0 before, never 1 after.
    empty = base[base["perceived_race"] != "Latino"]
    shown = set()
    for i in range(100):
        late = base.iloc[[0]].assign(engagement_id=f"ONE{i:04d}", division="D11", perceived_race="Latino")
        keyed = KeyedRecords(pd.concat([empty, late], ignore_index=True), SECRET)
        shown.add(keyed.count("D11", "Latino"))
    assert KeyedRecords(empty, SECRET).count("D11", "Latino") == 0
    assert shown == {0, 3}


def test_keys_depend_on_the_secret():
    frame = records(200)
    other = KeyedRecords(frame, cellkey.cell_key_secret("another-service-secret"))
    mine = KeyedRecords(frame, SECRET)
    assert [v[1] for v in other.cells.values()] != [v[1] for v in mine.cells.values()]


def test_the_stated_method_and_the_check(tmp_path):
    meta = disclosure_meta(10)
    assert meta["method"] == "cellkey" and meta["max_noise"] == 3
    assert meta["expected_absolute_error"] == pytest.approx(0.6)
    assert meta["ptable_sha256"] == ptable_sha256() and len(ptable_sha256()) == 64
    report = {
        "meta": {"disclosure": meta},
        "compliance": [{"area": CITY, "measure": "informed", "count": 40, "total": 50}],
        "annual": {"attempts": 50, "by_race": {"Black": 0, "White": 3}},
    }
    (tmp_path / "open-data").mkdir()
    (tmp_path / "report.public.json").write_text(json.dumps(report))
    pd.DataFrame({"period": ["2024"], "count": [4]}).to_csv(tmp_path / "open-data" / "t.csv", index=False)
    ok, summary, checked = check_release(tmp_path)
    assert ok and checked == 6, summary
    report["annual"]["by_race"]["White"] = 2
    (tmp_path / "report.public.json").write_text(json.dumps(report))
    ok, summary, _ = check_release(tmp_path)
    assert not ok and "annual.by_race White" in summary
    report["annual"]["by_race"]["White"] = 3
    report["meta"]["disclosure"] = {**meta, "method": "suppress"}
    (tmp_path / "report.public.json").write_text(json.dumps(report))
    assert not check_release(tmp_path)[0]
