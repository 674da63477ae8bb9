"""The officer's form: each rule problem shown in place, nothing stored until it passes, then the receipt."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from builders import compliant_form
from fairengage.engagements.models import Engagement


def sign_in(client, world, badge="T800") -> str:
    world.officer(badge, "D52", name="Jordan Lee")
    world.user(f"o{badge}", "officer", badge=badge, password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": f"o{badge}", "password": "a-long-password", "csrftoken": token})
    return re.search(r'name="csrftoken" value="([^"]+)"', client.get("/engagements/new").text).group(1)


def good_form(csrf: str, **overrides) -> dict:
    return compliant_form(csrf, **{"form_key": "k-1", **overrides})


def stored(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Engagement))


def test_form_walks_through_the_duties_in_order(client, world):
    sign_in(client, world)
    page = client.get("/engagements/new").text
    order = [
        page.index(s)
        for s in (
            "Is this a community engagement?",
            "When and where",
            "Your reason",
            "Informing the person",
            "How you perceived the person",
            "Information and outcome",
            # The receipt is offered at the end of the encounter, so it is the form's last step.
            "Did you offer a receipt?",
        )
    ]
    assert order == sorted(order)
    # Every input has a label the screen reader can announce.
    for input_id in re.findall(r'<(?:input|textarea|select)[^>]* id="([^"]+)"', page):
        assert f'for="{input_id}"' in page or input_id in ("scope", "description_match"), input_id


def test_missing_answers_are_shown_in_place_and_nothing_stored(client, world, sessions):
    csrf = sign_in(client, world)
    r = client.post("/engagements/new", data=good_form(csrf, informed="", receipt_offered="no"))
    assert r.status_code == 422
    assert 'id="error-summary"' in r.text
    assert 'href="#informed"' in r.text and 'href="#receipt_offered"' in r.text
    assert 'aria-invalid="true"' in r.text
    # The officer's answers are kept.
    assert "Yonge St &amp; Dundas St" in r.text
    assert stored(sessions) == 0


def test_excluded_scope_stops_the_record(client, world, sessions):
    csrf = sign_in(client, world)
    r = client.post("/engagements/new", data=good_form(csrf, scope="legally_required"))
    assert r.status_code == 422 and 'href="#scope"' in r.text
    assert stored(sessions) == 0


def test_race_alone_is_refused_on_the_form(client, world, sessions):
    csrf = sign_in(client, world)
    r = client.post(
        "/engagements/new", data=good_form(csrf, reason_grounds=[], reason="Black male on the corner")
    )
    assert r.status_code == 422 and 'href="#reason"' in r.text
    assert stored(sessions) == 0


def test_valid_form_ends_on_the_receipt_once(client, world, sessions):
    csrf = sign_in(client, world)
    r = client.post("/engagements/new", data=good_form(csrf), follow_redirects=False)
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert "Offer the receipt" in done.text
    code = re.search(r'class="code">([0-9A-Z-]{14})<', done.text).group(1)
    assert "Jordan Lee" in client.get(f"/r/{code}").text
    # A double tap resubmits the same form key: still one record.
    again = client.post("/engagements/new", data=good_form(csrf), follow_redirects=False)
    assert again.headers["location"] == r.headers["location"]
    assert stored(sessions) == 1


def test_form_exception_ground_is_accepted(client, world, sessions):
    csrf = sign_in(client, world)
    r = client.post(
        "/engagements/new",
        data=good_form(
            csrf,
            receipt_offered="no",
            receipt_exception="safety",
            receipt_exception_details="crowd gathering",
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert stored(sessions) == 1


def test_form_in_french(client, world):
    sign_in(client, world)
    page = client.get("/engagements/new?lang=fr").text
    assert 'lang="fr"' in page
    assert "Enregistrer une interaction communautaire" in page


def test_supervisor_cannot_use_the_form(client, world):
    world.user("sup", "supervisor", division="D52", password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "sup", "password": "a-long-password", "csrftoken": token})
    assert client.get("/engagements/new").status_code == 403
