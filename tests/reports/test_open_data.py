"""Open data: CSV and Parquet per table, a data dictionary, a version and a manifest of checksums."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from fairengage.analytics.report import rounded
from fairengage.reports.open_data import open_data
from fairengage.reports.suppression import suppress_report

THRESHOLD = 10


def report_rows() -> dict[str, Any]:
    """A small exact report.json: two divisions, two groups plus Unknown, with small cells in D2."""
    people = {
        ("D1", "Black"): 40,
        ("D1", "White"): 60,
        ("D1", "Unknown"): 12,
        ("D2", "Black"): 3,
        ("D2", "White"): 30,
        ("D2", "Unknown"): 11,
    }
    searched = {
        ("D1", "Black"): 12,
        ("D1", "White"): 15,
        ("D1", "Unknown"): 2,
        ("D2", "Black"): 1,
        ("D2", "White"): 11,
        ("D2", "Unknown"): 0,
    }
    areas, groups = ["D1", "D2"], ["Black", "White", "Unknown"]
    # Records that broke a rule: D1's 2 are too few to show, even as "all but 2 were compliant".
    broken = {"D1": 2, "D2": 30, "ALL": 32}
    for g in groups:
        people[("ALL", g)] = sum(people[(a, g)] for a in areas)
        searched[("ALL", g)] = sum(searched[(a, g)] for a in areas)
    dispro, disparity, outcome, compliance = [], [], [], []
    for area in ["ALL", *areas]:
        known = people[(area, "Black")] + people[(area, "White")]
        everyone = known + people[(area, "Unknown")]
        for group in groups:
            count = people[(area, group)]
            if group != "Unknown":
                dispro.append(
                    {
                        "area": area,
                        "group": group,
                        "count": count,
                        "total": known,
                        "population": 500,
                        "population_total": 1000,
                        "index": 2 * count / known,
                        "ci_low": 0.5,
                        "ci_high": 1.5,
                        "notable": False,
                    }
                )
            rate = searched[(area, group)] / count
            disparity.append(
                {
                    "area": area,
                    "group": group,
                    "measure": "searched",
                    "count": searched[(area, group)],
                    "total": count,
                    "rate": rate,
                    "reference_rate": 0.3,
                    "index": rate / 0.3,
                    "ci_low": 0.1,
                    "ci_high": 2.0,
                    "notable": False,
                }
            )
            outcome.append(
                {
                    "area": area,
                    "group": group,
                    "searches": searched[(area, group)],
                    "hits": 0,
                    "hit_rate": 0.0,
                    "ci_low": 0.0,
                    "ci_high": 0.5,
                }
            )
        compliance.append(
            {
                "area": area,
                "measure": "compliant",
                "count": everyone - broken[area],
                "total": everyone,
                "rate": (everyone - broken[area]) / everyone,
            }
        )
    return {
        "disproportionality": dispro,
        "disparity": disparity,
        "veil_of_darkness": None,
        "outcome_test": outcome,
        "officers": [
            {
                "officer_key": "abc",
                "n": 60,
                "observed": 20,
                "expected": 10.0,
                "ratio": 2.0,
                "p_value": 0.01,
                "q_value": 0.02,
                "flagged": True,
            }
        ],
        "compliance": compliance,
        "meta": {
            "rows": 156,
            "period": {"first": "2025-01-01T05:00:00+00:00", "last": "2025-12-31T20:00:00+00:00"},
            "reference_group": "White",
            "ruleset": {"id": "on-reg-400-23", "version": "1"},
        },
    }


def purpose_table() -> pd.DataFrame:
    """A 2-D count table a caller adds: engagements by division and purpose, one small cell."""
    return pd.DataFrame(
        [[3, 20, 30], [25, 40, 50]],
        index=pd.Index(["D1", "D2"], name="division"),
        columns=pd.Index(["safety", "intelligence", "other"], name="purpose"),
    )


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, list[Path]]:
    out = tmp_path / "open-data"
    paths = open_data(
        report_rows(), {"by_purpose": purpose_table()}, threshold=THRESHOLD, out_dir=out, version="2025.1"
    )
    return out, paths


def test_every_table_is_written_as_csv_and_parquet(written):
    out, paths = written
    names = {p.name for p in paths}
    for table in ("disproportionality", "disparity", "outcome_test", "compliance", "by_purpose"):
        assert {f"{table}.csv", f"{table}.parquet"} <= names
        assert pd.read_csv(out / f"{table}.csv").shape == pd.read_parquet(out / f"{table}.parquet").shape
    assert {"data_dictionary.csv", "VERSION", "manifest.json", "report.public.json"} <= names
    assert all(p.parent == out and p.exists() for p in paths)
    assert (out / "VERSION").read_text() == "2025.1\n"
    assert "officers" not in names and "abc" not in (out / "report.public.json").read_text()


def test_the_data_dictionary_lists_every_column_of_every_file(written):
    out, _ = written
    dictionary = pd.read_csv(out / "data_dictionary.csv", keep_default_na=False)
    assert list(dictionary.columns) == ["file", "column", "type", "meaning", "categories"]
    described = {(row.file, row.column) for row in dictionary.itertuples()}
    files = [*out.glob("*.csv"), *out.glob("*.parquet")]
    assert len(files) == 11
    for path in files:
        columns = (
            pq.read_schema(path).names if path.suffix == ".parquet" else pd.read_csv(path, nrows=0).columns
        )
        for column in columns:
            assert (path.name, column) in described, f"{path.name}: {column} is not in the dictionary"
    assert (dictionary["meaning"] != "").all()
    assert set(dictionary["type"]) <= {"string", "integer", "double", "boolean"}
    areas = dictionary[(dictionary.file == "disparity.csv") & (dictionary.column == "area")].categories.item()
    assert areas.split("; ") == ["ALL", "D1", "D2"]


def test_the_manifest_checksums_match_the_files(written):
    out, paths = written
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] == "2025.1" and manifest["threshold"] == THRESHOLD
    assert manifest["period"]["first"].startswith("2025-01-01") and manifest["generated_at"]
    listed = {entry["name"]: entry for entry in manifest["files"]}
    assert set(listed) == {p.name for p in paths} - {"manifest.json"}
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)


def test_suppressed_cells_are_empty_in_csv_and_null_in_parquet(written):
    out, _ = written
    with (out / "disproportionality.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # D2's 3 Black people are below the threshold: the count is empty, flagged, and so is the row.
    d2_black = next(r for r in rows if r["area"] == "D2" and r["group"] == "Black")
    assert (
        d2_black["count"] == ""
        and d2_black["count_suppressed"] == "true"
        and d2_black["suppressed"] == "true"
    )
    assert d2_black["index"] == "" and d2_black["population"] == ""
    parquet = pd.read_parquet(out / "disproportionality.parquet")
    row = parquet[(parquet.area == "D2") & (parquet.group == "Black")].iloc[0]
    assert row["count"] is pd.NA and bool(row["count_suppressed"])
    # Every flagged count is empty, every unflagged one filled and at least the threshold, in both files.
    for table, counts in [
        ("disproportionality", ["count", "total"]),
        ("disparity", ["count", "total"]),
        ("outcome_test", ["searches", "hits"]),
        ("compliance", ["count", "total"]),
    ]:
        csv_rows = pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)
        parquet = pd.read_parquet(out / f"{table}.parquet")
        for column in counts:
            flagged = csv_rows[f"{column}_suppressed"] == "true"
            assert (csv_rows.loc[flagged, column] == "").all()
            assert (csv_rows.loc[~flagged, column].astype(int) >= THRESHOLD).all()
            assert (parquet[column].isna() == parquet[f"{column}_suppressed"]).all()
            # Every withheld cell says why, and only withheld cells do.
            reasons = csv_rows[f"{column}_suppressed_reason"]
            assert reasons[flagged].isin(["small", "protects"]).all()
            assert (reasons[~flagged] == "").all()
        rows = csv_rows["suppressed"] == "true"
        assert csv_rows.loc[rows, "suppressed_reason"].isin(["small", "protects"]).all()
        assert (csv_rows.loc[~rows, "suppressed_reason"] == "").all()
    assert pq.read_schema(out / "disproportionality.parquet").field("count").type == "int64"


def test_a_caller_table_is_suppressed_with_its_totals(written):
    out, _ = written
    table = pd.read_csv(out / "by_purpose.csv", dtype=str, keep_default_na=False)
    columns = ["division", "purpose", "count", "count_suppressed", "count_suppressed_reason"]
    assert list(table.columns) == columns
    cell = {(r.division, r.purpose): r.count for r in table.itertuples()}
    reason = {(r.division, r.purpose): r.count_suppressed_reason for r in table.itertuples()}
    # The 3 is small; its partners are withheld to protect it and say so.
    assert reason[("D1", "safety")] == "small"
    assert reason[("D1", "intelligence")] == reason[("D2", "safety")] == "protects"
    assert reason[("D1", "other")] == ""
    # The 3 is hidden with one partner in its row (20) and in its column (25), and the 40 that closes them.
    assert [cell[("D1", p)] for p in ("safety", "intelligence", "other")] == ["", "", "30"]
    assert [cell[("D2", p)] for p in ("safety", "intelligence", "other")] == ["", "", "50"]
    assert cell[("D1", "ALL")] == "53" and cell[("ALL", "safety")] == "28" and cell[("ALL", "ALL")] == "168"
    parquet = pd.read_parquet(out / "by_purpose.parquet")
    assert parquet["count"].isna().sum() == 4 and parquet["count_suppressed"].sum() == 4


def test_the_public_report_written_is_the_suppressed_one(written):
    out, _ = written
    public = json.loads((out / "report.public.json").read_text())
    assert public == rounded(suppress_report(report_rows(), threshold=THRESHOLD))
    assert public["officers"] is None


def test_a_long_table_gives_the_same_file_as_its_wide_form(tmp_path):
    long = purpose_table().stack().rename("count").reset_index()
    open_data(
        report_rows(), {"by_purpose": long}, threshold=THRESHOLD, out_dir=tmp_path / "long", version="1"
    )
    open_data(
        report_rows(),
        {"by_purpose": purpose_table()},
        threshold=THRESHOLD,
        out_dir=tmp_path / "wide",
        version="1",
    )
    wide = (
        pd.read_csv(tmp_path / "wide/by_purpose.csv")
        .sort_values(["division", "purpose"])
        .reset_index(drop=True)
    )
    again = (
        pd.read_csv(tmp_path / "long/by_purpose.csv")
        .sort_values(["division", "purpose"])
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(wide, again)


def test_unsafe_names_and_reserved_labels_are_refused(tmp_path):
    with pytest.raises(ValueError, match="table name"):
        open_data(
            report_rows(), {"../escape": purpose_table()}, threshold=THRESHOLD, out_dir=tmp_path, version="1"
        )
    with pytest.raises(ValueError, match="table name"):
        open_data(
            report_rows(), {"disparity": purpose_table()}, threshold=THRESHOLD, out_dir=tmp_path, version="1"
        )
    clash = purpose_table().rename(index={"D2": "ALL"})
    with pytest.raises(ValueError, match="ALL"):
        open_data(report_rows(), {"by_purpose": clash}, threshold=THRESHOLD, out_dir=tmp_path, version="1")
    with pytest.raises(ValueError, match="version"):
        open_data(report_rows(), {}, threshold=THRESHOLD, out_dir=tmp_path, version="")
