"""report.json: the contract's keys (docs/architecture.md) and meta; sorted rows, rounded floats, command."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from fairengage import __version__, cli
from fairengage.analytics import officer_review, officers, veil
from fairengage.analytics import report as reports
from fairengage.analytics.report import REPORT_KEYS, AnalysisParams, analyze, rounded, write_report
from fairengage.policy import get_ruleset

PARAMS = AnalysisParams(
    input_name="hand.parquet", benchmark_name="hand.csv", generated_at=datetime(2026, 1, 1, tzinfo=UTC)
)


def floats_in(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        for item in value.values():
            yield from floats_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from floats_in(item)
    elif isinstance(value, float):
        yield value


@pytest.fixture
def result(hand_table, hand_benchmark):  # type: ignore[no-untyped-def]
    return analyze(hand_table, hand_benchmark, engine_name="duckdb", tz="America/Toronto", params=PARAMS)


def test_the_report_has_exactly_the_design_keys_and_meta(result):
    assert list(result) == [*REPORT_KEYS, "meta"]
    assert REPORT_KEYS == (
        "disproportionality", "disparity", "veil_of_darkness", "outcome_test", "outcome_test_difference",
        "outcome_test_stratified", "officers", "officer_review", "benchmark_comparison", "compliance",
        "change_over_time",
    )  # fmt: skip
    assert set(result["disproportionality"][0]) == {
        "area", "group", "count", "total", "population", "population_total", "index", "ci_low", "ci_high",
        "notable",
    }  # fmt: skip
    assert set(result["disparity"][0]) == {
        "area", "group", "measure", "count", "total", "rate", "reference_rate", "index", "ci_low", "ci_high",
        "notable",
    }  # fmt: skip
    assert set(result["outcome_test"][0]) == {
        "area",
        "group",
        "searches",
        "hits",
        "hit_rate",
        "ci_low",
        "ci_high",
    }
    assert set(result["compliance"][0]) == {"area", "measure", "count", "total", "rate"}


def test_meta_says_what_was_analysed_and_with_which_thresholds(result):
    meta = result["meta"]
    assert (meta["input"], meta["rows"], meta["engine"]) == ("hand.parquet", 15, "duckdb")
    # Every hand row happened at 2025-06-01 16:00 UTC: the rule set in force then is O. Reg. 400/23.
    stamp = "2025-06-01T16:00:00+00:00"
    assert meta["period"] == {"first": stamp, "last": stamp, "timezone": "America/Toronto"}
    assert meta["ruleset"]["id"] == "on-reg-400-23"
    ruleset = get_ruleset("on-reg-400-23")
    assert meta["thresholds"] == {
        "notable_disproportionality": ruleset.param("notable_disproportionality"),
        "notable_disparity": ruleset.param("notable_disparity"),
    }
    assert meta["benchmark"]["file"] == "hand.csv"
    assert meta["benchmark"]["areas"] == ["D1", "D2"]
    assert meta["benchmark"]["population_total"] == 2000
    assert meta["generated_at"] == "2026-01-01T00:00:00+00:00"
    assert meta["software"]["fairengage"] == __version__


def test_thresholds_given_explicitly_win_over_the_rule_set(hand_table, hand_benchmark):
    params = replace(PARAMS, notable_disproportionality=3.0, notable_disparity=9.0)
    result = analyze(hand_table, hand_benchmark, engine_name="duckdb", tz="America/Toronto", params=params)
    assert result["meta"]["thresholds"] == {"notable_disproportionality": 3.0, "notable_disparity": 9.0}
    # The city-wide Black index (2.38, interval above 1) is notable at 1.5 but not at 3.
    assert not [r for r in result["disproportionality"] if r["notable"]]


def test_rows_are_sorted_and_floats_rounded(result):
    for key, fields in {
        "disproportionality": ("area", "group"),
        "disparity": ("area", "group", "measure"),
        "outcome_test": ("area", "group"),
        "compliance": ("area", "measure"),
    }.items():
        order = [tuple(r[f] for f in fields) for r in result[key]]
        assert order == sorted(order), key
    values = list(floats_in(result))
    assert values
    for value in values:
        assert math.isfinite(value)
        assert float(f"{value:.10g}") == value


def test_rounded_keeps_ten_significant_digits_and_drops_nan():
    assert rounded({"a": [1 / 3, float("nan"), 2, True, "x"]}) == {"a": [0.3333333333, None, 2, True, "x"]}
    assert rounded(123456789.987654) == 123456790.0


def test_veil_and_officers_get_every_setting_the_report_names(hand_table, hand_benchmark, monkeypatch):
    # Each keyword the report passes must be a parameter of the real analysis: binding against the real
    # signature fails if either side renames one (other cities must never get Toronto's sun by default).
    seen: dict[str, dict] = {}

    def recorder(name, real):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            inspect.signature(real).bind(*args, **kwargs)
            seen[name] = {"args": args[1:], **kwargs}
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(reports, "veil_of_darkness", recorder("veil", veil.veil_of_darkness))
    monkeypatch.setattr(reports, "review_counts", recorder("counts", officer_review.review_counts))
    matched, officers_of = officer_review.matched_from_review, officers.benchmarks_from_counts
    monkeypatch.setattr(reports, "matched_from_review", recorder("matched", matched))
    monkeypatch.setattr(reports, "benchmarks_from_counts", recorder("officers", officers_of))
    params = replace(PARAMS, lat=49.28, lon=-123.12, officer_group="South Asian", officer_min_volume=7)
    result = analyze(hand_table, hand_benchmark, engine_name="duckdb", tz="America/Vancouver", params=params)
    assert {k: seen["veil"][k] for k in ("tz", "lat", "lon")} == {
        "tz": "America/Vancouver", "lat": 49.28, "lon": -123.12,
    }  # fmt: skip
    assert seen["counts"]["tz"] == "America/Vancouver"
    assert seen["matched"]["args"][-1] == "South Asian"
    assert seen["officers"] == {"args": (), "min_volume": 7, "fdr": 0.05}
    assert result["meta"]["veil_of_darkness"] == {"lat": 49.28, "lon": -123.12, "available": True}


def test_an_analysis_whose_parameter_was_renamed_fails_loudly(hand_table, hand_benchmark, monkeypatch):
    def renamed(table, *, tz, latitude=0.0, longitude=0.0):  # type: ignore[no-untyped-def]
        return {"n": 0}

    monkeypatch.setattr(reports, "veil_of_darkness", renamed)
    with pytest.raises(TypeError, match="lat"):
        analyze(hand_table, hand_benchmark, engine_name="duckdb", tz="America/Toronto", params=PARAMS)


def test_write_report_is_plain_json(result, tmp_path):
    path = tmp_path / "report.json"
    write_report(result, path)
    assert json.loads(path.read_text(encoding="utf-8")) == result


def test_the_command_writes_the_report_quietly(tmp_path, table_file, hand_rows, hand_benchmark):
    table = table_file(hand_rows)
    bench = tmp_path / "bench.csv"
    hand_benchmark.to_csv(bench, index=False)
    out = tmp_path / "report.json"
    args = [
        "analyze",
        "--input",
        str(table),
        "--benchmark",
        str(bench),
        "--out",
        str(out),
        "--engine",
        "duckdb",
    ]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    # Not a terminal: no progress display, one line saying what was written.
    assert result.stdout.strip().splitlines() == [f"wrote {out}: 15 engagements on duckdb; 1 notable rows"]
    written = json.loads(out.read_text(encoding="utf-8"))
    assert list(written) == [*REPORT_KEYS, "meta"]
    assert written["meta"]["input"] == table.name
    assert written["meta"]["benchmark"]["file"] == "bench.csv"
