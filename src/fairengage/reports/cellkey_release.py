"""The public report under the cell-key method (FAIRENGAGE_DISCLOSURE_METHOD=cellkey).

docs/disclosure-control.md explains it to readers and analysts.

Every count the public sees is the count of a set of engagements, perturbed with `cellkey.perturb` from
the sum of those engagements' record keys. Counts and key sums both add up, so one pass over the records
gives every cell and every total (a total is a cell of its own: its key is the sum of its records' keys),
and the same set of engagements gets the same published value wherever it appears: in two tables of one
release, or in the trend table of a later release.

Everything shown beside a count (a rate, a share, an index) is worked out again from the published counts,
so that no page contradicts another. Confidence intervals are withheld: worked out from the exact counts
they could be turned back into those counts, and worked out from the changed counts they would mix the
noise into the sampling error without saying so. The `notable` flag (a test) is computed on the exact
data and only kept where the published index also reaches the threshold.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairengage.analytics.counts import CITY, COMPLIANCE_MEASURES, outcome_measures
from fairengage.reports import cellkey, figures
from fairengage.reports.suppression import OFFICERS_NOTE
from fairengage.vocabulary import OUTCOMES, REFERENCE_GROUP, UNKNOWN

METHOD = "cellkey"
PTABLE_VERSION = "fairengage-ptable-1"
# The column label of "every group" in the keyed cells (the city is CITY, as in the analyses).
ALL_GROUPS = "*"
RECORD_COLUMNS = (
    "engagement_id",
    "division",
    "perceived_race",
    "perceived_gender",
    "perceived_age",
    "searched",
    "contraband_found",
    *COMPLIANCE_MEASURES,
    "outcome",
    "neighbourhood",
    "lat",
    "lon",
)
CI_NOTE = (
    "Confidence intervals are not published with cell-key figures: worked out from the exact counts they "
    "could reveal them, and worked out from the changed counts they would understate the uncertainty."
)
METHOD_TEXT = (
    "Figures have small random changes (at most ±3) so that no one can be singled out. Each engagement "
    "carries a fixed random key; a count's change is chosen by a published table from the keys of the "
    "engagements it counts, so the same count always gets the same change, in every table and every "
    "release. A count of 0 stays 0; no count is ever shown as 1 or 2. Rates, shares and indexes are worked "
    "out from the published counts."
)


def ptable_sha256() -> str:
    """The SHA-256 of the perturbation table as published (key range, rows, largest noise)."""
    text = json.dumps(
        {
            "key_range": cellkey.KEY_RANGE,
            "max_noise": cellkey.MAX_NOISE,
            "rows": {
                str(n): {str(v): p for v, p in sorted(row.items())} for n, row in cellkey.PTABLE.items()
            },
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def disclosure_meta(threshold: int) -> dict[str, Any]:
    """What a release says of its method: the ptable's version and hash, the largest and expected error."""
    error = cellkey.expected_error()
    return {
        "method": METHOD,
        "ptable_version": PTABLE_VERSION,
        "ptable_sha256": ptable_sha256(),
        "key_range": cellkey.KEY_RANGE,
        "max_noise": cellkey.MAX_NOISE,
        "expected_absolute_error": round(error["mean_absolute"], 4),
        "expected_error": round(error["mean"], 4),
        "never_shown": [1, 2],
        "rule_set_threshold": threshold,
        "description": METHOD_TEXT,
        "intervals": CI_NOTE,
    }


# --- keyed counts -------------------------------------------------------------------------------------


