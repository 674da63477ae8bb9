"""Confidence intervals for proportions and ratios of proportions, vectorised over numpy arrays."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

CONFIDENCE = 0.95
# Two-sided 95% normal quantile, 1.959963984540054 (from the standard library: no scipy needed).
Z95 = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)


def wilson_interval(count: ArrayLike, total: ArrayLike, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for count/total; NaN where total is 0."""
    # Wilson (1927), "Probable inference...", JASA 22:209; method 3 of Newcombe (1998), Stat Med 17:857.
    # Chosen over the Wald interval because it stays inside [0, 1] and keeps close to its nominal
    # coverage for small counts and rates near 0 (Brown, Cai & DasGupta 2001, Stat Sci 16:101), which
    # is what small groups in small divisions give.
    x = np.asarray(count, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    # At 0 (or all) successes the bound is exactly 0 (or 1); rounding would leave a trace like 1e-17.
    low = np.where(n > 0, np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(n > 0, np.where(x == n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


def katz_interval(
    count: ArrayLike, total: ArrayLike, ref_count: ArrayLike, ref_total: ArrayLike, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Katz log interval for the risk ratio (count/total)/(ref_count/ref_total); NaN where a count is 0."""
    # Katz, Baptista, Azen & Pike (1978), Biometrics 34:469: log RR ± z·sqrt(1/a − 1/n1 + 1/c − 1/n0).
    # With a zero count (a or c) the log ratio is unbounded; we return NaN rather than add a 0.5
    # continuity correction, which would move the estimate and depend on an arbitrary constant. The
    # caller leaves the interval null and the row not notable.
    a = np.asarray(count, dtype=float)
    n1 = np.asarray(total, dtype=float)
    c = np.asarray(ref_count, dtype=float)
    n0 = np.asarray(ref_total, dtype=float)
    defined = (a > 0) & (c > 0) & (n1 > 0) & (n0 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log((a / n1) / (c / n0))
        se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
        low = np.where(defined, np.exp(log_ratio - z * se), np.nan)
        high = np.where(defined, np.exp(log_ratio + z * se), np.nan)
    return low, high


def newcombe_difference_interval(
    count: ArrayLike, total: ArrayLike, ref_count: ArrayLike, ref_total: ArrayLike, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for count/total − ref_count/ref_total; NaN where a total is 0."""
    # Newcombe (1998), "Interval estimation for the difference between independent proportions:
    # comparison of eleven methods", Stat Med 17:873, method 10: the Wilson limits of each proportion
    # are combined as D − sqrt((p1 − l1)² + (u2 − p2)²), D + sqrt((u1 − p1)² + (p2 − l2)²). Chosen over
    # the Wald (delta-method) interval because it keeps near its nominal coverage with a handful of
    # searches or a rate near 0 or 1, never leaves [−1, 1], and is defined at zero counts.
    x1 = np.asarray(count, dtype=float)
    n1 = np.asarray(total, dtype=float)
    x0 = np.asarray(ref_count, dtype=float)
    n0 = np.asarray(ref_total, dtype=float)
    l1, u1 = wilson_interval(x1, n1, z)
    l0, u0 = wilson_interval(x0, n0, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = x1 / n1
        p0 = x0 / n0
        difference = p1 - p0
        low = difference - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
        high = difference + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    defined = (n1 > 0) & (n0 > 0)
    return np.where(defined, low, np.nan), np.where(defined, high, np.nan)
