"""Fewer taps: the officer's own recent answers, the phone's position, and where that position may go."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from access.estate import csrf_of
from builders import compliant_form
from fairengage.db import transaction
from fairengage.engagements import location
from fairengage.engagements.extract import write_extract
from fairengage.engagements.models import Engagement
from fairengage.retention import service as retention

PASSWORD = "a-long-password"

# Two square "divisions" side by side: D14 west of -79.40, D52 east of it.
SQUARES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"DIV": code},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x0, 43.60], [x1, 43.60], [x1, 43.70], [x0, 43.70], [x0, 43.60]]],
            },
        }
        for code, x0, x1 in (("D14", -79.45, -79.40), ("D52", -79.40, -79.35))
    ],
}


@pytest.fixture
def boundaries(tmp_path: Path) -> Path:
    path = tmp_path / "divisions.geojson"
    path.write_text(json.dumps(SQUARES))
    return path


@pytest.fixture
def located_app(settings, boundaries):  # type: ignore[no-untyped-def]
    from fairengage.app import create_app

    return create_app(settings.model_copy(update={"boundaries": boundaries}))


def officer_client(app, world, badge: str, division: str = "D14") -> TestClient:
    world.officer(badge, division)
    world.user(f"o{badge}", "officer", badge=badge, password=PASSWORD)
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": f"o{badge}", "password": PASSWORD, "csrftoken": token})
    return client


def form(client: TestClient, **overrides: object) -> dict:
    page = client.get("/engagements/new").text
    return compliant_form(
        csrf_of(page),
        **{
            "form_key": re.search(r'name="form_key" value="([^"]+)"', page)[1],
            "division": "D14",
            "place": "Queen St W & Bathurst St",
            "reason": "He was trying the door handles of parked cars, one after another, and looking inside.",
            "perceived_race": "White",
            "perceived_age": "35",
            **overrides,
        },
    )


def save(client: TestClient, **overrides: object):  # type: ignore[no-untyped-def]
    return client.post("/engagements/new", data=form(client, **overrides), follow_redirects=False)


def rows(sessions) -> list[Engagement]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return list(s.scalars(select(Engagement).order_by(Engagement.entered_at)))


def chips(page: str, field: str) -> list[str]:
    return re.findall(rf'name="{field}_recent" value="([^"]*)"', page)


def test_recent_places_and_reasons_are_the_officers_own_and_never_anothers(app, world, sessions):
    alice = officer_client(app, world, "A100")
    assert (
        save(alice, place="Spadina Ave & College St", reason="Seen prying at a bike lock.").status_code == 303
    )
    assert save(alice, place="Queen St W & Bathurst St").status_code == 303
    page = alice.get("/engagements/new").text
    # Newest first, each once.
    assert chips(page, "place") == ["Queen St W &amp; Bathurst St", "Spadina Ave &amp; College St"]
    assert chips(page, "reason")[1] == "Seen prying at a bike lock."

    bob = officer_client(app, world, "B200")
    page = bob.get("/engagements/new").text
    assert chips(page, "place") == [] and chips(page, "reason") == []
    assert "Spadina" not in page and "bike lock" not in page and "Your recent places" not in page
    assert (
        save(
            bob, place="Bloor St W & Ossington Ave", reason="Matched a lookout for a stolen bike."
        ).status_code
        == 303
    )
    # Each sees only their own, even once both have records.
    assert "Spadina" not in bob.get("/engagements/new").text
    assert "Ossington" not in alice.get("/engagements/new").text


def test_a_restricted_records_words_are_not_offered_again(app, world, sessions):
    alice = officer_client(app, world, "A101")
    assert (
        save(alice, place="Dundas Sq", reason="Matched the description in the radio call.").status_code == 303
    )
    (record,) = rows(sessions)
    with transaction(sessions) as s:
        retention.restrict(
            session=s, engagement=s.get(Engagement, record.id), reason="non_compliant", actor="t"
        )
    page = alice.get("/engagements/new").text
    assert "Dundas Sq" not in page and "radio call" not in page


def test_without_script_a_recent_answer_is_a_radio_option_the_server_reads(app, world, sessions):
    alice = officer_client(app, world, "A102")
    assert save(alice).status_code == 303
    page = alice.get("/engagements/new").text
    place, reason = chips(page, "place")[0], chips(page, "reason")[0]
    r = save(alice, place="", reason="", place_recent=place.replace("&amp;", "&"), reason_recent=reason)
    assert r.status_code == 303
    second = rows(sessions)[-1]
    assert second.location_description == "Queen St W & Bathurst St"
    assert second.reason.startswith("He was trying the door handles")
    # What the officer typed wins over a ticked recent answer.
    assert save(alice, place="Front St W & John St", place_recent=place).status_code == 303
    assert rows(sessions)[-1].location_description == "Front St W & John St"


def test_the_phones_position_is_kept_with_its_division(located_app, world, sessions):
    alice = officer_client(located_app, world, "A103", division="D14")
    # The officer kept their posting's division; the position falls in D52: both are kept.
    r = save(alice, lat="43.65432", lon="-79.38765", accuracy_m="12")
    assert r.status_code == 303
    (record,) = rows(sessions)
    assert (record.lat, record.lon, record.location_accuracy_m) == (43.65432, -79.38765, 12.0)
    assert record.division_code == "D14" and record.division_at_location == "D52"
    assert save(alice).status_code == 303
    assert rows(sessions)[-1].lat is None and rows(sessions)[-1].division_at_location is None


@pytest.mark.parametrize(
    ("lat", "lon"),
    [("91", "-79.4"), ("43.6", "-181"), ("nan", "-79.4"), ("inf", "1"), ("43.6,1", "-79.4"), ("", "-79.4")],
)
def test_an_unreadable_position_is_shown_in_plain_words_and_nothing_stored(app, world, sessions, lat, lon):
    alice = officer_client(app, world, "A104")
    r = save(alice, lat=lat, lon=lon)
    if lat == "":
        # A longitude alone is no position: the record is stored without one.
        assert r.status_code == 303 and rows(sessions)[0].lat is None
        return
    assert r.status_code == 422
    assert "position could not be read" in r.text and "Input should" not in r.text
    assert rows(sessions) == []


def test_the_position_message_is_translated(app, world):
    alice = officer_client(app, world, "A105")
    alice.cookies.set("lang", "fr")
    r = alice.post("/engagements/new?lang=fr", data=form(alice, lat="999", lon="1"), follow_redirects=False)
    assert r.status_code == 422
    assert "position du téléphone" in r.text


def test_the_division_at_a_point_is_suggested_to_officers_only(located_app, world):
    alice = officer_client(located_app, world, "A106")
    assert alice.get("/engagements/division-at?lat=43.65&lon=-79.42").json() == {"division": "D14"}
    assert alice.get("/engagements/division-at?lat=43.65&lon=-79.37").json() == {"division": "D52"}
    assert alice.get("/engagements/division-at?lat=45.0&lon=-75.0").json() == {"division": None}
    bad = alice.get("/engagements/division-at?lat=95&lon=-79.4")
    assert bad.status_code in (400, 422) and "lat" in bad.text
    world.user("sup", "supervisor", division="D14", password=PASSWORD)
    sup = TestClient(located_app)
    sup.post(
        "/login", data={"username": "sup", "password": PASSWORD, "csrftoken": csrf_of(sup.get("/login").text)}
    )
    assert sup.get("/engagements/division-at?lat=43.65&lon=-79.42").status_code == 403
    anonymous = TestClient(located_app, follow_redirects=False)
    assert anonymous.get("/engagements/division-at?lat=43.65&lon=-79.42").status_code in (302, 303, 401)


def test_without_a_boundary_file_no_division_is_suggested(app, world):
    alice = officer_client(app, world, "A107")
    assert alice.get("/engagements/division-at?lat=43.65&lon=-79.42").json() == {"division": None}
    assert "data-snap" not in alice.get("/engagements/new").text


def test_only_the_form_may_ask_for_the_phones_position(app, world):
    alice = officer_client(app, world, "A108")
    assert "geolocation=(self)" in alice.get("/engagements/new").headers["permissions-policy"]
    assert "geolocation=()" in alice.get("/engagements").headers["permissions-policy"]
    assert "geolocation=()" in TestClient(app).get("/r").headers["permissions-policy"]


def test_the_form_asks_nothing_the_policy_wants_answered_and_offers_the_receipt_last(app, world):
    alice = officer_client(app, world, "A109", division="D52")
    page = alice.get("/engagements/new").text
    assert re.search(r'<option value="D52" selected>', page)
    for name in ("scope", "purpose", "informed", "informed_why", "receipt_offered", "perceived_race"):
        assert not re.search(rf'name="{name}" value="[^"]*" checked', page), name
    assert page.index('name="receipt_offered"') > page.index('name="outcome"')
    assert '<script src="/static/form-assist.js" defer></script>' in page


def test_the_extract_keeps_only_a_coarse_position(located_app, world, sessions, settings, tmp_path):
    alice = officer_client(located_app, world, "A110")
    assert save(alice, lat="43.654321", lon="-79.387654", accuracy_m="8").status_code == 303
    out = tmp_path / "t.parquet"
    write_extract(sessions=sessions, out=out, settings=settings, actor="test")
    table = pq.read_table(out).to_pylist()
    assert (table[0]["lat"], table[0]["lon"]) == (43.65, -79.39)
    assert "accuracy" not in " ".join(pq.read_schema(out).names)
    csv_out = tmp_path / "t.csv"
    write_extract(sessions=sessions, out=csv_out, settings=settings, actor="test")
    text = csv_out.read_text()
    assert "43.654321" not in text and "79.387654" not in text and "43.65" in text


def test_coarse_rounds_to_about_a_kilometre():
    assert location.coarse(43.654321) == 43.65
    assert location.coarse(-79.387654) == -79.39
    assert location.coarse(None) is None and location.coarse(float("nan")) is None


def test_a_correction_keeps_the_phones_position(located_app, world, sessions):
    alice = officer_client(located_app, world, "A111")
    assert save(alice, lat="43.65432", lon="-79.38765", accuracy_m="12").status_code == 303
    (record,) = rows(sessions)
    with transaction(sessions) as s:
        s.get(Engagement, record.id).status = "returned"
    page = alice.get(f"/engagements/{record.id}/correct").text
    hidden = dict(re.findall(r'<input type="hidden" name="(lat|lon|accuracy_m)" value="([^"]*)"', page))
    assert hidden == {"lat": "43.65432", "lon": "-79.38765", "accuracy_m": "12.0"}
    corrected = form(alice, reason="He tried three car doors on Queen St W and looked inside each.", **hidden)
    r = alice.post(f"/engagements/{record.id}/correct", data=corrected, follow_redirects=False)
    assert r.status_code == 303
    (after,) = rows(sessions)
    assert (after.lat, after.lon, after.location_accuracy_m, after.division_at_location) == (
        43.65432,
        -79.38765,
        12.0,
        "D52",
    )
    assert after.reason.startswith("He tried three car doors")
