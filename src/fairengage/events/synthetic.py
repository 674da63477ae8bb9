"""Synthetic dispatch and camera events for a synthetic table, with a planted share left unrecorded.

For testing reconciliation: every encounter of the detailed synthetic table (`ingest/synth.py`,
`with_details=True`) gets a dispatch `person_stop` event and, for some, a `bwc_recording` event, each a
few minutes and some tens of metres off the record, as real systems are. A planted share of the
encounters is then removed from the table (all of its people): their events are the ones nobody
recorded, which reconciliation should find, and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EVENT_COLUMNS = ("event_id", "occurred_at", "badge", "division", "lat", "lon", "kind")
# How far the systems' clocks and positions sit from what the officer recorded.
CAD_MINUTES_SD = 4.0
BWC_MINUTES_SD = 2.0
MAX_OFFSET_MINUTES = 15.0  # a clock further off than this is a broken clock, not noise
POSITION_SD_M = 40.0
BWC_SHARE = 0.6  # encounters the officer's camera recorded
_M_PER_DEG_LAT = 111_320.0


def plant(
    frame: pd.DataFrame, *, unrecorded: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(the table with the unrecorded encounters removed, the events, the truth of each event).

    The truth has `event_id`, `engagement_id` (the encounter's first record) and `unrecorded`.
    """
    if not 0.0 <= unrecorded < 1.0:
        raise ValueError(f"unrecorded must be from 0 up to 1, got {unrecorded}")
    if "officer_badge" not in frame.columns:
        raise ValueError("events need the detailed table (officer badges)")
    rng = np.random.default_rng([seed, 14])
    encounters = frame[frame["engagement_id"] == frame["encounter_id"]].reset_index(drop=True)
    n = len(encounters)
    dropped = rng.random(n) < unrecorded
    kept = frame[~frame["encounter_id"].isin(set(encounters["engagement_id"][dropped]))]

    parts = []
    for kind, sd, share in (
        ("person_stop", CAD_MINUTES_SD, 1.0),
        ("bwc_recording", BWC_MINUTES_SD, BWC_SHARE),
    ):
        chosen = rng.random(n) < share
        offset = np.clip(rng.normal(0.0, sd, n), -MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES)
        north = rng.normal(0.0, POSITION_SD_M, n)
        east = rng.normal(0.0, POSITION_SD_M, n)
        lat = encounters["lat"].to_numpy(dtype=float)
        lon = encounters["lon"].to_numpy(dtype=float)
        part = pd.DataFrame(
            {
                "occurred_at": (encounters["occurred_at"] + pd.to_timedelta(np.round(offset * 60), unit="s")),
                "badge": encounters["officer_badge"].astype(str),
                "division": encounters["division"].astype(str),
                "lat": np.round(lat + north / _M_PER_DEG_LAT, 6),
                "lon": np.round(lon + east / (_M_PER_DEG_LAT * np.cos(np.radians(np.nan_to_num(lat)))), 6),
                "kind": kind,
                "engagement_id": encounters["engagement_id"].astype(str),
                "unrecorded": dropped,
            }
        )[chosen]
        parts.append(part)
    events = pd.concat(parts).sort_values(["occurred_at", "kind", "engagement_id"]).reset_index(drop=True)
    events.insert(0, "event_id", [f"EV{seed}-{i:07d}" for i in range(len(events))])
    # An event's time is the system's own clock, to the second, with its offset.
    events["occurred_at"] = events["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    truth = events[["event_id", "engagement_id", "unrecorded"]]
    return kept.reset_index(drop=True), events[list(EVENT_COLUMNS)], truth


def truth_path(events: Path) -> Path:
    """Where the truth of an events file is written: beside it, `<name>.truth.csv`."""
    return events.with_name(f"{events.stem}.truth.csv")
