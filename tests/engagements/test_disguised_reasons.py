"""A race word disguised by a look-alike letter or an invisible character is refused through the API and
the form, in each shipped rule set's period, as the plain word is; and nothing is stored."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from builders import compliant_form, valid_body
from fairengage.engagements.models import Engagement

EDT = timezone(timedelta(hours=-4))
# A mid-period afternoon in each shipped rule set.
MOMENTS = {
    "tpsb-2015": datetime(2016, 6, 15, 14, 0, tzinfo=EDT),
    "on-reg-58-16": datetime(2020, 6, 15, 14, 0, tzinfo=EDT),
    "on-reg-400-23": datetime(2025, 6, 15, 14, 0, tzinfo=EDT),
}
REASONS = {
    "plain": "Black male standing on the corner",
    "cyrillic": "Bl\u0430ck male standing on the corner",
    "zero-width": "Bl\u200back male standing on the corner",
}


def stored(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Engagement))


@pytest.mark.parametrize("ruleset_id", MOMENTS)
@pytest.mark.parametrize("kind", REASONS)
def test_api_refuses_the_disguised_race_word(client, world, sessions, ruleset_id, kind):
    moment = MOMENTS[ruleset_id]
    headers = world.officer_with_token("T610", trained_on=moment.date() - timedelta(days=200))
    body = valid_body(occurred_at=moment.isoformat(), reason=REASONS[kind], reason_grounds=[])
    r = client.post("/api/v1/engagements", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert any(e["field"] == "reason" and e["rule"] == "RACE-NOT-A-REASON" for e in errors), errors
    assert stored(sessions) == 0


@pytest.mark.parametrize("ruleset_id", MOMENTS)
def test_api_records_an_accented_ordinary_reason(client, world, sessions, ruleset_id):
    moment = MOMENTS[ruleset_id]
    headers = world.officer_with_token("T611", trained_on=moment.date() - timedelta(days=200))
    reason = "Noël, au café : il essayait les poignées des voitures garées, l'une après l'autre."
    body = valid_body(occurred_at=moment.isoformat(), reason=reason, reason_grounds=["behaviour"])
    r = client.post("/api/v1/engagements", json=body, headers=headers)
    assert r.status_code == 201, r.text
    race = [f for f in r.json()["findings"] if f["rule"] == "RACE-NOT-A-REASON"]
    assert [f["verdict"] for f in race] == ["pass"]
    assert stored(sessions) == 1


def sign_in(client, world, trained_on) -> str:
    world.officer("T820", "D52", trained_on=trained_on, name="Jordan Lee")
    world.user("oT820", "officer", badge="T820", password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "oT820", "password": "a-long-password", "csrftoken": token})
    return re.search(r'name="csrftoken" value="([^"]+)"', client.get("/engagements/new").text).group(1)


def form(csrf: str, occurred_at: str, reason: str) -> dict:
    return compliant_form(
        csrf,
        form_key="k-disguised",
        occurred_at=occurred_at,
        reason=reason,
        reason_grounds=[],
        perceived_race="Black",
    )


def reason_errors(page: str) -> list[str]:
    """The error summary's entries that point at the reason field."""
    return re.findall(r'<a href="#reason">([^<]+)</a>', page)


@pytest.mark.parametrize("ruleset_id", MOMENTS)
@pytest.mark.parametrize("kind", ["cyrillic", "zero-width"])
def test_form_refuses_the_disguised_race_word(client, world, sessions, ruleset_id, kind):
    moment = MOMENTS[ruleset_id]
    csrf = sign_in(client, world, moment.date() - timedelta(days=200))
    when = moment.strftime("%Y-%m-%dT%H:%M")
    plain = client.post("/engagements/new", data=form(csrf, when, REASONS["plain"]))
    assert plain.status_code == 422 and reason_errors(plain.text), plain.text[:2000]
    disguised = client.post("/engagements/new", data=form(csrf, when, REASONS[kind]))
    assert disguised.status_code == 422, disguised.text[:2000]
    # The same message as the plain word gets: race cannot be part of the reason.
    assert reason_errors(disguised.text) == reason_errors(plain.text)
    assert stored(sessions) == 0


@pytest.mark.parametrize("nothing", ["\u200b", "\u200b\u2060\ufeff", "\u00ad \u200d"])
def test_api_refuses_a_reason_of_invisible_characters(client, world, sessions, nothing):
    headers = world.officer_with_token("T612")
    r = client.post("/api/v1/engagements", json=valid_body(reason=nothing), headers=headers)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert any(e["field"] == "reason" and e["rule"] == "REASON-REQUIRED" for e in errors), errors
    assert stored(sessions) == 0
