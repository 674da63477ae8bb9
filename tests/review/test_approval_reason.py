"""A supervisor cannot approve a record that failed a rule without a written reason, kept in its history."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from builders import valid_body
from fairengage.access.models import User
from fairengage.access.principal import Principal
from fairengage.engagements.models import Engagement
from fairengage.errors import RecordRefused
from fairengage.review import service

EDT = timezone(timedelta(hours=-4))
PERIODS = {
    "tpsb-2015": (datetime(2016, 6, 15, 14, 0, tzinfo=EDT), date(2015, 9, 1)),
    "on-reg-58-16": (datetime(2020, 6, 15, 14, 0, tzinfo=EDT), date(2019, 9, 1)),
    "on-reg-400-23": (datetime(2025, 6, 15, 14, 0, tzinfo=EDT), date(2024, 9, 1)),
}
FLAGGED = "Trying car door handles along the lane, then walked away when I approached."
TODAY = date(2026, 1, 5)


def principal_of(sessions, username: str) -> Principal:
    with sessions() as s:
        return Principal.of(s.scalars(select(User).where(User.username == username)).one())


@pytest.fixture(params=list(PERIODS))
def records(request, world, client):
    """(flagged id, clean id, rule set id) recorded in one rule set's period, and a trained reviewer."""
    moment, trained = PERIODS[request.param]
    headers = world.officer_with_token("A1", "D14", trained_on=trained)
    world.officer("S1", "D14", trained_on=date(2025, 6, 1), name="Sgt One")
    world.user("sup14", "supervisor", badge="S1", password="a-long-password")
    ids = []
    for reason in (FLAGGED, valid_body()["reason"]):
        r = client.post(
            "/api/v1/engagements",
            json=valid_body(occurred_at=moment.isoformat(), reason=reason),
            headers=headers,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    flagged = client.get(f"/api/v1/engagements/{ids[0]}", headers=headers).json()
    assert flagged["ruleset"]["id"] == request.param and flagged["compliant"] is False
    return ids[0], ids[1]


@pytest.mark.parametrize("reason", ["", "   ", "\u200b"])
def test_approving_a_failed_rule_without_a_reason_is_refused(records, sessions, reason):
    flagged, _ = records
    sup = principal_of(sessions, "sup14")
    with sessions.begin() as s, pytest.raises(RecordRefused) as refused:
        service.decide(
            session=s, principal=sup, engagement_id=flagged, decision="approved", reason=reason, today=TODAY
        )
    assert [e.field for e in refused.value.errors] == ["reason"]
    with sessions() as s:
        assert s.get(Engagement, flagged).status == "pending_review"


def test_approving_a_failed_rule_with_a_reason_keeps_it_in_the_history(records, sessions):
    flagged, clean = records
    sup = principal_of(sessions, "sup14")
    why = "Spoke to the officer: the car-door checks carried the reason; walking away was only context."
    with sessions.begin() as s:
        service.decide(
            session=s, principal=sup, engagement_id=flagged, decision="approved", reason=why, today=TODAY
        )
        # A record that failed no rule is approved as before, without a reason.
        service.decide(
            session=s, principal=sup, engagement_id=clean, decision="approved", reason="", today=TODAY
        )
    with sessions() as s:
        _, decisions = service.history(session=s, engagement_id=flagged)
        assert [(d.decision, d.reason) for d in decisions] == [("approved", why)]
        assert s.get(Engagement, flagged).status == "approved"


def test_the_review_page_asks_for_the_reason_in_plain_words(records, client, sessions):
    flagged, _ = records
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "sup14", "password": "a-long-password", "csrftoken": token})
    page = client.get(f"/review/{flagged}?lang=fr").text
    csrf = re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)
    r = client.post(f"/review/{flagged}/decision?lang=fr", data={"csrftoken": csrf, "decision": "approved"})
    assert r.status_code == 422
    assert "Pour l&#39;approuver quand même" in r.text or "Pour l'approuver quand même" in r.text
    r = client.post(
        f"/review/{flagged}/decision",
        data={"csrftoken": csrf, "decision": "approved", "reason": "The real ground carried it."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with sessions() as s:
        _, decisions = service.history(session=s, engagement_id=flagged)
        assert decisions[-1].reason == "The real ground carried it."


def test_the_api_refuses_an_approval_without_a_reason_and_keeps_one_given(records, client, world, sessions):
    flagged, _ = records
    headers = {"Authorization": f"Bearer {world.token('sup14')}"}
    path = f"/api/v1/review/{flagged}/decision"
    refused = client.post(path, json={"decision": "approved"}, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [("reason", "REVIEW-30D")]
    with sessions() as s:
        assert s.get(Engagement, flagged).status == "pending_review"
    why = "Checked with the officer: the car doors carried the reason."
    answer = client.post(path, json={"decision": "approved", "reason": why}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["decision"], answer.json()["reason"], answer.json()["reviewer"]) == (
        "approved",
        why,
        "sup14",
    )
    again = client.post(path, json={"decision": "approved", "reason": why}, headers=headers)
    assert again.status_code == 409
    with sessions() as s:
        _, decisions = service.history(session=s, engagement_id=flagged)
        assert [(d.decision, d.reason) for d in decisions] == [("approved", why)]


def test_the_api_decision_is_for_reviewers_only(records, client, world):
    flagged, _ = records
    officer = {"Authorization": f"Bearer {world.token('uA1')}"}
    assert (
        client.post(
            f"/api/v1/review/{flagged}/decision",
            json={"decision": "approved", "reason": "x"},
            headers=officer,
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/review/{flagged}/decision", json={"decision": "approved"}).status_code == 401