class KeyedRecords:
    """The engagements of one period with their record keys: perturbed counts of any subset of them."""
    def __init__(self, records: pd.DataFrame, secret: bytes, outcomes: Sequence[str] = OUTCOMES) -> None:
        self.records = records.reset_index(drop=True)
        self.keys = cellkey.record_keys(self.records["engagement_id"].astype(str), secret)
        self.outcomes = tuple(outcomes)
        self.cells = self._cells()

    def _indicators(self) -> pd.DataFrame:
        r = self.records
        searched = r["searched"].fillna(False).astype(bool)
        columns: dict[str, Any] = {
            "engagements": np.ones(len(r), dtype=np.int64),
            "searched": searched,
            "hits": searched & r["contraband_found"].fillna(False).astype(bool),
            **{m: r[m].fillna(False).astype(bool) for m in COMPLIANCE_MEASURES},
            **{m: (r["outcome"] == m).fillna(False) for m in outcome_measures(self.outcomes)},
        }
        return pd.DataFrame({k: np.asarray(v, dtype=np.int64) for k, v in columns.items()})

    def _cells(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(area, group, measure) -> (count, key sum), for divisions, the city and every group total."""
        flags = self._indicators()
        measures = list(flags.columns)
        work = flags.copy()
        for m in measures:
            work[f"{m}#key"] = flags[m] * self.keys
        work["area"] = self.records["division"].astype(str)
        work["group"] = self.records["perceived_race"].astype(str)
        value_columns = [c for c in work.columns if c not in ("area", "group")]
        parts = [
            work.groupby(["area", "group"])[value_columns].sum().reset_index(),
            work.groupby("group")[value_columns].sum().reset_index().assign(area=CITY),
            work.groupby("area")[value_columns].sum().reset_index().assign(group=ALL_GROUPS),
            work[value_columns].sum().to_frame().T.assign(area=CITY, group=ALL_GROUPS),
        ]
        table = pd.concat(parts, ignore_index=True)
        cells: dict[tuple[str, str, str], tuple[int, int]] = {}
        for row in table.to_dict(orient="records"):
            for m in measures:
                cells[(str(row["area"]), str(row["group"]), m)] = (int(row[m]), int(row[f"{m}#key"]))
        return cells

    def count(self, area: str, group: str, measure: str = "engagements") -> int:
        """The published count of a cell (0 where no engagement of it exists)."""
        n, key_sum = self.cells.get((area, group, measure), (0, 0))
        return cellkey.perturb(n, key_sum % cellkey.KEY_RANGE)

    def exact(self, area: str, group: str, measure: str = "engagements") -> int:
        """The exact count of a cell (for the board and for tests)."""
        return self.cells.get((area, group, measure), (0, 0))[0]

    def where(self, mask: pd.Series | np.ndarray) -> int:
        """The published count of the engagements a boolean mask picks."""
        chosen = np.asarray(mask, dtype=bool)
        return cellkey.perturb(int(chosen.sum()), int(self.keys[chosen].sum()) % cellkey.KEY_RANGE)


def load_records(table_path: Path, periods: Sequence[Any], engine: str = "duckdb") -> dict[str, pd.DataFrame]:
    """The record columns the cell keys need, for each period (a `Period`), by its label."""
    # Deferred on purpose: the engines and periods load ibis, which pages reading a release need not.
    from fairengage.analytics import engine as engines
    from fairengage.reports.period import in_period

    backend = engines.connect(engine)
    try:
        full = engines.load_table(backend, table_path)
        columns = [c for c in RECORD_COLUMNS if c in full.columns]
        return {p.label: in_period(full, p).select(*columns).to_pandas() for p in periods}
    finally:
        engines.disconnect(backend)


# --- the public report --------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return a / b


def public_report(
    report: dict[str, Any],
    records: Mapping[str, pd.DataFrame],
    *,
    secret: bytes,
    threshold: int,
) -> dict[str, Any]:
    """The public report.json under the cell-key method: every count perturbed, every rate from them.

    `records` holds the engagements of the report's period and of each earlier period in its trend, by
    label. The exact report is not changed.
    """
    meta = report["meta"]
    label = (meta.get("report_period") or {}).get("label") or report["trends"]["periods"][-1]
    outcomes = _outcomes_of(report)
    keyed = KeyedRecords(records[label], secret, outcomes)
    thresholds = meta.get("thresholds") or {}
    dispro_threshold = thresholds.get("notable_disproportionality", float("inf"))
    disparity_threshold = thresholds.get("notable_disparity", dispro_threshold)
    reference = meta.get("reference_group", REFERENCE_GROUP)

    public: dict[str, Any] = {"meta": copy.deepcopy(meta)}
    public["disproportionality"] = [
        _dispro_row(row, keyed, dispro_threshold) for row in report.get("disproportionality") or []
    ]
    public["disparity"] = _disparity_rows(
        report.get("disparity") or [], keyed, reference, disparity_threshold
    )
    public["outcome_test"] = [_outcome_row(row, keyed) for row in report.get("outcome_test") or []]
    public["compliance"] = [_compliance_row(row, keyed) for row in report.get("compliance") or []]
    public["veil_of_darkness"] = _veil(report.get("veil_of_darkness"), threshold)
    public["officers"] = None

    annual = report["annual"]
    r = keyed.records
    attempts = keyed.count(CITY, ALL_GROUPS)
    collected = keyed.count(CITY, ALL_GROUPS, "identifying_info_collected")
    not_collected = keyed.where(~r["identifying_info_collected"].fillna(False).astype(bool))
    by_age = {key: keyed.where(mask) for key, mask in _age_masks(r).items()}
    genders = r["perceived_gender"].astype(str)
    by_gender = {g: keyed.where(genders == g) for g in annual["by_gender"]}
    public["annual"] = {
        "attempts": attempts,
        "collected": collected,
        "not_collected": not_collected,
        "by_age": by_age,
        "by_gender": by_gender,
        "by_race": {g: keyed.count(CITY, g) for g in annual["by_race"]},
        "by_division": {area: keyed.count(area, ALL_GROUPS) for area in annual["by_division"]},
        "by_outcome": None,
    }
    searched = r["searched"].fillna(False).astype(bool)
    masks = {
        "neighbourhood": r["neighbourhood"].isna(),
        "location": r["lat"].isna() | r["lon"].isna(),
        "contraband_found": searched & r["contraband_found"].isna(),
    }
    same_as = {
        "perceived_race": public["annual"]["by_race"].get(UNKNOWN, keyed.count(CITY, UNKNOWN)),
        "perceived_gender": by_gender.get(figures.GENDER_UNKNOWN),
        "perceived_age": by_age.get(figures.AGE_NOT_RECORDED),
    }
    public["data_quality"] = {
        "rows": attempts,
        "fields": [
            {**f, "count": same_as[f["field"]] if f["field"] in same_as else keyed.where(masks[f["field"]])}
            if f["field"] in same_as or f["field"] in masks
            else {**f, "count": None}
            for f in report["data_quality"]["fields"]
        ],
    }
    public["trends"] = _trends(report["trends"], records, secret, outcomes, public, dispro_threshold)
    public["governance"] = _governance(report.get("governance"), threshold, public["annual"])
    public_meta = public["meta"]
    public_meta["rows"] = attempts
    # The rule set's threshold still governs the counts that carry no record key (governance).
    public_meta["suppression_threshold"] = threshold
    public_meta["disclosure"] = disclosure_meta(threshold)
    # Marked as already protected, at the rule set's threshold, so open data writes it as it is.
    public_meta["suppression"] = {
        "rule": "CELL-KEY",
        "threshold": threshold,
        "method": METHOD_TEXT,
        "officers": OFFICERS_NOTE,
    }
    return public


def _outcomes_of(report: dict[str, Any]) -> tuple[str, ...]:
    return figures.report_outcomes(report)


def _shown(row: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {**row, **values, "suppressed": False, "suppressed_reason": None}


def _dispro_row(row: dict[str, Any], keyed: KeyedRecords, threshold: float) -> dict[str, Any]:
    area, group = row["area"], row["group"]
    count = keyed.count(area, group)
    # The denominator leaves Unknown out: its own cell, the known groups' engagements of the area.
    total = _known_total(keyed, area)
    share = _ratio(row.get("population"), row.get("population_total"))
    index = _ratio(_ratio(count, total), share) if total else None
    notable = bool(row.get("notable")) and index is not None and index >= threshold
    return _shown(row, count=count, total=total, index=index, ci_low=None, ci_high=None, notable=notable)


def _known_total(keyed: KeyedRecords, area: str) -> int:
    """Engagements of an area whose group is known: a cell of its own (Unknown left out)."""
    r = keyed.records
    mask = r["perceived_race"].astype(str) != UNKNOWN
    if area != CITY:
        mask &= r["division"].astype(str) == area
    return keyed.where(mask)


def _disparity_rows(
    rows: list[dict[str, Any]], keyed: KeyedRecords, reference: str, threshold: float
) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        area, group, measure = row["area"], row["group"], row["measure"]
        count, total = keyed.count(area, group, measure), keyed.count(area, group)
        rate = _ratio(count, total)
        ref_total = keyed.count(area, reference)
        reference_rate = _ratio(keyed.count(area, reference, measure), ref_total) if ref_total else None
        if group == reference:
            index = 1.0 if reference_rate else None
        elif reference_rate:
            index = _ratio(rate, reference_rate)
        else:
            index = None
        notable = bool(row.get("notable")) and index is not None and index >= threshold
        out.append(
            _shown(
                row,
                count=count,
                total=total,
                rate=rate,
                reference_rate=reference_rate,
                index=index,
                ci_low=None,
                ci_high=None,
                notable=notable,
            )
        )
    return out


def _outcome_row(row: dict[str, Any], keyed: KeyedRecords) -> dict[str, Any]:
    searches = keyed.count(row["area"], row["group"], "searched")
    hits = keyed.count(row["area"], row["group"], "hits")
    # A perturbed count of hits can pass its perturbed searches by a little: the rate is capped at 1.
    rate = min(hits / searches, 1.0) if searches else None
    return _shown(row, searches=searches, hits=hits, hit_rate=rate, ci_low=None, ci_high=None)


def _compliance_row(row: dict[str, Any], keyed: KeyedRecords) -> dict[str, Any]:
    count = keyed.count(row["area"], ALL_GROUPS, row["measure"])
    total = keyed.count(row["area"], ALL_GROUPS)
    rate = min(count / total, 1.0) if total else None
    return _shown(row, count=count, total=total, rate=rate)


def _veil(veil: Any, threshold: int) -> Any:
    """The veil-of-darkness test, computed on the exact data; its counts of stops are not published."""
    if not isinstance(veil, dict):
        return veil
    public = dict(veil)
    n = veil.get("n")
    if isinstance(n, int) and n < threshold:
        for key, value in list(public.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                public[key] = None
        public["suppressed"], public["suppressed_reason"] = True, "small"
    else:
        public["suppressed"] = False
    # Counts of a subset no key table covers (stops in the clock-time window): not published.
    public["n"] = None
    public["dropped_ambiguous"] = None
    # The robust specifications' rows (veil_robust.py): their counts are as unpublishable, and a row
    # resting on fewer stops than the threshold is withheld as the whole test is.
    for section in ("by_group", "by_division", "sensitivity"):
        if isinstance(veil.get(section), list):
            public[section] = [_veil_row(row, threshold) for row in veil[section]]
    public["computed_on"] = "exact data"
    return public


def _veil_row(row: Any, threshold: int) -> Any:
    if not isinstance(row, dict):
        return row
    shown = dict(row)
    n = row.get("n")
    if isinstance(n, int) and n < threshold:
        for key, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "spline_df":
                shown[key] = None
        shown["suppressed"] = True
    shown["n"] = shown["members"] = None
    return shown


def _age_masks(records: pd.DataFrame) -> dict[str, pd.Series]:
    age = pd.to_numeric(records["perceived_age"], errors="coerce")
    masks = {}
    for label, low, high in figures.AGE_GROUPS:
        mask = age >= low
        if high is not None:
            mask &= age <= high
        masks[label] = mask.fillna(False)
    masks[figures.AGE_NOT_RECORDED] = age.isna()
    return masks


def trend_cells(
    trend: dict[str, Any], records: Mapping[str, pd.DataFrame], secret: bytes, outcomes: Sequence[str]
) -> dict[str, KeyedRecords]:
    """The keyed records of each period of a trend."""
    return {p: KeyedRecords(records[p], secret, outcomes) for p in trend["periods"] if p in records}


def _trends(
    trend: dict[str, Any],
    records: Mapping[str, pd.DataFrame],
    secret: bytes,
    outcomes: Sequence[str],
    public: dict[str, Any],
    threshold: float,
) -> dict[str, Any]:
    keyed = trend_cells(trend, records, secret, outcomes)
    result: dict[str, Any] = {"periods": list(trend["periods"]), "attempts": [], "disproportionality": []}
    for label, rows in zip(trend["periods"][:-1], trend["disproportionality"][:-1], strict=True):
        cells = keyed[label]
        result["attempts"].append(cells.count(CITY, ALL_GROUPS))
        result["disproportionality"].append([_dispro_row(row, cells, threshold) for row in rows])
    result["attempts"].append(public["annual"]["attempts"])
    result["disproportionality"].append([r for r in public["disproportionality"] if r["area"] == CITY])
    return result


def trend_table(
    trend: dict[str, Any], records: Mapping[str, pd.DataFrame], secret: bytes, outcomes: Sequence[str]
) -> pd.DataFrame | None:
    """Open data's `trends_by_period_and_group`, long, every count and total perturbed as its own cell."""
    earlier = figures.earlier_counts(trend)
    if not len(earlier):
        return None
    frames = {p: records[p] for p in earlier.index}
    keyed_all = KeyedRecords(
        pd.concat([f.assign(_period=p) for p, f in frames.items()], ignore_index=True), secret, outcomes
    )
    periods = keyed_all.records["_period"].astype(str)
    groups = keyed_all.records["perceived_race"].astype(str)
    rows = []
    for p in [*earlier.index, CITY]:
        in_p = periods == p if p != CITY else pd.Series(True, index=periods.index)
        for g in [*earlier.columns, CITY]:
            mask = in_p & (groups == g) if g != CITY else in_p
            rows.append({"period": str(p), "perceived_race": str(g), "count": keyed_all.where(mask)})
    frame = pd.DataFrame(rows)
    frame["count"] = frame["count"].astype("Int64")
    frame["count_suppressed"] = False
    frame["count_suppressed_reason"] = pd.Series([None] * len(frame), dtype="string")
    return frame.astype({"period": "string", "perceived_race": "string", "count_suppressed": "boolean"})


def _governance(summary: Any, threshold: int, annual: dict[str, Any]) -> Any:
    """The governance summary: its engagement counts as the report publishes them, the rest suppressed.

    Reviews, complaints and reads are not engagements and carry no record key: they keep the threshold
    rule. The attempts and the attempts with information collected are the report's own cells.
    """
    public = figures.public_governance(summary, threshold)
    if public is None:
        return None
    public["attempts"] = annual["attempts"]
    public["attempts_collected"] = annual["collected"]
    return public


# --- the check the approval gate rests on ---------------------------------------------------------------


COUNT_KEYS = ("count", "total", "searches", "hits")


def published_counts(public: dict[str, Any]) -> list[tuple[str, int]]:
    """Every count of a public report: its tables' counts, annual figures, data quality and trend."""
    found: list[tuple[str, int]] = []
    for section in ("disproportionality", "disparity", "outcome_test", "compliance"):
        for i, row in enumerate(public.get(section) or []):
            found += [
                (f"report.public.json {section}[{i}].{k}", row[k])
                for k in COUNT_KEYS
                if _is_count(row.get(k))
            ]
    annual = public.get("annual") or {}
    for name, value in annual.items():
        items = value.items() if isinstance(value, dict) else [("", value)]
        found += [(f"report.public.json annual.{name} {k}".strip(), v) for k, v in items if _is_count(v)]
    for field in (public.get("data_quality") or {}).get("fields") or []:
        if _is_count(field.get("count")):
            found.append((f"report.public.json data_quality {field.get('field')}", field["count"]))
    trends = public.get("trends") or {}
    found += [
        (f"report.public.json trends.attempts[{i}]", v)
        for i, v in enumerate(trends.get("attempts") or [])
        if _is_count(v)
    ]
    for i, rows in enumerate(trends.get("disproportionality") or []):
        for row in rows:
            found += [
                (f"report.public.json trends[{i}] {row.get('group')}.{k}", row[k])
                for k in ("count", "total")
                if _is_count(row.get(k))
            ]
    return found


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _open_data_counts(folder: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path)
        for column in COUNT_KEYS:
            if column in frame.columns:
                found += [
                    (f"open-data/{path.name} row {i + 2} {column}", int(v))
                    for i, v in frame[column].dropna().items()
                ]
    return found


def check_release(folder: Path) -> tuple[bool, str, int]:
    """Whether a release's public files were built with the cell-key method: (ok, summary, figures checked).

    The method is stated with this software's ptable, and no published count is 1 or 2 (the ptable never
    gives one). Counts are read from report.public.json and every open-data CSV's count columns.
    """
    report_path = Path(folder) / "report.public.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return False, f"report.public.json cannot be read: {exc}", 0
    stated = (report.get("meta") or {}).get("disclosure") or {}
    if stated.get("method") != METHOD or stated.get("ptable_sha256") != ptable_sha256():
        return False, "the release does not state the cell-key method with this service's ptable", 0
    counts = published_counts(report) + _open_data_counts(Path(folder) / "open-data")
    values = [value for _, value in counts]
    small = [(where, value) for where, value in counts if value in (1, 2)]
    if small:
        return False, f"{len(small)} published counts are 1 or 2 (first: {small[0][0]})", len(values)
    return True, f"cell-key method: {len(values)} published counts checked, none is 1 or 2", len(values)
