"""Charts that only the board report draws: the robust veil of darkness and the year-over-year change.

They take a section of report.json and a `Reader`, so that docs/images/analyst/make_figures.py draws
docs/analyst.md's figures with the same code the board sees."""

from __future__ import annotations

from typing import Any

from fairengage.reports import charts
from fairengage.reports.reading import Reader


def veil_chart(veil: dict[str, Any], reader: Reader) -> charts.Chart | None:
    """Each group against the reference group, dark against light, in both windows (odds ratios, 95% CIs)."""
    found = veil.get("by_group") or []
    rows = [
        {
            "label": reader._(
                "%(group)s, %(window)s", group=r["group"], window=reader.veil_window(r["specification"])
            ),
            "odds_ratio": r.get("odds_ratio"),
            "ci_low": r.get("ci_low"),
            "ci_high": r.get("ci_high"),
            "suppressed": False,
            "note": None if r.get("odds_ratio") is not None else reader._("no estimate"),
        }
        for r in found
    ]
    if not rows:
        return None
    return charts.index_chart(
        rows,
        title=reader._(
            "Veil of darkness: odds of each group against %(reference)s people, dark against light "
            "(1 = no difference)",
            reference=veil.get("reference") or found[0]["reference"],
        ),
        value_key="odds_ratio",
        label_key="label",
        lang=reader.lang,
        axis_title=reader._("Odds ratio, dark against light"),
    )


def change_chart(change: dict[str, Any], reader: Reader) -> charts.Chart | None:
    """Each group's share of engagements against the year before, in percentage points (95% CIs)."""

    def points(value: float | None) -> float | None:
        return None if value is None else value * 100

    rows = [
        {
            "label": reader._(
                "%(group)s, %(year)s against %(previous)s",
                group=r["group"],
                year=r["year"],
                previous=r["previous_year"],
            ),
            "percentage_points": points(r.get("difference")),
            "ci_low": points(r.get("ci_low")),
            "ci_high": points(r.get("ci_high")),
            "suppressed": False,
        }
        for r in change.get("year_over_year") or []
        if r.get("measure") == "share"
    ]
    if not rows:
        return None
    return charts.index_chart(
        rows,
        title=reader._(
            "Change in each group's share of engagements from the year before, in percentage points"
        ),
        value_key="percentage_points",
        label_key="label",
        reference=0.0,
        lang=reader.lang,
        axis_title=reader._("Percentage points"),
    )
