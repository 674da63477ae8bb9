"""The shared vocabulary is the one list of categories, outcomes and analytic columns: every producer and
reader of the analytic table takes its columns from it, and the module stays a bottom layer."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pyarrow.parquet as pq

from fairengage import vocabulary
from fairengage.analytics import counts, engine
from fairengage.analytics import speed_baseline as speed_reference
from fairengage.drills import drill
from fairengage.engagements import extract
from fairengage.ingest import synth

NAMES = [c.name for c in vocabulary.ANALYTIC_COLUMNS]


def test_extract_synth_and_engine_share_the_columns_in_order() -> None:
    assert [f.name for f in extract.SCHEMA] == [*NAMES, vocabulary.ENCOUNTER_COLUMN.name]
    assert list(synth.ANALYTIC_COLUMNS) == NAMES
    assert engine.ANALYTIC_COLUMNS is vocabulary.ANALYTIC_COLUMNS
    assert vocabulary.ENCOUNTER_COLUMN.name == engine.ENCOUNTER_COLUMN


def test_a_synthetic_table_is_written_with_the_extract_schema(tmp_path: Path) -> None:
    # The types, not only the names: what synth writes reads back as what the extract writes.
    path = tmp_path / "t.parquet"
    synth.write_table(synth.generate(200, seed=3), path)
    written = pq.read_schema(path)
    for field in extract.SCHEMA:
        if field.name in written.names:
            assert written.field(field.name).type == field.type, field.name
    assert set(NAMES) <= set(written.names)


def test_nullable_columns_keep_their_missing_values_in_synth() -> None:
    for column in vocabulary.ANALYTIC_COLUMNS:
        if column.kind == "boolean":
            assert synth.ANALYTIC_COLUMNS[column.name] == ("boolean" if column.nullable else "bool")


def test_every_side_uses_the_one_list() -> None:
    assert counts.OUTCOMES is vocabulary.OUTCOMES
    assert synth.OUTCOMES is vocabulary.OUTCOMES
    assert speed_reference.OUTCOMES is vocabulary.OUTCOMES
    assert vocabulary.UNKNOWN not in vocabulary.BENCHMARK_GROUPS
    assert set(drill.RACES) < set(vocabulary.BENCHMARK_GROUPS)


def test_the_vocabulary_imports_only_the_standard_library() -> None:
    # import-linter keeps fairengage out (tests/test_layers.py); this keeps libraries out, so that
    # every side, the lightest included, can import it.
    tree = ast.parse(Path(vocabulary.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
