"""The matching rule: the same officer, within the window and radius (or division), one to one per kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fairengage.events.matching import Point, match, metres_between

T0 = datetime(2025, 5, 5, 21, 0, tzinfo=UTC)
# About 111 m per 0.001 degree of latitude.
HERE = (43.65, -79.39)


def eng(
    id_: str, minutes: float = 0, north_m: float = 0, officer: str = "A", division: str = "D14", located=True
):
    lat = HERE[0] + north_m / 111_195 if located else None
    return Point(id_, officer, T0 + timedelta(minutes=minutes), division, lat, HERE[1] if located else None)


def ev(id_: str, minutes: float = 0, north_m: float = 0, officer: str = "A", kind: str = "person_stop", **kw):
    located = kw.get("located", True)
    division = kw.get("division", "D14")
    lat = HERE[0] + north_m / 111_195 if located else None
    return Point(
        id_, officer, T0 + timedelta(minutes=minutes), division, lat, HERE[1] if located else None, kind
    )


def test_distance_is_great_circle_metres():
    assert metres_between(eng("a"), eng("b", north_m=250)) == pytest.approx(250, rel=1e-3)
    assert metres_between(eng("a"), eng("b", located=False)) is None


@pytest.mark.parametrize(
    ("event", "matched"),
    [
        (ev("e", minutes=19.9, north_m=240), True),
        (ev("e", minutes=20.1), False),  # outside the window
        (ev("e", minutes=-20.1), False),
        (ev("e", north_m=260), False),  # outside the radius
        (ev("e", officer="B"), False),  # another officer
        (ev("e", located=False), True),  # no position: the same division will do
        (ev("e", located=False, division="D52"), False),  # … but not another division
    ],
)
def test_a_candidate_is_the_same_officer_within_the_window_and_radius(event, matched):
    assert (event.id in match([event], [eng("x")]).matches) is matched


def test_options_change_the_window_and_radius():
    event = ev("e", minutes=30, north_m=400)
    assert match([event], [eng("x")]).matches == {}
    assert match([event], [eng("x")], window=timedelta(minutes=31), radius_m=500).matches == {"e": "x"}


def test_one_engagement_takes_one_event_of_each_kind_and_the_closest_wins():
    events = [ev("far", minutes=10), ev("near", minutes=1), ev("cam", minutes=5, kind="bwc_recording")]
    outcome = match(events, [eng("x")])
    assert outcome.matches == {"near": "x", "cam": "x"}
    assert set(outcome.nearest) == {"far"}
    assert outcome.nearest["far"].engagement_id == "x"
    assert outcome.nearest["far"].minutes == pytest.approx(-10)


def test_two_stops_minutes_apart_each_take_their_own_event():
    # Greedy by closeness: the first event is nearer the first stop, the second nearer the second.
    outcome = match([ev("e1", minutes=2), ev("e2", minutes=9)], [eng("x1"), eng("x2", minutes=10)])
    assert outcome.matches == {"e1": "x1", "e2": "x2"}


def test_an_unmatched_event_with_no_record_that_day_has_no_nearest():
    outcome = match([ev("e")], [eng("x", minutes=60 * 30)])
    assert outcome.matches == {} and outcome.nearest == {"e": None}
