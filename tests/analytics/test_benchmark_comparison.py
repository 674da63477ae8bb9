"""Benchmarks side by side: the indices under each named benchmark, and whether a conclusion rests on it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairengage import cli
from fairengage.analytics.benchmark_comparison import compare_benchmarks
from fairengage.analytics.counts import cell_counts
from fairengage.analytics.population_benchmarks import named_benchmarks


def _benchmark(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["area", "group", "population"])


def test_each_benchmark_gives_its_index_and_the_summary_says_which_rows_depend_on_it(
    hand_table, hand_benchmark
):
    # A daytime population in which Black people are twice as many as among residents: their index
    # halves under it.
    daytime = hand_benchmark.copy()
    daytime.loc[daytime["group"] == "Black", "population"] *= 2
    cells = cell_counts(hand_table)
    result = compare_benchmarks(cells, {"residents": hand_benchmark, "daytime": daytime}, threshold=1.0)
    assert result["benchmarks"] == ["residents", "daytime"]
    rows = {(r["area"], r["group"], r["benchmark"]): r for r in result["rows"]}
    resident, day = rows[("ALL", "Black", "residents")], rows[("ALL", "Black", "daytime")]
    # Index = engagement share / population share; the population share of Black people goes from
    # 300/2000 to 600/2300.
    assert day["index"] == pytest.approx(resident["index"] * (300 / 2000) / (600 / 2300))
    summary = {(r["area"], r["group"]): r for r in result["summary"]}
    black = summary[("ALL", "Black")]
    assert black["lowest"] == pytest.approx(day["index"]) and black["highest"] == pytest.approx(
        resident["index"]
    )
    assert black["notable_under"] == resident["notable"] + day["notable"]
    assert black["depends_on_choice"] == (resident["notable"] != day["notable"])


def test_a_conclusion_that_holds_under_every_benchmark_does_not_depend_on_the_choice(
    hand_table, hand_benchmark
):
    cells = cell_counts(hand_table)
    result = compare_benchmarks(cells, {"a": hand_benchmark, "b": hand_benchmark.copy()}, threshold=1.0)
    assert all(not r["depends_on_choice"] for r in result["summary"])
    assert all(r["notable_under"] in (0, 2) for r in result["summary"])


def test_names_come_from_name_equals_file_or_the_file_name():
    assert named_benchmarks(["census=a/res.csv", "b/daytime.csv"]) == [
        ("census", Path("a/res.csv")),
        ("daytime", Path("b/daytime.csv")),
    ]
    with pytest.raises(ValueError, match="given twice"):
        named_benchmarks(["x=a.csv", "x=b.csv"])
    with pytest.raises(ValueError, match="give a name"):
        named_benchmarks(["=a.csv"])


def test_the_command_compares_benchmarks_given_by_name(tmp_path, table_file, hand_rows, hand_benchmark):
    table = table_file(hand_rows)
    residents, daytime = tmp_path / "residents.csv", tmp_path / "daytime.csv"
    hand_benchmark.to_csv(residents, index=False)
    doubled = hand_benchmark.copy()
    doubled.loc[doubled["group"] == "Black", "population"] *= 2
    doubled.to_csv(daytime, index=False)
    out = tmp_path / "report.json"
    args = ["analyze", "--input", str(table), "--benchmark", f"census={residents}", "--benchmark",
            f"daytime={daytime}", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["benchmark_comparison"]["benchmarks"] == ["census", "daytime"]
    assert [b["name"] for b in report["meta"]["benchmarks"]] == ["census", "daytime"]
    # The main benchmark (the first) still gives the disproportionality section.
    census = {(r["area"], r["group"]): r["index"] for r in report["benchmark_comparison"]["rows"]
              if r["benchmark"] == "census"}  # fmt: skip
    assert {(r["area"], r["group"]): r["index"] for r in report["disproportionality"]} == census


@pytest.mark.slow  # builds a whole release (board and public, HTML and PDF)
def test_the_board_report_shows_the_benchmarks_side_by_side_and_the_public_one_does_not(tmp_path):
    from datetime import date

    from fairengage.analytics.population_benchmarks import default_benchmark_path
    from fairengage.ingest import synth

    table = tmp_path / "t.parquet"
    synth.write_table(synth.generate(800, seed=3, start=date(2025, 1, 1), end=date(2025, 12, 31)), table)
    census = pd.read_csv(default_benchmark_path())
    daytime = census.copy()
    daytime.loc[daytime["group"] == "White", "population"] *= 3
    daytime_file = tmp_path / "daytime.csv"
    daytime.to_csv(daytime_file, index=False)
    out = tmp_path / "out"
    census_file = default_benchmark_path()
    args = ["report", "--input", str(table), "--period", "2025", "--out", str(out),
            "--benchmark", f"census={census_file}", "--benchmark", f"daytime={daytime_file}"]  # fmt: skip
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    board = json.loads((out / "report.json").read_text())
    assert board["benchmark_comparison"]["benchmarks"] == ["census", "daytime"]
    assert "computed under 2 benchmarks (census, daytime)" in (out / "board.html").read_text(encoding="utf-8")
    # Indices under another population give the counts back: the comparison is the board's only.
    public = json.loads((out / "report.public.json").read_text())
    assert public.get("benchmark_comparison") is None


def test_the_report_command_refuses_two_benchmarks_of_one_name(tmp_path):
    args = ["report", "--input", str(tmp_path / "t.parquet"), "--period", "2025",
            "--out", str(tmp_path / "o"), "--benchmark", "x=a.csv", "--benchmark", "x=b.csv"]  # fmt: skip
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 1 and "given twice" in result.output
