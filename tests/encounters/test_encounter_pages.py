"""The officer's page for each further person: shared answers shown once, one record and receipt each."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from encounters.encounter_steps import csrf_of, first_form, person_form, sign_in
from fairengage.engagements.models import Engagement


def first_person(client, world, badge="T900") -> tuple[str, str]:
    csrf = sign_in(client, world, badge)
    r = client.post("/engagements/new", data=first_form(csrf), follow_redirects=False)
    assert r.status_code == 303, r.text
    first_id = r.headers["location"].split("/")[2]
    return csrf, first_id


def records(sessions) -> list[Engagement]:
    with sessions() as s:
        query = select(Engagement).options(selectinload(Engagement.findings)).order_by(Engagement.entered_at)
        return list(s.scalars(query).all())


def test_the_receipt_page_offers_another_person(client, world):
    _, first_id = first_person(client, world)
    page = client.get(f"/engagements/{first_id}/receipt").text
    assert f'href="/engagements/{first_id}/another-person"' in page


def test_the_person_page_shows_the_shared_answers_without_asking_them(client, world):
    _, first_id = first_person(client, world)
    page = client.get(f"/engagements/{first_id}/another-person").text
    assert "Person 2 in this encounter" in page
    assert "Yonge St &amp; Dundas St" in page and "2025-05-05 21:10" in page
    assert 'name="place"' not in page and 'name="reason"' not in page and 'name="occurred_at"' not in page
    assert 'name="perceived_race"' in page and 'name="receipt_offered"' in page


def test_each_person_saved_is_its_own_record_of_the_encounter(client, world, sessions):
    csrf, first_id = first_person(client, world)
    r = client.post(f"/engagements/{first_id}/another-person", data=person_form(csrf), follow_redirects=False)
    assert r.status_code == 303, r.text
    second_id = r.headers["location"].split("/")[2]
    receipt = client.get(r.headers["location"]).text
    assert f'href="/engagements/{second_id}/another-person"' in receipt
    r = client.post(
        f"/engagements/{second_id}/another-person",
        data=person_form(csrf, form_key="p-2", perceived_race="White", perceived_age="50"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    rows = records(sessions)
    assert len(rows) == 3
    assert {e.encounter_id for e in rows} == {first_id}
    assert [e.perceived_race for e in rows] == ["South Asian", "Black", "White"]
    assert len({e.receipt_code for e in rows}) == 3
    assert {(e.location_description, e.reason, e.purpose) for e in rows} == {
        (rows[0].location_description, rows[0].reason, rows[0].purpose)
    }
    assert all(e.compliant for e in rows)
    # Every person is judged on their own, the training gate included.
    assert all({"TRAINING-36M", "RECEIPT-OFFER"} <= {f.rule_code for f in e.findings} for e in rows)
    assert "Person 4 in this encounter" in client.get(f"/engagements/{first_id}/another-person").text


def test_a_resubmitted_person_page_stores_one_record(client, world, sessions):
    csrf, first_id = first_person(client, world)
    for _ in range(2):
        r = client.post(
            f"/engagements/{first_id}/another-person", data=person_form(csrf), follow_redirects=False
        )
        assert r.status_code == 303
    assert len(records(sessions)) == 2


def test_a_missing_answer_is_shown_in_place_and_nothing_is_stored(client, world, sessions):
    csrf, first_id = first_person(client, world)
    form = person_form(csrf)
    del form["receipt_offered"]
    form["perceived_age"] = "old"
    r = client.post(f"/engagements/{first_id}/another-person", data=form)
    assert r.status_code == 422
    assert "This person was not saved" in r.text
    assert 'href="#perceived_age"' in r.text
    assert "Give the age in years as you perceived it (0 to 120)." in r.text
    # The answers given are kept on the page.
    assert 'value="Alex Second"' in r.text
    form["perceived_age"] = "31"
    r = client.post(f"/engagements/{first_id}/another-person", data=form)
    assert r.status_code == 422 and 'href="#receipt_offered"' in r.text
    assert len(records(sessions)) == 1


def test_shared_answers_cannot_be_changed_from_the_person_page(client, world, sessions):
    csrf, first_id = first_person(client, world)
    form = person_form(csrf, place="Somewhere else", division="D11", occurred_at="2025-01-01T00:00")
    r = client.post(f"/engagements/{first_id}/another-person", data=form, follow_redirects=False)
    assert r.status_code == 303
    first, second = records(sessions)
    assert second.location_description == first.location_description
    assert second.division_code == first.division_code and second.occurred_at == first.occurred_at


def test_another_officers_record_cannot_be_extended(client, world, sessions):
    _, first_id = first_person(client, world, "T901")
    client.post(
        "/logout",
        data={"csrftoken": csrf_of(client.get("/engagements/new").text)},
    )
    csrf = sign_in(client, world, "T902")
    assert client.get(f"/engagements/{first_id}/another-person").status_code in (403, 404)
    r = client.post(f"/engagements/{first_id}/another-person", data=person_form(csrf))
    assert r.status_code in (403, 404)
    assert len(records(sessions)) == 1


def test_without_the_csrf_token_nothing_is_stored(client, world, sessions):
    _, first_id = first_person(client, world)
    form = person_form("")
    del form["csrftoken"]
    r = client.post(f"/engagements/{first_id}/another-person", data=form)
    assert r.status_code == 403
    assert len(records(sessions)) == 1
