"""`fairengage reconcile`: the result kept on each event, the unmatched listed with their nearest record."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from events.reconciled import estate, period
from fairengage.access.models import AuditEntry
from fairengage.config import get_settings
from fairengage.events.models import ExternalEvent


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_matches_are_kept_and_the_unmatched_listed(client, world, sessions, tmp_path):
    built = estate(client, world, sessions, tmp_path)
    assert built["result"].last_line() == "matched 3 of 5 events; unmatched 2 (40.0%)"
    with sessions() as s:
        events = {e.event_id: e for e in s.scalars(select(ExternalEvent))}
        audited = s.scalars(select(AuditEntry).where(AuditEntry.action == "events.reconcile")).all()
    first, second = built["ids"]
    assert events["CAD-1"].matched_engagement_id == first
    # The camera event has no position: the same division stands in, and it may share the engagement.
    assert events["BWC-1"].matched_engagement_id == first
    assert events["CAD-2"].matched_engagement_id == second
    assert {k for k, e in events.items() if e.status == "open"} == {"CAD-3", "CAD-4"}
    assert all(e.reconciled_at is not None for e in events.values())
    assert len(audited) == 1 and audited[0].details["matched"] == 3
    with (tmp_path / "unmatched.csv").open(encoding="utf-8") as handle:
        rows = {r["event_id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"CAD-3", "CAD-4"}
    # CAD-3 is 800 m east of the second stop, an hour later: that stop is its nearest candidate.
    assert rows["CAD-3"]["nearest_engagement_id"] == second
    assert float(rows["CAD-3"]["nearest_minutes"]) == pytest.approx(-60, abs=0.2)
    assert 700 < float(rows["CAD-3"]["nearest_metres"]) < 900
    assert rows["CAD-4"]["nearest_engagement_id"] == ""  # T2 recorded nothing


def test_an_event_id_like_a_formula_stays_text_in_the_unmatched_file(client, world, sessions, tmp_path):
    # The ids come from another system: one a spreadsheet would run must open as text.
    formula = '=HYPERLINK("http://example.invalid","open")'
    estate(client, world, sessions, tmp_path, other_id=formula)
    with (tmp_path / "unmatched.csv").open(encoding="utf-8") as handle:
        ids = {r["event_id"] for r in csv.DictReader(handle)}
    assert ids == {"CAD-3", "'" + formula}


def test_the_command_prints_the_last_line_and_takes_its_options(client, world, sessions, tmp_path, runner):
    built = estate(client, world, sessions, tmp_path)
    start, end = period(built["today"])
    from fairengage import cli

    out = str(tmp_path / "u.csv")

    def last_line(*options: str) -> str:
        result = runner.invoke(cli.app, ["reconcile", "--from", start, "--to", end, "--out", out, *options])
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    assert last_line() == "matched 3 of 5 events; unmatched 2 (40.0%)"
    # CAD-2 is 6 minutes before its stop: outside a 5-minute window.
    assert last_line("--window", "5") == "matched 2 of 5 events; unmatched 3 (60.0%)"
    # CAD-1 is 100 m from its stop: beyond a 50 m radius (the camera event has no position to judge).
    assert last_line("--radius", "50") == "matched 2 of 5 events; unmatched 3 (60.0%)"
    # A later run with the defaults brings the events matched again back to matched.
    assert last_line() == "matched 3 of 5 events; unmatched 2 (40.0%)"


def test_bad_dates_are_one_line(runner, tmp_path):
    from fairengage import cli

    result = runner.invoke(
        cli.app, ["reconcile", "--from", "2025-13-01", "--to", "2025-12-31", "--out", str(tmp_path / "u.csv")]
    )
    assert result.exit_code == 1
    assert "--from: '2025-13-01' is not a date" in result.output
    backwards = runner.invoke(
        cli.app, ["reconcile", "--from", "2025-12-31", "--to", "2025-01-01", "--out", str(tmp_path / "u.csv")]
    )
    assert backwards.exit_code == 1 and "--to" in backwards.output
