"""The outcome test: how often a search finds contraband (the hit rate), by group and area."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from fairengage.analytics.counts import CITY, as_rows, cell_counts
from fairengage.analytics.intervals import Z95, katz_interval, newcombe_difference_interval, wilson_interval
from fairengage.vocabulary import REFERENCE_GROUP

COLUMNS = ("area", "group", "searches", "hits", "hit_rate", "ci_low", "ci_high")
DIFFERENCE_COLUMNS = (
    "area", "group", "reference", "searches", "hits", "ref_searches", "ref_hits", "difference",
    "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "enough",
)  # fmt: skip
STRATIFIED_COLUMNS = (
    "group", "reference", "strata", "searches", "ref_searches", "crude_difference",
    "difference", "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "enough",
)  # fmt: skip
# A division's comparison is shown only where both groups had at least this many searches: below it
# the interval is so wide that the row says nothing, and the divisions' many rows would mostly be noise.
MIN_DIVISION_SEARCHES = 20
# Mantel & Fleiss (1980): the pooled large-sample comparison needs the group's expected finds to lie at
# least this far from both bounds its divisions allow.
MIN_EXPECTED_FINDS = 5.0


def outcome_test(table: ibis.Table) -> list[dict]:
    """Hit-rate rows for every area (divisions and ALL) and group present there."""
    return outcome_test_rows(cell_counts(table))


def outcome_test_rows(cells: pd.DataFrame) -> list[dict]:
    """The same, from grouped counts (``counts.cell_counts``) already executed."""
    # Becker's outcome test (Knowles, Persico & Todd 2001, J Polit Econ 109:203): if searches of one
    # group find contraband less often, the bar for searching that group was lower. A lower hit rate
    # is evidence to look at, not proof: it assumes officers search to find contraband.
    frame = cells.loc[:, ["area", "group", "searched", "hits"]].rename(columns={"searched": "searches"})
    searches = frame["searches"].to_numpy(dtype=float)
    hits = frame["hits"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["hit_rate"] = np.where(searches > 0, hits / searches, np.nan)
    # Wilson score interval (Wilson 1927; Newcombe 1998 method 3): sound for the small search counts
    # of a group in a division.
    frame["ci_low"], frame["ci_high"] = wilson_interval(hits, searches)
    frame = frame.sort_values(["area", "group"]).loc[:, list(COLUMNS)]
    return as_rows(frame)


def hit_rate_differences(
    cells: pd.DataFrame, *, reference_group: str = REFERENCE_GROUP, min_searches: int = MIN_DIVISION_SEARCHES
) -> list[dict]:
    """Each group's hit rate minus the reference group's, and their ratio, with 95% intervals, by area.

    ``difference`` has Newcombe's hybrid score interval (``intervals.newcombe_difference_interval``),
    ``ratio`` the Katz log interval. City-wide (area ALL) rows are given wherever both groups were
    searched; a division's row only where both had at least ``min_searches`` searches (``enough``
    false and the figures null otherwise).
    """
    frame = cells.loc[:, ["area", "group", "searched", "hits"]].rename(columns={"searched": "searches"})
    reference = frame[frame["group"] == reference_group].rename(
        columns={"searches": "ref_searches", "hits": "ref_hits"}
    )
    frame = frame[frame["group"] != reference_group].merge(
        reference.drop(columns="group"), on="area", how="inner"
    )
    frame.insert(2, "reference", reference_group)
    x1, n1 = frame["hits"].to_numpy(dtype=float), frame["searches"].to_numpy(dtype=float)
    x0, n0 = frame["ref_hits"].to_numpy(dtype=float), frame["ref_searches"].to_numpy(dtype=float)
    floor = np.where(frame["area"].to_numpy() == CITY, 1, min_searches)
    enough = (n1 >= floor) & (n0 >= floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = x1 / n1 - x0 / n0
        ratio = np.where(x0 > 0, (x1 / n1) / (x0 / n0), np.nan)
    low, high = newcombe_difference_interval(x1, n1, x0, n0)
    ratio_low, ratio_high = katz_interval(x1, n1, x0, n0)
    for name, values in (("difference", difference), ("ci_low", low), ("ci_high", high), ("ratio", ratio),
                         ("ratio_ci_low", ratio_low), ("ratio_ci_high", ratio_high)):  # fmt: skip
        frame[name] = np.where(enough, values, np.nan)
    frame["enough"] = enough
    frame = frame.sort_values(["area", "group"], kind="stable").loc[:, list(DIFFERENCE_COLUMNS)]
    return as_rows(frame)


def stratified_hit_rates(
    cells: pd.DataFrame, *, reference_group: str = REFERENCE_GROUP, min_searches: int = MIN_DIVISION_SEARCHES
) -> list[dict]:
    """Each group against the reference group, city-wide but compared within divisions (Mantel–Haenszel).

    A city-wide difference can come from where searches happen rather than whom they find: if one
    group is searched mostly in divisions where searches seldom find anything, its city-wide hit rate is
    lower even when, division by division, it is the same. The Mantel–Haenszel risk difference and risk
    ratio weight each division's comparison by its searches, so that only within-division differences
    count. ``crude_difference`` is the city-wide difference, for comparison. The variances are
    large-sample ones: with fewer than ``min_searches`` searches of either group (over the divisions
    compared), or too few expected finds by the Mantel–Fleiss criterion (`mantel_fleiss`), the figures
    are left null and ``enough`` is false.
    """
    divisions = cells[cells["area"] != CITY]
    reference = divisions[divisions["group"] == reference_group].loc[:, ["area", "searched", "hits"]]
    reference = reference.rename(columns={"searched": "n0", "hits": "c"})
    rows = []
    for group in sorted(set(divisions["group"]) - {reference_group}):
        own = divisions[divisions["group"] == group].loc[:, ["area", "searched", "hits"]]
        own = own.rename(columns={"searched": "n1", "hits": "a"}).merge(reference, on="area", how="inner")
        own = own[(own["n1"] > 0) & (own["n0"] > 0)].sort_values("area")
        result = mantel_haenszel(
            own["a"].to_numpy(dtype=float), own["n1"].to_numpy(dtype=float),
            own["c"].to_numpy(dtype=float), own["n0"].to_numpy(dtype=float),
        )  # fmt: skip
        n1, n0 = float(own["n1"].sum()), float(own["n0"].sum())
        # Searches are not enough on their own: 47 searches that found nothing, against a reference rate
        # of 1.2% (Hartford's East/Southeast Asian people), expect 0.6 finds, and Sato's variance, blind
        # to the group's side when it has no finds, gave an interval wholly below 0.
        spread = mantel_fleiss(*(own[k].to_numpy(dtype=float) for k in ("a", "n1", "c", "n0")))
        enough = n1 >= min_searches and n0 >= min_searches and spread >= MIN_EXPECTED_FINDS
        if not enough:
            result = dict.fromkeys(result)
        crude = float(own["a"].sum()) / n1 - float(own["c"].sum()) / n0 if n1 > 0 and n0 > 0 else None
        rows.append(
            {
                "group": group,
                "reference": reference_group,
                "strata": len(own),
                "searches": int(n1),
                "ref_searches": int(n0),
                "crude_difference": crude,
                **result,
                "enough": enough,
            }
        )
    return [{key: row[key] for key in STRATIFIED_COLUMNS} for row in rows]


def mantel_fleiss(a: np.ndarray, n1: np.ndarray, c: np.ndarray, n0: np.ndarray) -> float:
    """How far the group's expected finds lie from the nearer bound its divisions allow (Mantel & Fleiss).

    Mantel & Fleiss (1980, Am J Epidemiol 112:129): given each division's searches and finds, the
    group's finds could be anything from Σ max(0, n1 − misses) to Σ min(n1, finds); under no difference
    it expects Σ n1·finds/N. A large-sample pooled comparison is trusted when the expectation lies at
    least 5 from both bounds. Divisions with no search of either group count for nothing.
    """
    if len(a) == 0:
        return 0.0
    total = n1 + n0
    finds = a + c
    misses = total - finds
    expected = float(np.sum(n1 * finds / total))
    low = float(np.sum(np.maximum(0.0, n1 - misses)))
    high = float(np.sum(np.minimum(n1, finds)))
    return min(expected - low, high - expected)


def mantel_haenszel(a: np.ndarray, n1: np.ndarray, c: np.ndarray, n0: np.ndarray, z: float = Z95) -> dict:
    """Mantel–Haenszel risk difference and risk ratio over strata, with 95% intervals (None if undefined).

    a of n1 in the compared group and c of n0 in the reference group, one stratum per element, every
    n1 and n0 above 0. Risk difference: Σ(a·n0 − c·n1)/N over Σ n1·n0/N, with Sato's (1989, Biometrics
    45:1323) variance, which stays valid both with a few large strata and with many sparse ones. Risk
    ratio: Σ a·n0/N over Σ c·n1/N, with the Greenland & Robins (1985, Biometrics 41:55) variance of its
    logarithm. With one stratum both reduce to the crude difference and ratio (and the ratio's interval
    to Katz's).
    """
    empty = dict.fromkeys(("difference", "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high"))
    if len(a) == 0:
        return empty
    total = n1 + n0
    weight = n1 * n0 / total
    difference = float(np.sum((a * n0 - c * n1) / total) / weight.sum())
    p_term = (n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / total**2
    q_term = (a * (n0 - c) + c * (n1 - a)) / (2 * total)
    variance = (difference * p_term.sum() + q_term.sum()) / weight.sum() ** 2
    half = z * float(np.sqrt(max(variance, 0.0)))
    result = {**empty, "difference": difference, "ci_low": difference - half, "ci_high": difference + half}
    top, bottom = float(np.sum(a * n0 / total)), float(np.sum(c * n1 / total))
    if top > 0 and bottom > 0:
        ratio = top / bottom
        log_variance = float(np.sum((n1 * n0 * (a + c) - a * c * total) / total**2)) / (top * bottom)
        spread = z * float(np.sqrt(max(log_variance, 0.0)))
        result.update(ratio=ratio, ratio_ci_low=ratio * float(np.exp(-spread)),
                      ratio_ci_high=ratio * float(np.exp(spread)))  # fmt: skip
    return result
