"""`fairengage synth --events`: events the importer reads, their truth, a table without the planted."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from fairengage import cli
from fairengage.events.importer import COLUMNS, read_rows


def test_synth_writes_events_their_truth_and_a_table_without_the_unrecorded(tmp_path):
    out, events = tmp_path / "t.csv", tmp_path / "ev.csv"
    args = ["synth", "--records", "600", "--officers", "10", "--start", "2025-03-01", "--end", "2025-03-10"]
    result = CliRunner().invoke(cli.app, [*args, "--seed", "3", "--out", str(out), "--events", str(events)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    planted = pd.read_csv(tmp_path / "ev.truth.csv")
    assert tuple(pd.read_csv(events, nrows=0).columns) == COLUMNS
    rows = read_rows(events)  # the importer's own checks accept every row
    assert len(rows) == len(planted) and {r.kind for r in rows} == {"person_stop", "bwc_recording"}
    unrecorded = set(planted.loc[planted["unrecorded"], "engagement_id"])
    recorded = set(planted.loc[~planted["unrecorded"], "engagement_id"])
    # The planted encounters are gone from the table, with all their people; the others are all there.
    assert unrecorded and not unrecorded & set(table["encounter_id"])
    assert recorded <= set(table["engagement_id"])
    share = len(unrecorded) / (len(unrecorded) + len(recorded))
    assert 0.05 < share < 0.15  # about the default 10%
    assert "officer_badge" in table.columns  # the detailed table, which `fairengage import` loads
