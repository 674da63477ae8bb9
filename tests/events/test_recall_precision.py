"""On synthetic events with 10% of encounters planted as unrecorded, matching finds them, and little else.

The planted events are the dispatch and camera events of encounters removed from the table; every other
event belongs to a recorded engagement, a few minutes and some tens of metres off it (events/synthetic.py).
Recall: the share of planted events left unmatched. Precision: the share of unmatched events that were
planted. Dense on purpose: 20 officers with about five stops a day each, so that stops of one officer
minutes apart compete for the same events.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from fairengage.events import matching, synthetic
from fairengage.ingest import synth


def _point(row, officer: str, kind: str = "") -> matching.Point:  # type: ignore[no-untyped-def]
    located = not (pd.isna(row.lat) or pd.isna(row.lon))
    return matching.Point(
        row.event_id if kind else row.engagement_id,
        officer,
        pd.Timestamp(row.occurred_at).to_pydatetime(),
        row.division,
        float(row.lat) if located else None,
        float(row.lon) if located else None,
        kind,
    )


def recall_precision(seed: int, unrecorded: float = 0.10) -> tuple[float, float, int]:
    frame = synth.generate(
        3000, seed=seed, officers=20, start=date(2025, 3, 1), end=date(2025, 3, 30), with_details=True
    )
    kept, events, truth = synthetic.plant(frame, unrecorded=unrecorded, seed=seed)
    outcome = matching.match(
        [_point(r, r.badge, r.kind) for r in events.itertuples()],
        [_point(r, r.officer_badge) for r in kept.itertuples()],
    )
    unmatched = set(outcome.nearest)
    planted = set(truth.loc[truth["unrecorded"], "event_id"])
    found = len(unmatched & planted)
    return found / len(planted), found / len(unmatched), len(planted)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_recall_and_precision_are_at_least_90_percent(seed):
    recall, precision, planted = recall_precision(seed)
    assert planted > 300  # enough planted events for the shares to mean something
    assert recall >= 0.90, f"seed {seed}: recall {recall:.3f}"
    assert precision >= 0.90, f"seed {seed}: precision {precision:.3f}"


def test_with_nothing_planted_nothing_is_left_unmatched_but_noise():
    frame = synth.generate(
        1000, seed=9, officers=20, start=date(2025, 3, 1), end=date(2025, 3, 30), with_details=True
    )
    kept, events, truth = synthetic.plant(frame, unrecorded=0.0, seed=9)
    assert len(kept) == len(frame) and not truth["unrecorded"].any()
    outcome = matching.match(
        [_point(r, r.badge, r.kind) for r in events.itertuples()],
        [_point(r, r.officer_badge) for r in kept.itertuples()],
    )
    assert len(outcome.nearest) <= 0.02 * len(events)


def test_a_loose_matcher_would_be_caught():
    # The measure can fail: matching any officer's engagement within hours and kilometres hides the
    # unrecorded stops behind other officers' records.
    frame = synth.generate(
        3000, seed=1, officers=20, start=date(2025, 3, 1), end=date(2025, 3, 30), with_details=True
    )
    kept, events, truth = synthetic.plant(frame, unrecorded=0.10, seed=1)
    outcome = matching.match(
        [_point(r, "anyone", r.kind) for r in events.itertuples()],
        [_point(r, "anyone") for r in kept.itertuples()],
        window=timedelta(hours=3),
        radius_m=3000,
    )
    planted = set(truth.loc[truth["unrecorded"], "event_id"])
    assert len(set(outcome.nearest) & planted) / len(planted) < 0.90
