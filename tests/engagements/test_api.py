"""The recording API against docs/architecture.md's contract."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from builders import valid_body
from fairengage.access import audit
from fairengage.access.models import AuditEntry
from fairengage.engagements.models import Engagement, Person


def count(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Engagement))


def test_no_token_is_401_problem(client):
    r = client.post("/api/v1/engagements", json=valid_body())
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 401


def test_bad_token_is_401(client):
    r = client.post("/api/v1/engagements", json=valid_body(), headers={"Authorization": "Bearer fe_nope"})
    assert r.status_code == 401


def test_records_a_compliant_engagement(client, world, sessions):
    headers = world.officer_with_token("T100")
    r = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["compliant"] is True
    assert {f["rule"] for f in body["findings"]} >= {"INFORM-RIGHT", "RECEIPT-OFFER", "TRAINING-36M"}
    assert all(f["verdict"] in ("pass", "exception") for f in body["findings"])
    assert body["receipt"]["url"].endswith("/r/" + body["receipt"]["code"])
    assert count(sessions) == 1
    audit.seal_all(sessions)
    with sessions() as s:
        person = s.get(Person, body["id"])
        assert person.name == "Sam Example"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == body["id"])).one()
        assert entry.action == "engagement.create" and entry.actor == "uT100"


def test_missing_informing_answer_is_422_naming_informed(client, world, sessions):
    headers = world.officer_with_token("T101")
    body = valid_body()
    del body["informed"]
    r = client.post("/api/v1/engagements", json=body, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert any(e["field"] == "informed" and e["rule"] == "INFORM-RIGHT" for e in problem["errors"]), problem
    assert count(sessions) == 0


def test_exception_ground_is_recorded_and_compliant(client, world):
    headers = world.officer_with_token("T102")
    body = valid_body(informed=None, inform_exception="safety", inform_exception_details="crowd was hostile")
    del body["informed"]
    r = client.post("/api/v1/engagements", json=body, headers=headers)
    assert r.status_code == 201, r.text
    verdicts = {f["rule"]: f["verdict"] for f in r.json()["findings"]}
    assert verdicts["INFORM-RIGHT"] == "exception"
    assert r.json()["compliant"] is True


def test_same_idempotency_key_gives_one_record(client, world, sessions):
    headers = {**world.officer_with_token("T103"), "Idempotency-Key": "abc-123"}
    first = client.post(
        "/api/v1/engagements", json=valid_body(occurred_at="2025-01-02T10:00:00-05:00"), headers=headers
    )
    second = client.post(
        "/api/v1/engagements", json=valid_body(occurred_at="2025-01-02T10:00:00-05:00"), headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert count(sessions) == 1


def test_reused_key_with_other_body_is_refused(client, world, sessions):
    headers = {**world.officer_with_token("T104"), "Idempotency-Key": "k1"}
    assert (
        client.post("/api/v1/engagements", json=valid_body(perceived_age=30), headers=headers).status_code
        == 201
    )
    r = client.post("/api/v1/engagements", json=valid_body(perceived_age=31), headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["rule"] == "IDEMPOTENCY-KEY"
    assert count(sessions) == 1


def test_concurrent_repeats_store_one_record(app, world, sessions):
    from fastapi.testclient import TestClient

    headers = {**world.officer_with_token("T105"), "Idempotency-Key": "race-1"}
    body = valid_body(occurred_at="2025-03-01T12:00:00-05:00")
    answers: list = []

    def post() -> None:
        with TestClient(app) as c:
            answers.append(c.post("/api/v1/engagements", json=body, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(sessions) == 1


def test_officer_cannot_read_another_officers_record(client, world):
    mine = world.officer_with_token("T106")
    theirs = world.officer_with_token("T107")
    rid = client.post("/api/v1/engagements", json=valid_body(), headers=mine).json()["id"]
    assert client.get(f"/api/v1/engagements/{rid}", headers=mine).status_code == 200
    r = client.get(f"/api/v1/engagements/{rid}", headers=theirs)
    assert r.status_code in (403, 404)
    assert r.headers["content-type"].startswith("application/problem+json")
    listed = client.get("/api/v1/engagements", headers=theirs).json()
    assert listed["total"] == 0


def test_supervisor_sees_division_not_others(client, world):
    officer = world.officer_with_token("T108", "D14")
    sup14 = world.user_with_token("sup14", "supervisor", division="D14")
    world.user("sup52", "supervisor", division="D52")
    sup52 = {"Authorization": f"Bearer {world.token('sup52')}"}
    rid = client.post("/api/v1/engagements", json=valid_body(), headers=officer).json()["id"]
    assert client.get(f"/api/v1/engagements/{rid}", headers=sup14).status_code == 200
    assert client.get(f"/api/v1/engagements/{rid}", headers=sup52).status_code == 404


def test_reading_person_is_audited_with_purpose(client, world, sessions):
    headers = world.officer_with_token("T109")
    rid = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["id"]
    r = client.get(f"/api/v1/engagements/{rid}", params={"purpose": "follow-up call"}, headers=headers)
    assert r.json()["person"]["name"] == "Sam Example"
    with sessions() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "person.read")).all()
    assert [(e.entity_id, e.purpose, e.actor) for e in reads] == [(rid, "follow-up call", "uT109")]


def test_auditor_reads_facts_without_person(client, world):
    headers = world.officer_with_token("T110")
    auditor = world.user_with_token("aud", "auditor")
    rid = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["id"]
    r = client.get(f"/api/v1/engagements/{rid}", headers=auditor)
    assert r.status_code == 200 and r.json()["person"] is None


def test_analyst_may_not_record_or_read(client, world):
    analyst = world.user_with_token("ana", "analyst")
    assert client.post("/api/v1/engagements", json=valid_body(), headers=analyst).status_code == 403
    assert client.get("/api/v1/engagements", headers=analyst).status_code == 403


def test_list_filters_and_paginates(client, world):
    headers = world.officer_with_token("T111")
    for age, race in [(20, "Black"), (30, "White"), (40, "Black"), (50, "South Asian"), (60, "Black")]:
        assert (
            client.post(
                "/api/v1/engagements",
                json=valid_body(perceived_age=age, perceived_race=race),
                headers=headers,
            ).status_code
            == 201
        )
    page = client.get(
        "/api/v1/engagements", params={"perceived_race": "Black", "limit": 2}, headers=headers
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_offset"] == 2
    rest = client.get(
        "/api/v1/engagements", params={"perceived_race": "Black", "limit": 2, "offset": 2}, headers=headers
    ).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    ids = {i["id"] for i in page["items"]} | {i["id"] for i in rest["items"]}
    assert len(ids) == 3
    assert all("person" not in i or i["person"] is None for i in page["items"])


def refused(client, headers, sessions, body, field, rule=None):
    r = client.post("/api/v1/engagements", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert any(e["field"].split(".")[0] == field and (rule is None or e["rule"] == rule) for e in errors), (
        errors
    )
    assert count(sessions) == 0


def test_bad_input_is_refused_and_nothing_stored(client, world, sessions):
    h = world.officer_with_token("T112")
    refused(client, h, sessions, valid_body(colour="red"), "colour", "UNKNOWN-FIELD")
    refused(client, h, sessions, valid_body(perceived_age="thirty"), "perceived_age", "RECORD-CONTENTS")
    refused(client, h, sessions, valid_body(perceived_age=150), "perceived_age", "RECORD-CONTENTS")
    refused(client, h, sessions, valid_body(perceived_age=-1), "perceived_age", "RECORD-CONTENTS")
    refused(client, h, sessions, valid_body(informed="yes"), "informed", "INFORM-RIGHT")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused(client, h, sessions, valid_body(occurred_at=future), "occurred_at", "VALID-TIME")
    refused(client, h, sessions, valid_body(occurred_at="2025-01-01T10:00:00"), "occurred_at")
    refused(client, h, sessions, valid_body(division="D99"), "division", "VALID-DIVISION")
    refused(client, h, sessions, valid_body(purpose="traffic"), "purpose", "SCOPE-PURPOSE")
    refused(client, h, sessions, valid_body(reason=""), "reason", "REASON-REQUIRED")
    refused(client, h, sessions, valid_body(outcome="fine"), "outcome", "RECORD-CONTENTS")
    refused(client, h, sessions, valid_body(contraband_found=True), "contraband_found")
    refused(
        client, h, sessions, valid_body(occurred_at="2010-01-01T10:00:00-05:00"), "occurred_at", "VALID-TIME"
    )


def test_reason_resting_on_race_alone_is_refused(client, world, sessions):
    h = world.officer_with_token("T113")
    body = valid_body(reason="Black male standing on the corner", reason_grounds=[])
    refused(client, h, sessions, body, "reason", "RACE-NOT-A-REASON")


def test_untrained_officer_is_refused(client, world, sessions):
    from datetime import date

    h = world.officer_with_token("T114", trained_on=date(2019, 1, 1))
    refused(client, h, sessions, valid_body(), "officer", "TRAINING-36M")


def test_flagged_record_is_stored_with_its_flag(client, world):
    h = world.officer_with_token("T115")
    body = valid_body(
        reason="Walked away when I approached him near the station entrance late at night.",
        reason_grounds=["behaviour"],
    )
    r = client.post("/api/v1/engagements", json=body, headers=h)
    assert r.status_code == 201, r.text
    fails = [f for f in r.json()["findings"] if f["verdict"] == "fail"]
    assert [f["rule"] for f in fails] == ["FORBIDDEN-REASONS"]
    assert r.json()["compliant"] is False


def test_ruleset_current_publishes_lists_and_rules(client):
    r = client.get("/api/v1/rulesets/current")
    assert r.status_code == 200
    data = r.json()
    assert data["id"] == "on-reg-400-23"
    assert {p["code"] for p in data["purposes"]} == {
        "inquiring_into_offences",
        "suspicious_activities",
        "intelligence",
    }
    assert any(rule["code"] == "INFORM-RIGHT" for rule in data["rules"])
    older = client.get("/api/v1/rulesets/current", params={"on": "2018-06-01"}).json()
    assert older["id"] == "on-reg-58-16"


def test_openapi_and_health(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/engagements" in spec["paths"]
