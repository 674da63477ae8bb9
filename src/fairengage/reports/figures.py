"""Figures that the reports and their cell-key release both need: the age groups, the outcomes of the
period's rule set, the earlier periods' counts and the governance summary as published. They sit below
builder.py and cellkey_release.py so that neither has to import the other."""

from __future__ import annotations

from typing import Any

import pandas as pd

from fairengage.policy import PolicyError, get_ruleset
from fairengage.reports import suppression
from fairengage.vocabulary import OUTCOMES, PERCEIVED_RACES, UNKNOWN

# Perceived age in the groups the annual report tables use; `None` as the upper bound means "and over".
AGE_GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("under 18", 0, 17),
    ("18–24", 18, 24),
    ("25–34", 25, 34),
    ("35–44", 35, 44),
    ("45–54", 45, 54),
    ("55–64", 55, 64),
    ("65 and over", 65, None),
)
AGE_NOT_RECORDED = "not recorded"
GENDER_UNKNOWN = "unknown"
# The data-quality table's fields, whose gaps or "Unknown" answers limit what the report can say:
# (field, what is wrong with the records it counts).
QUALITY_FIELDS = (
    ("perceived_race", "recorded as Unknown"),
    ("perceived_gender", "recorded as unknown"),
    ("perceived_age", "missing"),
    ("neighbourhood", "missing"),
    ("location", "missing (no latitude or longitude)"),
    ("contraband_found", "missing where a search was made"),
)
# A data-quality count that is an annual table's count: field -> (annual table, category). The public
# report shows the one figure in both places, and the disclosure check reads them as one figure.
QUALITY_SAME_AS = {
    "perceived_race": ("by_race", UNKNOWN),
    "perceived_gender": ("by_gender", GENDER_UNKNOWN),
    "perceived_age": ("by_age", AGE_NOT_RECORDED),
}


def quality_twins(annual: dict[str, Any]) -> dict[str, Any]:
    """Each data-quality field's count as the annual table gives it (None: withheld, or no such entry)."""
    return {field: (annual.get(table) or {}).get(cat) for field, (table, cat) in QUALITY_SAME_AS.items()}


def report_ruleset(report: dict[str, Any]) -> Any:
    ruleset = (report.get("meta") or {}).get("ruleset") or {}
    try:
        return get_ruleset(ruleset["id"]) if ruleset.get("id") else None
    except PolicyError:
        return None


def report_outcomes(report: dict[str, Any]) -> tuple[str, ...]:
    ruleset = report_ruleset(report)
    return ruleset.codes("outcomes") if ruleset else OUTCOMES


def earlier_counts(trend: dict[str, Any]) -> pd.DataFrame:
    """Engagements by period and group for the periods before the reported one (the last in `trend`)."""
    groups = [g for g in PERCEIVED_RACES if any(g in c for c in trend["counts"])]
    frame = pd.DataFrame(trend["counts"][:-1], index=trend["periods"][:-1], columns=groups).fillna(0)
    frame.index.name, frame.columns.name = "period", "perceived_race"
    return frame.astype("int64")


def at_least(value: int | None, threshold: int) -> int | None:
    """A lone count: published when it reaches the threshold (docs/rule-sets.md SMALL-CELLS), else None."""
    return value if value is not None and value >= threshold else None


def plain_int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def suppressed_row(counts: dict[str, int], threshold: int) -> tuple[dict[str, int | None], int | None]:
    """One row of counts (categories adding to a published total), suppressed with complements."""
    if not counts:
        return {}, None
    frame = pd.DataFrame([counts], index=["all"]).astype("int64")
    result = suppression.suppress_table(frame, threshold=threshold)
    values = {key: plain_int(result.values.iloc[0][key]) for key in counts}
    return values, plain_int(result.row_totals.iloc[0])


def _people_estimate(summary: dict[str, Any], threshold: int) -> int | None:
    """The people estimate, withheld when attempts minus it (the repeat engagements) is a small count.

    The difference is itself a count of people, those engaged more than once, so publishing both figures
    publishes it (issue 10); the estimate goes, the attempts, which other tables repeat, stay.
    """
    estimate = at_least((summary.get("people") or {}).get("estimate"), threshold)
    attempts = summary.get("attempts")
    if estimate is None or not isinstance(attempts, int):
        return estimate
    return estimate if attempts - estimate >= threshold else None


def public_governance(summary: dict[str, Any] | None, threshold: int) -> dict[str, Any] | None:
    """The governance summary with every count under the threshold withheld (with complements)."""
    if summary is None:
        return None
    people = summary.get("people") or {}
    reviews = summary.get("reviews") or {}
    review_counts = {
        k: reviews.get(k, 0)
        for k in ("decided_on_time", "decided_late", "pending_on_time", "pending_overdue")
    }
    review_values, review_total = suppressed_row(review_counts, threshold)
    reads = summary.get("restricted_reads") or {}
    read_values, read_total = suppressed_row(
        {"current": reads.get("current", 0), "legacy": reads.get("legacy", 0)}, threshold
    )
    complaints = summary.get("complaints") or {}
    return {
        "kind": summary.get("kind"),
        "period": summary.get("period"),
        "as_of": summary.get("as_of"),
        "attempts": at_least(summary.get("attempts"), threshold),
        "attempts_collected": at_least(summary.get("attempts_collected"), threshold),
        "people": {"estimate": _people_estimate(summary, threshold), "method": people.get("method")},
        "exceptions": {
            kind: suppressed_row(grounds, threshold)[0]
            for kind, grounds in (summary.get("exceptions") or {}).items()
        },
        "reviews": {**review_values, "records": review_total},
        "non_compliant_findings": at_least(summary.get("non_compliant_findings"), threshold),
        "restricted_reads": {**read_values, "granted": read_total},
        "detailed_reviews": [
            {
                **{k: s.get(k) for k in ("year", "drawn_on", "size", "population")},
                **suppressed_row(
                    {k: s.get(k, 0) for k in ("compliant", "non_compliant", "not_reviewed")}, threshold
                )[0],
            }
            for s in summary.get("detailed_reviews") or []
        ],
        "complaints": {
            "received": suppressed_row(complaints.get("received") or {}, threshold)[0],
            "closed": suppressed_row(complaints.get("closed") or {}, threshold)[0],
        },
    }


# --- open data --------------------------------------------------------------------------------------
