"""`fairengage events import`: every row checked first, one line naming FILE:ROW:COLUMN, event ids once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from events.event_files import write_events
from fairengage.access.models import AuditEntry
from fairengage.events import importer
from fairengage.events.models import ExternalEvent

GOOD = [
    ["CAD-1", "2025-05-05T21:10:00-04:00", "T1", "D14", "43.6487", "-79.3962", "person_stop"],
    ["BWC-1", "2025-05-05T21:12:30Z", "T1", "D14", "", "", "bwc_recording"],
]


def _count(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(ExternalEvent))


def test_good_file_is_stored_once_and_audited(world, sessions, tmp_path):
    world.officer("T1", "D14")
    path = write_events(tmp_path / "ev.csv", GOOD)
    first = importer.import_events(sessions=sessions, path=path, actor="cli:test")
    again = importer.import_events(sessions=sessions, path=path, actor="cli:test")
    assert (first.stored, first.already_present) == (2, 0)
    assert (again.stored, again.already_present) == (0, 2)
    with sessions() as s:
        events = {e.event_id: e for e in s.scalars(select(ExternalEvent))}
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.action == "events.import")))
    assert events["CAD-1"].occurred_at == datetime(2025, 5, 6, 1, 10, tzinfo=UTC)
    assert events["CAD-1"].officer.badge == "T1" and events["CAD-1"].lat == pytest.approx(43.6487)
    assert events["BWC-1"].lat is None and events["BWC-1"].kind == "bwc_recording"
    assert events["BWC-1"].status == "open" and events["BWC-1"].reconciled_at is None
    assert len(actions) == 2


@pytest.mark.parametrize(
    ("row", "where"),
    [
        (["CAD-2", "yesterday", "T1", "D14", "", "", "person_stop"], "3:occurred_at: 'yesterday' is not"),
        (
            ["CAD-2", "2025-05-05T21:10:00", "T1", "D14", "", "", "person_stop"],
            "3:occurred_at: '2025-05-05T21",
        ),
        (
            ["CAD-2", "2999-01-01T00:00:00Z", "T1", "D14", "", "", "person_stop"],
            "3:occurred_at: is in the future",
        ),
        (
            ["CAD-2", "2025-05-05T21:10:00Z", "T9", "D14", "", "", "person_stop"],
            "3:badge: no officer with badge",
        ),
        (["CAD-2", "2025-05-05T21:10:00Z", "T1", "D99", "", "", "person_stop"], "3:division: no division"),
        (["CAD-2", "2025-05-05T21:10:00Z", "T1", "D14", "43.6", "", "person_stop"], "3:lon: missing"),
        (
            ["CAD-2", "2025-05-05T21:10:00Z", "T1", "D14", "91", "-79", "person_stop"],
            "3:lat: '91' is outside",
        ),
        (
            ["CAD-2", "2025-05-05T21:10:00Z", "T1", "D14", "", "", "Person Stop"],
            "3:kind: 'Person Stop' is not",
        ),
        (
            ["CAD-1", "2025-05-05T21:10:00Z", "T1", "D14", "", "", "person_stop"],
            "3:event_id: 'CAD-1' repeats row 2",
        ),
        (["", "2025-05-05T21:10:00Z", "T1", "D14", "", "", "person_stop"], "3:event_id: missing"),
    ],
)
def test_a_bad_row_stops_the_import_and_names_its_row_and_column(world, sessions, tmp_path, row, where):
    world.officer("T1", "D14")
    path = write_events(tmp_path / "ev.csv", [GOOD[0], row])
    with pytest.raises(importer.EventsRefused) as refused:
        importer.import_events(sessions=sessions, path=path, actor="cli:test")
    assert str(refused.value).startswith(f"{path}:{where}")
    assert _count(sessions) == 0  # all or nothing: the good first row was not stored either


def test_a_missing_column_is_named(world, sessions, tmp_path):
    path = write_events(
        tmp_path / "ev.csv",
        [GOOD[0][:-1]],
        header=["event_id", "occurred_at", "badge", "division", "lat", "lon"],
    )
    with pytest.raises(importer.EventsRefused, match=r"ev\.csv:1:kind: missing column"):
        importer.import_events(sessions=sessions, path=path, actor="cli:test")


def test_the_command_prints_one_line_and_stores_nothing(world, sessions, settings, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from fairengage import cli
    from fairengage.config import get_settings

    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    try:
        world.officer("T1", "D14")
        bad = write_events(
            tmp_path / "bad.csv", [GOOD[0], ["CAD-9", "2025-05-05T21:10:00Z", "T1", "D14", "", "", "??"]]
        )
        refused = CliRunner().invoke(cli.app, ["events", "import", str(bad)])
        assert refused.exit_code == 1
        assert refused.output.strip().splitlines() == [
            f"{bad}:3:kind: '??' is not a lower-case word (e.g. person_stop)"
        ]
        assert _count(sessions) == 0
        good = write_events(tmp_path / "good.csv", GOOD)
        stored = CliRunner().invoke(cli.app, ["events", "import", str(good)])
        assert stored.exit_code == 0 and "stored 2 of 2 events (0 already present)" in stored.output
    finally:
        get_settings.cache_clear()
