"""The encounters API: several people at once, all or nothing, once per key, each with a receipt."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from builders import valid_body
from fairengage.engagements.models import Engagement, Finding, IdempotencyRecord, Person
from fairengage.engagements.schemas import PERSONAL_FIELDS, SHARED_FIELDS, EncounterPersonIn, EngagementIn

SHARED = ("occurred_at", "division", "location", "purpose", "reason", "reason_grounds")


def encounter_body(people: int = 3, **overrides) -> dict:
    single = valid_body()
    body = {k: single[k] for k in SHARED}
    body["people"] = [
        {
            "perceived_race": race,
            "perceived_gender": "man",
            "perceived_age": 20 + i,
            "informed": True,
            "informed_why": True,
            "receipt_offered": True,
            "identifying_info_collected": True,
            "person": {"name": f"Person {i}"},
            "outcome": "none",
        }
        for i, race in enumerate(["Black", "White", "South Asian", "Latino", "Indigenous"][:people])
    ]
    body.update(overrides)
    return body


def count(sessions, model=Engagement) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_the_schema_splits_every_answer_into_shared_or_personal():
    assert set(SHARED_FIELDS) | set(PERSONAL_FIELDS) == set(EngagementIn.model_fields)
    assert not set(SHARED_FIELDS) & set(PERSONAL_FIELDS)
    assert set(EncounterPersonIn.model_fields) == set(PERSONAL_FIELDS)


def test_three_people_make_three_records_each_with_findings_and_receipt(client, world, sessions):
    headers = world.officer_with_token("E100")
    r = client.post("/api/v1/encounters", json=encounter_body(), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["people"] == 3 and len(body["engagements"]) == 3
    assert r.headers["Location"] == f"/api/v1/encounters/{body['id']}"
    codes = {e["receipt"]["code"] for e in body["engagements"]}
    assert len(codes) == 3
    assert body["id"] == body["engagements"][0]["id"]
    with sessions() as s:
        rows = s.scalars(select(Engagement).order_by(Engagement.perceived_age)).all()
        assert [e.perceived_race for e in rows] == ["Black", "White", "South Asian"]
        assert {e.encounter_id for e in rows} == {body["id"]}
        assert {e.location_description for e in rows} == {"Queen St W & Spadina Ave"}
        for e in rows:
            assert e.findings and e.compliant
        assert s.scalar(select(func.count()).select_from(Person)) == 3
    # Each person's receipt checks on the public page.
    for e in body["engagements"]:
        assert client.get(f"/r/{e['receipt']['code']}").status_code == 200


def test_read_back_names_the_encounter_on_every_record(client, world):
    headers = world.officer_with_token("E101")
    created = client.post("/api/v1/encounters", json=encounter_body(2), headers=headers).json()
    r = client.get(f"/api/v1/encounters/{created['id']}", headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["people"] == 2
    assert [e["id"] for e in out["engagements"]] == [e["id"] for e in created["engagements"]]
    assert all(e["encounter_id"] == created["id"] and e["person"] is None for e in out["engagements"])
    one = client.get(f"/api/v1/engagements/{created['engagements'][1]['id']}", headers=headers).json()
    assert one["encounter_id"] == created["id"]


def test_a_single_record_is_an_encounter_of_one(client, world):
    headers = world.officer_with_token("E102")
    single = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()
    r = client.get(f"/api/v1/encounters/{single['id']}", headers=headers)
    assert r.status_code == 200
    assert r.json()["people"] == 1
    assert r.json()["engagements"][0]["encounter_id"] is None


def test_unknown_and_other_officers_encounters_are_404(client, world):
    mine = world.officer_with_token("E103")
    theirs = world.officer_with_token("E104")
    created = client.post("/api/v1/encounters", json=encounter_body(2), headers=theirs).json()
    assert client.get(f"/api/v1/encounters/{created['id']}", headers=mine).status_code == 404
    assert client.get("/api/v1/encounters/nope", headers=mine).status_code == 404
    r = client.get("/api/v1/encounters/" + "x" * 37, headers=mine)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


def test_one_bad_person_stores_nothing_and_is_named_by_place(client, world, sessions):
    headers = world.officer_with_token("E105")
    body = encounter_body()
    del body["people"][2]["perceived_race"]
    body["people"][1]["receipt_offered"] = None
    r = client.post("/api/v1/encounters", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {(e["field"], e["rule"]) for e in r.json()["errors"]}
    assert ("people[2].perceived_race", "RECORD-CONTENTS") in fields
    assert ("people[1].receipt_offered", "RECEIPT-OFFER") in fields
    assert not any(f.startswith("people[0]") for f, _ in fields)
    assert count(sessions) == 0 and count(sessions, Finding) == 0 and count(sessions, Person) == 0


def test_schema_errors_name_the_person(client, world, sessions):
    headers = world.officer_with_token("E106")
    body = encounter_body()
    body["people"][2]["perceived_age"] = 300
    body["people"][0]["shoe_size"] = 9
    r = client.post("/api/v1/encounters", json=body, headers=headers)
    assert r.status_code == 422
    errors = {(e["field"], e["rule"]) for e in r.json()["errors"]}
    assert ("people[2].perceived_age", "RECORD-CONTENTS") in errors
    assert ("people[0].shoe_size", "UNKNOWN-FIELD") in errors
    assert count(sessions) == 0


def test_a_shared_problem_is_named_once(client, world, sessions):
    headers = world.officer_with_token("E107")
    r = client.post("/api/v1/encounters", json=encounter_body(3, division="D99"), headers=headers)
    assert r.status_code == 422
    division = [e for e in r.json()["errors"] if e["field"] == "division"]
    assert len(division) == 1 and division[0]["rule"] == "VALID-DIVISION"
    assert count(sessions) == 0


def test_no_people_or_too_many_is_refused(client, world, sessions):
    headers = world.officer_with_token("E108")
    r = client.post("/api/v1/encounters", json=encounter_body(0), headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "people"
    body = encounter_body(1)
    body["people"] = body["people"] * 21
    assert client.post("/api/v1/encounters", json=body, headers=headers).status_code == 422
    assert count(sessions) == 0


def test_retry_with_the_same_key_stores_nothing_more(client, world, sessions):
    headers = {**world.officer_with_token("E109"), "Idempotency-Key": "enc-1"}
    body = encounter_body()
    first = client.post("/api/v1/encounters", json=body, headers=headers)
    second = client.post("/api/v1/encounters", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()
    assert count(sessions) == 3 and count(sessions, IdempotencyRecord) == 1
    # The same key with a different encounter is refused, and stores nothing.
    body["people"][0]["perceived_age"] = 60
    third = client.post("/api/v1/encounters", json=body, headers=headers)
    assert third.status_code == 422 and third.json()["errors"][0]["rule"] == "IDEMPOTENCY-KEY"
    assert count(sessions) == 3


def test_a_key_used_for_a_single_record_never_replays_as_an_encounter(client, world, sessions):
    headers = {**world.officer_with_token("E110"), "Idempotency-Key": "shared-key"}
    assert client.post("/api/v1/engagements", json=valid_body(), headers=headers).status_code == 201
    r = client.post("/api/v1/encounters", json=encounter_body(), headers=headers)
    assert r.status_code == 422
    assert count(sessions) == 1


def test_each_person_is_judged_on_their_own(client, world, sessions):
    headers = world.officer_with_token("E111")
    body = encounter_body(2)
    body["people"][1]["receipt_offered"] = None
    body["people"][1]["receipt_exception"] = "safety"
    body["people"][1]["receipt_exception_details"] = "the crowd turned hostile"
    r = client.post("/api/v1/encounters", json=body, headers=headers)
    assert r.status_code == 201, r.text
    verdicts = [{f["rule"]: f["verdict"] for f in e["findings"]} for e in r.json()["engagements"]]
    assert verdicts[0]["RECEIPT-OFFER"] == "pass"
    assert verdicts[1]["RECEIPT-OFFER"] == "exception"


def test_a_supervisor_may_not_record_an_encounter(client, world, sessions):
    world.officer("E112", "D14")
    headers = world.user_with_token("sup", "supervisor", division="D14")
    r = client.post("/api/v1/encounters", json=encounter_body(), headers=headers)
    assert r.status_code == 403
    assert count(sessions) == 0


def test_concurrent_retries_store_one_encounter(app, world, sessions):
    from fastapi.testclient import TestClient

    headers = {**world.officer_with_token("E113"), "Idempotency-Key": "enc-race"}
    body = encounter_body()
    answers = []

    def post() -> None:
        with TestClient(app) as c:
            answers.append(c.post("/api/v1/encounters", json=body, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 6
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(sessions) == 3
