"""The recording path under the conditions a busy service meets: clashing receipt codes, racing repeats."""

from __future__ import annotations

from sqlalchemy import func, select

from builders import valid_body
from fairengage.engagements.models import Engagement
from fairengage.receipts import codes


def test_a_receipt_code_already_taken_is_drawn_again_not_a_server_error(client, world, sessions, monkeypatch):
    # 30 random serial bits meet the birthday bound within tens of thousands of receipts; before this
    # was handled, the unique index's error reached the officer as a 500 and the record was lost.
    headers = world.officer_with_token("R100")
    first = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert first.status_code == 201
    taken = first.json()["receipt"]["code"]
    real_issue = codes.issue_code
    draws = iter([taken, taken])
    monkeypatch.setattr(codes, "issue_code", lambda secret: next(draws, None) or real_issue(secret))
    second = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert second.status_code == 201, second.text
    assert second.json()["receipt"]["code"] != taken
    assert codes.verify_code(second.json()["receipt"]["code"], b"test-secret-key-0123456789abcdef")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Engagement)) == 2


def test_a_replayed_answer_is_the_first_answer_byte_for_byte(client, world):
    headers = {**world.officer_with_token("R101"), "Idempotency-Key": "phone-42"}
    body = valid_body()
    first = client.post("/api/v1/engagements", json=body, headers=headers)
    again = client.post("/api/v1/engagements", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
