"""Unusable inputs give one clear error naming the file, the row where there is one, and the column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairengage import cli
from fairengage.analytics.engine import AnalyticsInputError, load_table
from fairengage.analytics.population_benchmarks.frame import read_benchmark
from fairengage.analytics.report import AnalysisParams, analyze

ROWS = [{"perceived_race": "Black"}, {"perceived_race": "White", "searched": True, "contraband_found": True}]


def text_frame(make_frame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The two rows as the text cells of a CSV file, ready to spoil."""
    return make_frame(ROWS).astype(str).replace({"<NA>": "", "None": "", "nan": ""})


def test_a_missing_column_is_named(duck, tmp_path, make_frame):
    for suffix in (".parquet", ".csv"):
        path = tmp_path / f"t{suffix}"
        frame = make_frame(ROWS).drop(columns=["searched"])
        frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
        with pytest.raises(AnalyticsInputError, match=rf"t\{suffix}: column 'searched': missing"):
            load_table(duck, path)


def test_a_wrong_type_in_parquet_is_named(duck, tmp_path, make_frame):
    path = tmp_path / "t.parquet"
    make_frame(ROWS).astype({"searched": str}).to_parquet(path)
    with pytest.raises(
        AnalyticsInputError, match=r"t\.parquet: column 'searched': type string is not true or false"
    ):
        load_table(duck, path)


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("searched", "maybe", "true or false"),
        ("occurred_at", "yesterday", "a timestamp"),
        ("perceived_age", "thirty", "a whole number"),
        ("lat", "north", "a number"),
    ],
)
def test_a_bad_csv_cell_is_named_with_its_engagement(duck, tmp_path, make_frame, column, value, kind):
    frame = text_frame(make_frame)
    frame.loc[1, column] = value
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(AnalyticsInputError) as caught:
        load_table(duck, path)
    message = str(caught.value)
    assert message.startswith(f"{path}: column {column!r}: {value!r} is not {kind}")
    assert "engagement_id 'E1'" in message


def test_an_empty_required_cell_is_named(duck, tmp_path, make_frame):
    frame = text_frame(make_frame)
    frame.loc[0, "division"] = ""
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(AnalyticsInputError, match=r"t\.csv: column 'division': 1 empty cells"):
        load_table(duck, path)


def test_empty_required_cells_in_parquet_are_counted_in_every_row_group(duck, tmp_path, make_frame):
    # The check counts values (which DuckDB reads from each row group's statistics) against rows: the
    # empty cells of every row group must count, not only the first group's.
    frame = pd.concat([make_frame(ROWS)] * 3, ignore_index=True)
    frame["engagement_id"] = [f"E{i}" for i in range(len(frame))]
    frame["division"] = frame["division"].astype(object)
    frame.loc[[1, 4, 5], "division"] = None
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, row_group_size=2)
    with pytest.raises(AnalyticsInputError, match=r"t\.parquet: column 'division': 3 empty cells"):
        load_table(duck, path)


def test_csv_timestamps_with_an_offset_are_read_as_utc(duck, tmp_path, make_frame):
    frame = text_frame(make_frame)
    frame["occurred_at"] = ["2025-06-01T12:00:00-04:00", "2025-06-01 18:30:00Z"]
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    stamps = load_table(duck, path).occurred_at.to_pandas()
    assert list(stamps) == [pd.Timestamp("2025-06-01T16:00:00Z"), pd.Timestamp("2025-06-01T18:30:00Z")]


def test_files_that_cannot_be_tables(duck, tmp_path):
    with pytest.raises(AnalyticsInputError, match="no such file"):
        load_table(duck, tmp_path / "absent.parquet")
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(AnalyticsInputError, match=r"extension '\.json'"):
        load_table(duck, tmp_path / "t.json")


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("perceived_race", "Asian", "is not a perceived-race category"),
        ("outcome", "warning", "is not an outcome"),
        ("division", "ALL", "is reserved for the whole city"),
    ],
)
def test_values_outside_the_rule_set_are_refused(duck, table_file, hand_benchmark, column, value, problem):
    table = load_table(duck, table_file([*ROWS, {column: value}]))
    with pytest.raises(AnalyticsInputError, match=rf"t\.csv: column '{column}': .*{problem}"):
        analyze(table, hand_benchmark, engine_name="duckdb", tz="America/Toronto",
                params=AnalysisParams(input_name="t.csv"))  # fmt: skip


GOOD_BENCHMARK = "area,group,population\nD1,Black,10\nD1,White,90\nALL,Black,10\nALL,White,90\n"


def test_a_good_benchmark_reads_back_typed_and_sorted(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(GOOD_BENCHMARK)
    frame = read_benchmark(path)
    assert list(frame.columns) == ["area", "group", "population"]
    assert list(frame["area"]) == ["ALL", "ALL", "D1", "D1"]
    assert frame["population"].dtype == "int64" and frame["population"].sum() == 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("area,group\nALL,Black\n", "column 'population': missing from the header (row 1)"),
        (GOOD_BENCHMARK + "D2,Unknown,5\n", "row 6, column 'group': 'Unknown' is an officer's answer"),
        (GOOD_BENCHMARK + "D2,Asian,5\n", "row 6, column 'group': 'Asian' is not a perceived-race category"),
        (GOOD_BENCHMARK + "D2,Black,12x\n", "row 6, column 'population': '12x' is not a whole number"),
        (GOOD_BENCHMARK + "D2,Black,-4\n", "row 6, column 'population': -4 is negative"),
        (GOOD_BENCHMARK + ",Black,4\n", "row 6, column 'area': empty"),
        (GOOD_BENCHMARK + "D1,Black,11\n", "row 6, column 'group': 'Black' appears twice for area 'D1'"),
        ("area,group,population\nD1,Black,10\n", "column 'area': no 'ALL' rows"),
    ],
)
def test_a_bad_benchmark_is_named_by_row_and_column(tmp_path, text, expected):
    path = tmp_path / "bench.csv"
    path.write_text(text)
    with pytest.raises(AnalyticsInputError) as caught:
        read_benchmark(path)
    assert str(caught.value) == f"{path}: {expected}" or str(caught.value).startswith(f"{path}: {expected}")


def test_the_command_reports_a_bad_input_in_one_line(tmp_path, table_file):
    table = table_file(ROWS)
    bench = tmp_path / "bench.csv"
    bench.write_text(GOOD_BENCHMARK + "D2,Black,lots\n")
    out = tmp_path / "report.json"
    args = ["analyze", "--input", str(table), "--benchmark", str(bench), "--out", str(out)]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {bench}: row 6, column 'population': 'lots' is not a whole number"]
    assert not Path(out).exists()
