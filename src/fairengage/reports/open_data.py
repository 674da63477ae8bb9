"""Open data: the public tables as CSV and Parquet, a data dictionary, a version and checksums."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from fairengage.analytics.counts import CITY
from fairengage.analytics.report import rounded
from fairengage.reports.suppression import TABLE_SECTIONS, suppress_report, suppress_table

DICTIONARY = "data_dictionary.csv"
MANIFEST = "manifest.json"
VERSION = "VERSION"
PUBLIC_REPORT = "report.public.json"
# Tables whose rows are periods earlier releases published: suppressed with `settled_rows` (suppression.py),
# as the report's trend chart is, so the table and the chart withhold the same cells.
TREND_TABLE = "trends_by_period_and_group"
SETTLED_ROWS = frozenset({TREND_TABLE})
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _counted(name: str) -> list[tuple[str, str]]:
    """A count and how it may be withheld: the figure, whether it is withheld, and why."""
    return [(name, "integer"), (f"{name}_suppressed", "boolean"), (f"{name}_suppressed_reason", "string")]


_INTERVAL = [("ci_low", "double"), ("ci_high", "double")]
_ROW_WITHHELD = [("suppressed", "boolean"), ("suppressed_reason", "string")]
# Columns of the report tables, in the order written, with type and meaning (docs/architecture.md).
_REPORT_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "disproportionality": [
        ("area", "string"),
        ("group", "string"),
        *_counted("count"),
        *_counted("total"),
        ("population", "integer"),
        ("population_total", "integer"),
        ("index", "double"),
        *_INTERVAL,
        ("notable", "boolean"),
        *_ROW_WITHHELD,
    ],
    "disparity": [
        ("area", "string"),
        ("group", "string"),
        ("measure", "string"),
        *_counted("count"),
        *_counted("total"),
        ("rate", "double"),
        ("reference_rate", "double"),
        ("index", "double"),
        *_INTERVAL,
        ("notable", "boolean"),
        *_ROW_WITHHELD,
    ],
    "outcome_test": [
        ("area", "string"),
        ("group", "string"),
        *_counted("searches"),
        *_counted("hits"),
        ("hit_rate", "double"),
        *_INTERVAL,
        *_ROW_WITHHELD,
    ],
    "compliance": [
        ("area", "string"),
        ("measure", "string"),
        *_counted("count"),
        *_counted("total"),
        ("rate", "double"),
        *_ROW_WITHHELD,
    ],
}

_EMPTY = "Empty when suppressed."
_MEANINGS: dict[tuple[str, str], str] = {
    ("*", "area"): f"Police division code, or {CITY} for the whole service.",
    ("*", "group"): "Perceived race, as the officer perceived it (Ontario Anti-Racism Data Standards).",
    ("*", "measure"): "What is counted.",
    ("*", "ci_low"): "Lower end of the 95% confidence interval. " + _EMPTY,
    ("*", "ci_high"): "Upper end of the 95% confidence interval. " + _EMPTY,
    ("*", "notable"): "True when the index reaches the rule set's notable threshold. " + _EMPTY,
    ("*", "suppressed"): "True when this row's count is withheld (rule SMALL-CELLS): its figures are empty.",
    ("*", "suppressed_reason"): (
        "Why the row is withheld: small (a count in it is below the threshold) or protects (every count in "
        "it is at least the threshold; it is hidden so that a smaller figure cannot be worked out). "
        "Empty when the row is shown."
    ),
    ("disproportionality", "count"): "Engagements of people of this group in this area. " + _EMPTY,
    ("disproportionality", "total"): "Engagements in this area, Unknown race left out. " + _EMPTY,
    ("disproportionality", "population"): "Census population of this group in this area (the benchmark).",
    ("disproportionality", "population_total"): "Census population of this area over all groups.",
    ("disproportionality", "index"): (
        "The group's share of engagements divided by its share of the population; 1 means in proportion. "
        + _EMPTY
    ),
    ("disparity", "measure"): "The outcome counted: searched, or an outcome such as arrest or ticket.",
    ("disparity", "count"): "Engagements of this group in this area with this outcome. " + _EMPTY,
    ("disparity", "total"): "Engagements of this group in this area. " + _EMPTY,
    ("disparity", "rate"): "count divided by total. " + _EMPTY,
    ("disparity", "reference_rate"): "The same rate for the reference group (White) in this area. " + _EMPTY,
    ("disparity", "index"): "rate divided by reference_rate; 1 means the same as the reference. " + _EMPTY,
    ("outcome_test", "searches"): "Searches of people of this group in this area. " + _EMPTY,
    ("outcome_test", "hits"): "Searches that found contraband. " + _EMPTY,
    ("outcome_test", "hit_rate"): "hits divided by searches. " + _EMPTY,
    ("compliance", "measure"): (
        "The duty checked: informed, receipt_offered, compliant (every rule kept), "
        "or identifying_info_collected."
    ),
    ("compliance", "count"): "Engagements in this area where the measure was met. " + _EMPTY,
    ("compliance", "total"): "Engagements in this area. " + _EMPTY,
    ("compliance", "rate"): "count divided by total. " + _EMPTY,
}
_DICTIONARY_COLUMNS = [
    ("file", "string", "The file described."),
    ("column", "string", "A column of that file."),
    ("type", "string", "string, integer, double or boolean."),
    ("meaning", "string", "What the column holds."),
    ("categories", "string", "The values a label column takes, separated by '; '; empty otherwise."),
]


def open_data(
    report: dict, tables: dict[str, pd.DataFrame], *, threshold: int, out_dir: Path, version: str
) -> list[Path]:
    """Write the suppressed tables (CSV, Parquet), report.public.json, data dictionary, VERSION, manifest.

    `report` is an exact report.json (or one `suppress_report` already made public at this threshold);
    its four row tables are written from its public version. Each of `tables` is a 2-D count table as
    `suppress_table` takes (index = row labels, columns = column labels), or a long table of two label
    columns and a `count` column; it is written long, with totals labelled ALL.
    """
    if not version.strip() or "\n" in version:
        raise ValueError("version must be one non-empty line")
    for name in tables:
        if not _SAFE_NAME.match(name) or name in TABLE_SECTIONS:
            raise ValueError(f"table name {name!r}: lower-case letters, digits, - or _; not a report section")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    public = suppress_report(report, threshold=threshold)
    frames: dict[str, pd.DataFrame] = {}
    meanings: dict[tuple[str, str], str] = {}
    for section in TABLE_SECTIONS:
        if public.get(section):
            frames[section] = _section_frame(section, public[section])
    for name, table in tables.items():
        frame, described = _count_frame(name, table, threshold)
        frames[name] = frame
        meanings.update(described)

    written: list[Path] = []
    dictionary: list[dict[str, str]] = []
    for name, frame in frames.items():
        for path in (out_dir / f"{name}.csv", out_dir / f"{name}.parquet"):
            _write(frame, path)
            written.append(path)
            dictionary += _describe(name, path.name, frame, meanings)
    dictionary += [
        {"file": DICTIONARY, "column": column, "type": kind, "meaning": meaning, "categories": ""}
        for column, kind, meaning in _DICTIONARY_COLUMNS
    ]
    path = out_dir / DICTIONARY
    pd.DataFrame(dictionary, columns=[c for c, _, _ in _DICTIONARY_COLUMNS]).to_csv(path, index=False)
    written.append(path)
    path = out_dir / PUBLIC_REPORT
    path.write_text(
        json.dumps(rounded(public), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    written.append(path)
    path = out_dir / VERSION
    path.write_text(version.strip() + "\n", encoding="utf-8")
    written.append(path)
    meta = public.get("meta") or {}
    manifest = {
        "version": version.strip(),
        "period": meta.get("period"),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "threshold": threshold,
        "rule": (meta.get("suppression") or {}).get("rule") or "SMALL-CELLS",
        **({"disclosure": meta["disclosure"]} if meta.get("disclosure") else {}),
        "ruleset": meta.get("ruleset"),
        "files": [
            {"name": p.name, "bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
            for p in written
        ],
    }
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(path)
    return written


def refresh_manifest(out_dir: Path) -> None:
    """Recompute the manifest's sizes and checksums after files were rewritten (reports/disclosure.py)."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for entry in manifest.get("files") or []:
        file = Path(out_dir) / entry["name"]
        if file.is_file():
            entry["bytes"] = file.stat().st_size
            entry["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def section_frame(section: str, public: list[dict]) -> pd.DataFrame:
    """A public report section as written to open data (see `_section_frame`)."""
    return _section_frame(section, public)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write one open-data frame as CSV or Parquet, by the path's suffix."""
    _write(frame, path)


def _section_frame(section: str, public: list[dict]) -> pd.DataFrame:
    """A public report section as a typed frame, with `<count>_suppressed` beside each count.

    report.json always carries its counts, so a count that is null in the public version was withheld.
    """
    columns = _REPORT_COLUMNS[section]
    records = [
        {
            column: (row.get(column.removesuffix("_suppressed")) is None)
            if column.endswith("_suppressed") and column != "suppressed"
            else row.get(column)
            for column, _ in columns
        }
        for row in public
    ]
    for record in records:
        # A report suppressed before reasons existed says nothing of them; never guess one.
        for column, _ in columns:
            if column.endswith("_suppressed_reason") and not record.get(column.removesuffix("_reason")):
                record[column] = None
    frame = pd.DataFrame.from_records(records, columns=[column for column, _ in columns])
    return frame.astype({column: _DTYPES[kind] for column, kind in columns})


_DTYPES = {"string": "string", "integer": "Int64", "double": "Float64", "boolean": "boolean"}


def _ready_frame(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    labels = [c for c in frame.columns if c not in ("count", "count_suppressed", "count_suppressed_reason")]
    meanings = {
        (name, label): f"{label}: the row or column of the table; {CITY} is the total over all of them."
        for label in labels
    } | {
        (name, "count"): (
            "The count for this row and column, with a small random change (at most 3 either way; never "
            "1 or 2) chosen from the engagements it counts. Each total has its own change, so totals need "
            "not equal the sum of their cells."
        ),
        (name, "count_suppressed"): "True when the count is withheld (never, under the cell-key method).",
        (name, "count_suppressed_reason"): "Why the count is withheld. Empty when shown.",
    }
    return frame.reset_index(drop=True), meanings


def _count_frame(
    name: str, table: pd.DataFrame, threshold: int
) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    """A caller's count table, suppressed and written long, and the meanings of its columns.

    A long table that already has `count_suppressed` was protected by its maker (the cell-key method,
    reports/cellkey_release.py): it is written as it is.
    """
    if "count_suppressed" in table.columns:
        return _ready_frame(name, table)
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    labels = [c for c in table.columns if c != "count"]
    if "count" in table.columns and len(labels) == 2 and not set(labels) <= set(numeric):
        wide = table.pivot_table(
            index=labels[0], columns=labels[1], values="count", aggfunc="sum", fill_value=0, observed=True
        )
        row_name, column_name = str(labels[0]), str(labels[1])
    elif len(numeric) == len(table.columns):
        wide = table
        row_name, column_name = str(table.index.name or "row"), str(table.columns.name or "column")
    else:
        raise ValueError(
            f"table {name!r} must be a 2-D count table or have two label columns and a 'count' column"
        )
    if row_name == column_name or {row_name, column_name} & {"count", "count_suppressed"}:
        raise ValueError(f"table {name!r} needs distinct label names other than count")
    labels_used = {str(v) for v in wide.index} | {str(v) for v in wide.columns}
    if CITY in labels_used:
        raise ValueError(f"table {name!r} uses the label {CITY!r}, which open data keeps for totals")
    settled = name in SETTLED_ROWS
    frame = suppress_table(wide, threshold=threshold, settled_rows=settled).to_long(
        row_name=row_name, column_name=column_name
    )
    frame = frame.astype(
        {row_name: "string", column_name: "string", "count_suppressed": "boolean"}
        | {"count_suppressed_reason": "string"}
    )
    meanings = {
        (name, row_name): f"{row_name}: the row of the table; {CITY} is the total over all rows.",
        (name, column_name): f"{column_name}: the column of the table; {CITY} is the total over all columns.",
        (name, "count"): "The count for this row and column. " + _EMPTY,
        (name, "count_suppressed"): "True when the count is withheld (rule SMALL-CELLS).",
        (name, "count_suppressed_reason"): (
            "Why the count is withheld: small (it is below the threshold) or protects (it is at least the "
            "threshold, hidden so that a smaller figure cannot be worked out). Empty when shown."
        ),
    }
    return frame, meanings


def _write(frame: pd.DataFrame, path: Path) -> None:
    """CSV with empty suppressed cells and lower-case booleans; Parquet with nulls."""
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
        return
    text = frame.copy()
    for column in text.columns:
        if text[column].dtype == "boolean":
            text[column] = text[column].map({True: "true", False: "false"}, na_action="ignore")
    text.to_csv(path, index=False, na_rep="")


def _describe(
    name: str, file_name: str, frame: pd.DataFrame, meanings: dict[tuple[str, str], str]
) -> list[dict[str, str]]:
    """The dictionary lines of one file: every column with its type, meaning and categories."""
    lines = []
    for column in frame.columns:
        meaning = meanings.get((name, column)) or _MEANINGS.get((name, column), _MEANINGS.get(("*", column)))
        if meaning is None and column.endswith("_suppressed"):
            meaning = f"True when {column.removesuffix('_suppressed')} is withheld (rule SMALL-CELLS)."
        if meaning is None and column.endswith("_suppressed_reason"):
            meaning = (
                f"Why {column.removesuffix('_suppressed_reason')} is withheld: small (it is below the "
                "threshold) or protects (it is at least the threshold, hidden so that a smaller figure "
                "cannot be worked out). Empty when shown."
            )
        kind = _kind(frame[column])
        categories = ""
        if kind == "string":
            categories = "; ".join(sorted({str(v) for v in frame[column].dropna()}))
        elif kind == "boolean":
            categories = "true; false"
        lines.append({"file": file_name, "column": column, "type": kind, "meaning": meaning or ""})
        lines[-1]["categories"] = categories
    return lines


def _kind(series: pd.Series) -> str:
    """The dictionary's type word for a column."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(series.dtype):
        return "double"
    return "string"
