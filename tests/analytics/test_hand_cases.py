"""Every core index on the fifteen-row hand table (conftest.hand_rows), against figures worked out by hand.

Intervals are recomputed here from their formulas (Wilson 1927; Katz et al. 1978), not by calling the
code under test.
"""

from __future__ import annotations

import math

import pytest

from fairengage.analytics.compliance import compliance
from fairengage.analytics.disparity import disparity
from fairengage.analytics.disproportionality import disproportionality
from fairengage.analytics.engine import load_table
from fairengage.analytics.outcome_test import outcome_test

Z = 1.959963984540054


def wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def katz_by_hand(a: int, n1: int, c: int, n0: int) -> tuple[float, float]:
    ratio = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return ratio * math.exp(-Z * se), ratio * math.exp(Z * se)


def row(rows: list[dict], **keys: str) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in keys.items())]
    assert len(found) == 1, keys
    return found[0]


def test_disproportionality_by_hand(hand_table, hand_benchmark):
    rows = disproportionality(hand_table, hand_benchmark, threshold=1.5)
    assert [(r["area"], r["group"]) for r in rows] == [
        ("ALL", "Black"), ("ALL", "White"), ("D1", "Black"), ("D1", "White"),
        ("D2", "Black"), ("D2", "White"),
    ]  # fmt: skip
    d1 = row(rows, area="D1", group="Black")
    # Unknown (one engagement in D1) is left out of the total: 4 Black + 5 White.
    assert (d1["count"], d1["total"], d1["population"], d1["population_total"]) == (4, 9, 200, 1000)
    assert d1["index"] == pytest.approx((4 / 9) / 0.2)
    low, high = wilson_by_hand(4, 9)
    assert (d1["ci_low"], d1["ci_high"]) == pytest.approx((low / 0.2, high / 0.2))
    assert d1["ci_low"] < 1 and d1["notable"] is False  # index 2.2, but four engagements prove little

    city = row(rows, area="ALL", group="Black")
    assert (city["count"], city["total"], city["population"], city["population_total"]) == (5, 14, 300, 2000)
    assert city["index"] == pytest.approx((5 / 14) / 0.15)
    low, high = wilson_by_hand(5, 14)
    assert (city["ci_low"], city["ci_high"]) == pytest.approx((low / 0.15, high / 0.15))
    assert city["ci_low"] > 1 and city["notable"] is True

    white = row(rows, area="D2", group="White")
    assert white["index"] == pytest.approx((4 / 5) / 0.9)
    assert white["notable"] is False


def test_notable_needs_the_threshold_as_well_as_the_interval(hand_table, hand_benchmark):
    rows = disproportionality(hand_table, hand_benchmark, threshold=2.5)
    city = row(rows, area="ALL", group="Black")
    assert city["index"] < 2.5 and city["ci_low"] > 1
    assert city["notable"] is False


def test_a_group_missing_from_the_benchmark_still_counts_in_the_total(
    duck, table_file, hand_rows, hand_benchmark
):
    table = load_table(duck, table_file([*hand_rows, {"division": "D2", "perceived_race": "Latino"}]))
    rows = disproportionality(table, hand_benchmark, threshold=1.5)
    assert row(rows, area="D2", group="Black")["total"] == 6
    assert row(rows, area="D2", group="Black")["index"] == pytest.approx((1 / 6) / 0.1)
    assert not [r for r in rows if r["group"] == "Latino"]  # no population, so no index


def test_an_area_with_no_engagements_has_no_index(duck, table_file, hand_benchmark):
    table = load_table(duck, table_file([{"division": "D1", "perceived_race": "White"}]))
    rows = disproportionality(table, hand_benchmark, threshold=1.5)
    d2 = row(rows, area="D2", group="Black")
    assert (d2["count"], d2["total"]) == (0, 0)
    assert d2["index"] is None and d2["ci_low"] is None and d2["notable"] is False


