"""Benchmarks side by side: disproportionality indices under each named benchmark, and how far they agree.

A disproportionality index divides a group's share of engagements by its share of a population, and
which population is the right one is a judgement: residents (a census), the people present in the
daytime, the people described in calls for service. Each answers a different question, and none is
the population "at risk" of an engagement. Running them side by side shows which conclusions hold
whatever the choice and which rest on it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from fairengage.analytics.disproportionality import disproportionality_rows

ROW_KEYS = ("area", "group", "benchmark", "index", "ci_low", "ci_high", "notable")
SUMMARY_KEYS = ("area", "group", "lowest", "highest", "notable_under", "benchmarks", "depends_on_choice")


def compare_benchmarks(
    cells: pd.DataFrame, benchmarks: Mapping[str, pd.DataFrame], *, threshold: float
) -> dict:
    """Rows per (area, group, benchmark) and a summary per (area, group) present in every benchmark.

    The summary gives the lowest and highest index, under how many benchmarks the row is notable, and
    ``depends_on_choice``: notable under some benchmarks and not under others (the conclusion then
    rests on the choice of benchmark, and the report says so).
    """
    rows = []
    for name, benchmark in benchmarks.items():
        for row in disproportionality_rows(cells, benchmark, threshold=threshold):
            rows.append({**{k: row[k] for k in ("area", "group")}, "benchmark": name,
                         **{k: row[k] for k in ("index", "ci_low", "ci_high", "notable")}})  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(ROW_KEYS))
    summary = []
    names = list(benchmarks)
    for (area, group), part in frame.groupby(["area", "group"], sort=True):
        if len(part) < len(names):
            continue  # an area or group some benchmark does not cover is not compared
        indices = [v for v in part["index"] if v is not None and v == v]
        notable = int(part["notable"].astype(bool).sum())
        summary.append(
            {
                "area": area,
                "group": group,
                "lowest": min(indices) if indices else None,
                "highest": max(indices) if indices else None,
                "notable_under": notable,
                "benchmarks": len(names),
                "depends_on_choice": 0 < notable < len(names),
            }
        )
    ordered = sorted(rows, key=lambda r: (r["area"], r["group"], names.index(r["benchmark"])))
    return {"benchmarks": names, "rows": ordered, "summary": summary}
