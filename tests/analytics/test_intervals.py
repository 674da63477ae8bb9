"""Confidence intervals against published values and against the formulas written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import proportion_confint

from fairengage.analytics.intervals import Z95, katz_interval, wilson_interval


def test_z_is_the_two_sided_95_percent_normal_quantile():
    assert pytest.approx(1.959963984540054, rel=1e-12) == Z95


# Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of seven
# methods", Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score, no continuity
# correction), to the four decimals printed there.
NEWCOMBE_TABLE_II = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("count", "total", "low", "high"), NEWCOMBE_TABLE_II)
def test_wilson_matches_newcombe_table(count, total, low, high):
    got_low, got_high = wilson_interval(count, total)
    assert round(float(got_low), 4) == low
    assert round(float(got_high), 4) == high


@pytest.mark.parametrize(("count", "total"), [(0, 10), (5, 10), (1, 2), (9, 9), (123, 4567)])
def test_wilson_matches_the_formula_and_an_independent_implementation(count, total):
    z = 1.959963984540054
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    low, high = wilson_interval(count, total)
    assert float(low) == pytest.approx(max(0.0, centre - half), abs=1e-12)
    assert float(high) == pytest.approx(min(1.0, centre + half), abs=1e-12)
    reference = proportion_confint(count, total, alpha=0.05, method="wilson")
    assert (float(low), float(high)) == pytest.approx(reference, abs=1e-12)


def test_wilson_for_0_and_5_out_of_10():
    # 0/10: the upper bound is z²/(n + z²); 5/10 is symmetric about one half.
    low, high = wilson_interval(0, 10)
    assert float(low) == 0.0
    assert float(high) == pytest.approx(3.841458820694124 / 13.841458820694124, rel=1e-12)
    low, high = wilson_interval(5, 10)
    assert float(low) + float(high) == pytest.approx(1.0, abs=1e-12)
    assert round(float(low), 4) == 0.2366


def test_wilson_is_undefined_with_no_trials():
    low, high = wilson_interval(np.array([0, 1]), np.array([0, 4]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert not np.isnan(low[1])


def test_katz_matches_the_formula_and_an_independent_implementation():
    a, n1, c, n0 = 30, 200, 15, 250
    z = 1.959963984540054
    ratio = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    low, high = katz_interval(a, n1, c, n0)
    assert float(low) == pytest.approx(ratio * math.exp(-z * se), rel=1e-12)
    assert float(high) == pytest.approx(ratio * math.exp(z * se), rel=1e-12)
    table = Table2x2(np.array([[a, n1 - a], [c, n0 - c]]))
    assert (float(low), float(high)) == pytest.approx(table.riskratio_confint(alpha=0.05), rel=1e-9)


def test_katz_is_left_undefined_with_a_zero_count():
    low, high = katz_interval(np.array([0, 3, 2]), np.array([10, 10, 10]), np.array([4, 0, 2]), 10)
    assert np.isnan(low[:2]).all() and np.isnan(high[:2]).all()
    assert low[2] < 1 < high[2]