def test_disparity_by_hand(hand_table):
    rows = disparity(hand_table, threshold=1.5)
    keys = [(r["area"], r["group"], r["measure"]) for r in rows]
    assert keys == sorted(keys)
    assert len(rows) == (3 + 2 + 3) * 5  # ALL, D1: Black, Unknown, White; D2: Black, White; five measures
    assert {r["measure"] for r in rows} == {"searched", "caution", "ticket", "arrest", "referral"}

    searched = row(rows, area="D1", group="Black", measure="searched")
    assert (searched["count"], searched["total"]) == (2, 4)
    assert (searched["rate"], searched["reference_rate"]) == pytest.approx((0.5, 0.2))
    assert searched["index"] == pytest.approx(2.5)
    assert (searched["ci_low"], searched["ci_high"]) == pytest.approx(katz_by_hand(2, 4, 1, 5))
    assert searched["notable"] is False  # the interval reaches below 1

    # White compares with itself: index 1, no interval.
    white = row(rows, area="D1", group="White", measure="searched")
    assert white["index"] == 1.0 and white["ci_low"] is None and white["notable"] is False

    # No White arrest in D1: the reference rate is 0 and the index undefined.
    arrest = row(rows, area="D1", group="Black", measure="arrest")
    assert (arrest["count"], arrest["reference_rate"], arrest["index"]) == (1, 0.0, None)
    # No Black ticket: index 0, and a zero count leaves the Katz interval undefined.
    ticket = row(rows, area="D1", group="Black", measure="ticket")
    assert ticket["index"] == 0.0 and ticket["ci_low"] is None and ticket["ci_high"] is None

    city = row(rows, area="ALL", group="Black", measure="searched")
    assert city["index"] == pytest.approx((2 / 5) / (2 / 9))
    assert (city["ci_low"], city["ci_high"]) == pytest.approx(katz_by_hand(2, 5, 2, 9))
    unknown = row(rows, area="D1", group="Unknown", measure="searched")
    assert (unknown["count"], unknown["total"], unknown["index"]) == (0, 1, 0.0)


def test_disparity_is_notable_when_large_and_clear(duck, table_file):
    rows = (
        [{"perceived_race": "Black", "searched": True, "contraband_found": False}] * 20
        + [{"perceived_race": "Black"}] * 20
        + [{"perceived_race": "White", "searched": True, "contraband_found": False}] * 5
        + [{"perceived_race": "White"}] * 45
    )
    result = disparity(load_table(duck, table_file(rows)), threshold=1.5)
    black = row(result, area="D1", group="Black", measure="searched")
    assert black["index"] == pytest.approx(5.0)
    assert (black["ci_low"], black["ci_high"]) == pytest.approx(katz_by_hand(20, 40, 5, 50))
    assert black["notable"] is True
    assert row(result, area="D1", group="Black", measure="arrest")["notable"] is False


def test_outcome_test_by_hand(hand_table):
    rows = outcome_test(hand_table)
    assert [(r["area"], r["group"]) for r in rows] == [
        ("ALL", "Black"), ("ALL", "Unknown"), ("ALL", "White"),
        ("D1", "Black"), ("D1", "Unknown"), ("D1", "White"), ("D2", "Black"), ("D2", "White"),
    ]  # fmt: skip
    black = row(rows, area="D1", group="Black")
    assert (black["searches"], black["hits"], black["hit_rate"]) == (2, 1, 0.5)
    assert (black["ci_low"], black["ci_high"]) == pytest.approx(wilson_by_hand(1, 2))
    white = row(rows, area="D1", group="White")
    assert (white["searches"], white["hits"], white["hit_rate"], white["ci_low"]) == (1, 0, 0.0, 0.0)
    assert white["ci_high"] == pytest.approx(wilson_by_hand(0, 1)[1])
    nobody = row(rows, area="D1", group="Unknown")
    assert (nobody["searches"], nobody["hit_rate"], nobody["ci_low"]) == (0, None, None)
    city = row(rows, area="ALL", group="White")
    assert (city["searches"], city["hits"], city["hit_rate"]) == (2, 1, 0.5)


def test_compliance_by_hand(hand_table):
    rows = compliance(hand_table)
    expected = {
        ("ALL", "compliant"): (12, 15), ("ALL", "identifying_info_collected"): (14, 15),
        ("ALL", "informed"): (13, 15), ("ALL", "receipt_offered"): (14, 15),
        ("D1", "compliant"): (8, 10), ("D1", "identifying_info_collected"): (9, 10),
        ("D1", "informed"): (8, 10), ("D1", "receipt_offered"): (10, 10),
        ("D2", "compliant"): (4, 5), ("D2", "identifying_info_collected"): (5, 5),
        ("D2", "informed"): (5, 5), ("D2", "receipt_offered"): (4, 5),
    }  # fmt: skip
    assert [(r["area"], r["measure"]) for r in rows] == list(expected)
    for r in rows:
        count, total = expected[(r["area"], r["measure"])]
        assert (r["count"], r["total"]) == (count, total)
        assert r["rate"] == pytest.approx(count / total)


def test_the_counts_do_not_depend_on_the_file_format(duck, table_file, hand_rows, hand_benchmark):
    parquet = load_table(duck, table_file(hand_rows, "t.parquet"))
    text = load_table(duck, table_file(hand_rows, "t.csv"))
    assert disparity(parquet, threshold=1.5) == disparity(text, threshold=1.5)
    assert disproportionality(parquet, hand_benchmark, threshold=1.5) == disproportionality(
        text, hand_benchmark, threshold=1.5
    )
