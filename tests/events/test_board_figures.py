"""The governance summary counts the period's reconciled events per division: counts only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from events.reconciled import estate
from fairengage.events.models import ExternalEvent
from fairengage.governance.summary import write_governance_summary


def test_unmatched_events_are_counted_per_division(client, world, sessions, tmp_path):
    estate(client, world, sessions, tmp_path)
    with sessions.begin() as s:
        cad3 = s.scalars(select(ExternalEvent).where(ExternalEvent.event_id == "CAD-3")).one()
        cad3.status = "not_engagement"
    now = datetime.now(UTC)
    out = tmp_path / "governance.json"
    summary = write_governance_summary(
        sessions=sessions, period_start=now - timedelta(days=2), period_end=now + timedelta(days=1),
        tz="America/Toronto", out=out,
    )  # fmt: skip
    assert summary["unrecorded_events"] == {
        "D14": {"events": 4, "unmatched": 1, "not_engagement": 1},
        "D52": {"events": 1, "unmatched": 1, "not_engagement": 0},
    }
    text = out.read_text()
    assert json.loads(text)["unrecorded_events"] == summary["unrecorded_events"]
    for secret in ("CAD-", "BWC-", '"T1"', '"T2"'):
        assert secret not in text
    # Another period holds none of them.
    earlier = write_governance_summary(
        sessions=sessions, period_start=now - timedelta(days=30), period_end=now - timedelta(days=2),
        tz="America/Toronto", out=tmp_path / "earlier.json",
    )  # fmt: skip
    assert earlier["unrecorded_events"] == {}
