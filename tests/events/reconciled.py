"""A small estate for the reconcile and worklist tests: two recorded stops, three events, one reconcile."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from builders import valid_body
from events.event_files import write_events
from fairengage.events import importer, reconcile

HERE = (43.6487, -79.3962)


def estate(client, world, sessions, tmp_path: Path, *, other_id: str = "CAD-4") -> dict:  # type: ignore[no-untyped-def]
    """Officer T1 (D14) recorded two stops; dispatch saw three (one never recorded), a camera one more.

    Officer T2 of D52 has an unrecorded stop too (`other_id`), outside the D14 supervisor's division.
    """
    headers = world.officer_with_token("T1", "D14")
    world.officer_with_token("T2", "D52")
    now = datetime.now(UTC).replace(microsecond=0)
    first, second = now - timedelta(hours=3), now - timedelta(hours=2)
    ids = []
    for moment in (first, second):
        body = valid_body(occurred_at=moment.isoformat(), bwc_video_id="AXON-0001")
        ids.append(client.post("/api/v1/engagements", json=body, headers=headers).json()["id"])
    north = 100 / 111_195  # 100 m north
    missed = now - timedelta(hours=1)
    rows = [
        [
            "CAD-1",
            (first + timedelta(minutes=4)).isoformat(),
            "T1",
            "D14",
            HERE[0] + north,
            HERE[1],
            "person_stop",
        ],
        ["BWC-1", (first + timedelta(minutes=1)).isoformat(), "T1", "D14", "", "", "bwc_recording"],
        ["CAD-2", (second - timedelta(minutes=6)).isoformat(), "T1", "D14", HERE[0], HERE[1], "person_stop"],
        ["CAD-3", missed.isoformat(), "T1", "D14", HERE[0], HERE[1] + 0.01, "person_stop"],
        [other_id, missed.isoformat(), "T2", "D52", "", "", "person_stop"],
    ]
    importer.import_events(sessions=sessions, path=write_events(tmp_path / "ev.csv", rows), actor="cli:test")
    today = now.astimezone().date()
    result = reconcile.reconcile(
        sessions=sessions,
        start=today - timedelta(days=1),
        end=today + timedelta(days=1),
        tz="America/Toronto",
        out=tmp_path / "unmatched.csv",
        actor="cli:test",
    )
    return {"ids": ids, "result": result, "missed": missed, "today": today}


def period(today: date) -> tuple[str, str]:
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
