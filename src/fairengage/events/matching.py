"""Matching events to engagements: the same officer, close in time and in place, one to one.

Pure functions over plain values, so that the rule can be tested on synthetic data without a database.

The rule, for each kind of event apart (a stop seen by dispatch and the camera recording of the same
stop both match the one engagement):

- a candidate pair is an event and an engagement of the same officer whose times differ by at most the
  window (default ±20 minutes) and whose places are at most the radius apart (default 250 m); when the
  engagement or the event has no position (the officer did not use the phone's location), the two must
  be in the same division instead;
- each pair is scored by how far it is within the window and the radius (time share plus distance
  share; a division-only pair counts half the radius), and pairs are taken from the closest up, each
  event and each engagement at most once per kind. Greedy by closeness rather than an optimal
  assignment: the two differ only where one officer has several stops minutes apart, and then the
  closest pair first is also the reading a supervisor would make.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=20)
RADIUS_M = 250.0
# How far apart in time the nearest candidate of an unmatched event may be, to be worth showing.
NEAREST_SPAN = timedelta(hours=24)
# A pair with no position on one side sits in the middle of the radius: closer pairs with positions win.
_DIVISION_ONLY_SHARE = 0.5
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Point:
    """An event or an engagement as matching sees it."""

    id: str
    officer: int | str
    at: datetime
    division: str
    lat: float | None = None
    lon: float | None = None
    kind: str = ""


@dataclass(frozen=True)
class Nearest:
    """The engagement closest in time by the same officer, for an event left unmatched."""

    engagement_id: str
    minutes: float
    metres: float | None


@dataclass(frozen=True)
class Outcome:
    matches: dict[str, str]  # event id -> engagement id
    nearest: dict[str, Nearest | None]  # unmatched event id -> its nearest candidate


def metres_between(a: Point, b: Point) -> float | None:
    """Great-circle distance in metres, or None when either has no position."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class _ByOfficer:
    """Engagements of each officer, sorted by time, for range look-ups."""

    def __init__(self, engagements: Iterable[Point]) -> None:
        grouped: dict[int | str, list[Point]] = defaultdict(list)
        for e in engagements:
            grouped[e.officer].append(e)
        self.points = {k: sorted(v, key=lambda p: p.at) for k, v in grouped.items()}
        self.times = {k: [p.at for p in v] for k, v in self.points.items()}

    def around(self, officer: int | str, at: datetime, span: timedelta) -> list[Point]:
        times = self.times.get(officer)
        if not times:
            return []
        lo = bisect.bisect_left(times, at - span)
        hi = bisect.bisect_right(times, at + span)
        return self.points[officer][lo:hi]


def score(event: Point, engagement: Point, window: timedelta, radius_m: float) -> float | None:
    """How close a pair is (0 is the same moment and place), or None when it is no candidate."""
    seconds = abs((event.at - engagement.at).total_seconds())
    if seconds > window.total_seconds():
        return None
    distance = metres_between(event, engagement)
    if distance is None:
        if event.division != engagement.division:
            return None
        place = _DIVISION_ONLY_SHARE
    elif distance > radius_m:
        return None
    else:
        place = distance / radius_m if radius_m > 0 else 0.0
    time = seconds / window.total_seconds() if window.total_seconds() > 0 else 0.0
    return time + place


def match(
    events: Iterable[Point],
    engagements: Iterable[Point],
    *,
    window: timedelta = WINDOW,
    radius_m: float = RADIUS_M,
) -> Outcome:
    """Pair events with engagements as the module docstring says; the unmatched get their nearest."""
    index = _ByOfficer(engagements)
    events = list(events)
    pairs: list[tuple[float, str, str, str]] = []
    for event in events:
        for engagement in index.around(event.officer, event.at, window):
            s = score(event, engagement, window, radius_m)
            if s is not None:
                pairs.append((s, event.id, engagement.id, event.kind))
    pairs.sort()
    matches: dict[str, str] = {}
    taken: set[tuple[str, str]] = set()  # (engagement id, kind)
    for _, event_id, engagement_id, kind in pairs:
        if event_id in matches or (engagement_id, kind) in taken:
            continue
        matches[event_id] = engagement_id
        taken.add((engagement_id, kind))
    nearest: dict[str, Nearest | None] = {}
    for event in events:
        if event.id not in matches:
            nearest[event.id] = _nearest(event, index.around(event.officer, event.at, NEAREST_SPAN))
    return Outcome(matches=matches, nearest=nearest)


def _nearest(event: Point, candidates: list[Point]) -> Nearest | None:
    if not candidates:
        return None
    best = min(candidates, key=lambda c: (abs((c.at - event.at).total_seconds()), c.id))
    metres = metres_between(event, best)
    return Nearest(
        engagement_id=best.id,
        minutes=round((best.at - event.at).total_seconds() / 60, 1),
        metres=None if metres is None else round(metres),
    )
