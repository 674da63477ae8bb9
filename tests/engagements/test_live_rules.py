"""Issue 12 over HTTP: the dry-run gives the save's findings, and the form shows every problem at once."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from builders import compliant_form, valid_body
from fairengage.access.models import AuditEntry
from fairengage.engagements.models import Engagement

EDT = timezone(timedelta(hours=-4))

# A moment inside each rule set's period, and a training date that covers it.
PERIODS = {
    "tpsb-2015": (datetime(2016, 6, 15, 14, 0, tzinfo=EDT), date(2015, 9, 1)),
    "on-reg-58-16": (datetime(2020, 6, 15, 14, 0, tzinfo=EDT), date(2019, 9, 1)),
    "on-reg-400-23": (datetime(2025, 6, 15, 14, 0, tzinfo=EDT), date(2024, 9, 1)),
}


def count(sessions, model=Engagement) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture(params=list(PERIODS))
def dated(request, world):
    """(rule set id, a body builder in its period, the officer's API headers)."""
    ruleset_id = request.param
    moment, trained = PERIODS[ruleset_id]
    headers = world.officer_with_token("R1", "D14", trained_on=trained)
    return ruleset_id, (lambda **kw: valid_body(occurred_at=moment.isoformat(), **kw)), headers


def save_and_check(client, headers, body):
    checked = client.post("/api/v1/engagements/check", json=body, headers=headers)
    saved = client.post("/api/v1/engagements", json=body, headers=headers)
    return checked, saved


def test_race_word_refused_by_check_and_save_alike(client, sessions, dated):
    ruleset_id, body, headers = dated
    checked, saved = save_and_check(client, headers, body(reason="Black male loitering"))
    assert saved.status_code == 422
    assert checked.status_code == 200
    answer = checked.json()
    assert answer["would_save"] is False and answer["ruleset"] == ruleset_id
    assert any(
        (f["rule"], f["field"], f["severity"]) == ("RACE-NOT-A-REASON", "reason", "refuse")
        for f in answer["findings"]
    )
    assert any(e["rule"] == "RACE-NOT-A-REASON" for e in saved.json()["errors"])
    assert count(sessions) == 0


def test_description_match_with_details_saves(client, sessions, dated):
    _, body, headers = dated
    draft = body(
        reason="Looking for the robbery suspect: Black male, red hoodie, grey bike, heading north",
        reason_grounds=["description_match"],
        description_match=True,
        description_elements=["clothing", "vehicle", "location"],
    )
    checked, saved = save_and_check(client, headers, draft)
    assert checked.json() == {"would_save": True, "ruleset": checked.json()["ruleset"], "findings": []}
    assert saved.status_code == 201 and saved.json()["compliant"] is True


def test_black_jacket_confirmed_saves_flagged_and_keeps_the_words(client, sessions, dated):
    _, body, headers = dated
    draft = body(
        reason="Man in a black jacket trying the door handles of parked cars one after another",
        race_word_not_about_person=True,
    )
    checked, saved = save_and_check(client, headers, draft)
    assert saved.status_code == 201, saved.text
    assert saved.json()["compliant"] is False
    flags = [f for f in checked.json()["findings"] if f["severity"] == "flag"]
    assert [f["rule"] for f in flags] == ["RACE-NOT-A-REASON"]
    with sessions() as s:
        stored = s.get(Engagement, saved.json()["id"])
        assert stored.race_word_not_about_person is True
        assert stored.race_words_confirmed == ["black"]
    read = client.get(f"/api/v1/engagements/{saved.json()['id']}", headers=headers).json()
    assert read["race_words_confirmed"] == ["black"]


def test_without_the_confirmation_the_black_jacket_is_refused(client, dated):
    _, body, headers = dated
    draft = body(reason="Man in a black jacket trying the door handles of parked cars one after another")
    checked, saved = save_and_check(client, headers, draft)
    assert saved.status_code == 422 and checked.json()["would_save"] is False


@pytest.mark.parametrize(
    "reason",
    [
        "Loitering",
        "present in a high-crime area",
        "Il a refusé de répondre",
        "W\u0430lked away",
        "DECLINED TO ANSWER",
    ],
)
def test_forbidden_reasons_alone_refused_and_with_a_real_ground_saved(client, dated, reason):
    _, body, headers = dated
    assert (
        client.post(
            "/api/v1/engagements", json=body(reason=reason, reason_grounds=[]), headers=headers
        ).status_code
        == 422
    )
    saved = client.post(
        "/api/v1/engagements",
        json=body(reason=f"Trying car door handles along the lane. {reason}", reason_grounds=["behaviour"]),
        headers=headers,
    )
    assert saved.status_code == 201, saved.text
    assert any(f["rule"] == "FORBIDDEN-REASONS" and f["verdict"] == "fail" for f in saved.json()["findings"])


def test_an_unanswered_scope_is_refused(client, dated):
    _, body, headers = dated
    checked, saved = save_and_check(client, headers, body(scope_answered=False))
    assert saved.status_code == 422
    assert [e["rule"] for e in saved.json()["errors"]] == ["SCOPE-EXCLUDED"]
    assert "Answer the first question" in saved.json()["errors"][0]["message"]
    assert checked.json()["would_save"] is False


def test_the_dry_run_stores_nothing_and_writes_no_audit_row(client, sessions, world):
    headers = world.officer_with_token("R2")
    before = count(sessions, AuditEntry)
    for body in (valid_body(), valid_body(reason="Black male"), valid_body(informed=None)):
        assert client.post("/api/v1/engagements/check", json=body, headers=headers).status_code == 200
    assert count(sessions) == 0
    assert count(sessions, AuditEntry) == before


def test_the_dry_run_asks_the_same_caller_checks_as_the_save(client, world):
    assert client.post("/api/v1/engagements/check", json=valid_body()).status_code == 401
    world.officer("S9", "D14", trained_on=date(2025, 6, 1))
    headers = world.user_with_token("sup9", "supervisor", badge="S9")
    assert client.post("/api/v1/engagements/check", json=valid_body(), headers=headers).status_code == 403
    bad = client.post("/api/v1/engagements/check", json=valid_body(colour="red"), headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


# --- property: for random bodies, the dry-run's findings are the save's ----------------------------------

REASONS = st.sampled_from(
    [
        "Trying car door handles one after another along the lane at night",
        "Black male",
        "loitering",
        "Man in a black jacket passing a package to a known seller",
        "walked away when I approached",
        "",
        "ok",
    ]
)
BODIES = st.fixed_dictionaries(
    {
        "reason": REASONS,
        "reason_grounds": st.lists(
            st.sampled_from(
                ["behaviour", "vehicle", "walked_away", "high_crime_area", "description_match", "nope"]
            ),
            max_size=3,
            unique=True,
        ),
        "description_match": st.booleans(),
        "description_elements": st.lists(
            st.sampled_from(["clothing", "vehicle", "race"]), max_size=2, unique=True
        ),
        "race_word_not_about_person": st.booleans(),
        "scope_answered": st.booleans(),
        "scope_exclusion": st.sampled_from([None, "legally_required", "made_up"]),
        "purpose": st.sampled_from(["suspicious_activities", "intelligence", "curiosity", None]),
        "informed": st.sampled_from([True, False, None]),
        "receipt_offered": st.sampled_from([True, None]),
        "perceived_race": st.sampled_from(["White", "Black", "Purple", None]),
        "perceived_age": st.sampled_from([30, None, 121]),
        "division": st.sampled_from(["D14", "D99"]),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=BODIES)
def test_property_check_findings_are_the_saves(client, world, changes):
    if not hasattr(world, "_prop_headers"):
        world._prop_headers = world.officer_with_token("P1")
    headers = world._prop_headers
    body = valid_body(**changes)
    checked, saved = save_and_check(client, headers, body)
    if checked.status_code != 200:
        # A body the schema refuses is refused by both alike.
        assert (checked.status_code, checked.json()["errors"]) == (saved.status_code, saved.json()["errors"])
        return
    answer = checked.json()
    if saved.status_code == 201:
        assert answer["would_save"] is True
        fails = [
            (f["rule"], f["field"], f["message"]) for f in saved.json()["findings"] if f["verdict"] == "fail"
        ]
        assert [(f["rule"], f["field"], f["message"]) for f in answer["findings"]] == fails
        assert all(f["severity"] == "flag" for f in answer["findings"])
    else:
        assert saved.status_code == 422 and answer["would_save"] is False
        refusals = [
            (f["rule"], f["field"], f["message"]) for f in answer["findings"] if f["severity"] == "refuse"
        ]
        assert refusals == [(e["rule"], e["field"], e["message"]) for e in saved.json()["errors"]]


# --- the form --------------------------------------------------------------------------------------------


def sign_in(client, world, badge="F1", trained_on=date(2024, 1, 15)) -> str:
    world.officer(badge, "D52", name="Jordan Lee", trained_on=trained_on)
    world.user(f"o{badge}", "officer", badge=badge, password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": f"o{badge}", "password": "a-long-password", "csrftoken": token})
    return re.search(r'name="csrftoken" value="([^"]+)"', client.get("/engagements/new").text).group(1)


def good_form(csrf: str, **overrides) -> dict:
    return compliant_form(csrf, **{"form_key": "k-live", **overrides})


RAW = ("String should", "at least 1 character", "Input should", "validation error", "Field required")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_empty_form_shows_every_problem_the_first_time_in_plain_words(client, world, sessions, lang):
    csrf = sign_in(client, world)
    r = client.post(
        f"/engagements/new?lang={lang}", data={"csrftoken": csrf, "division": "", "occurred_at": ""}
    )
    assert r.status_code == 422
    summary = r.text[
        r.text.index('id="error-summary"') : r.text.index("</div>", r.text.index('id="error-summary"'))
    ]
    anchors = set(re.findall(r'href="#([a-z_]+)"', summary))
    assert anchors >= {
        "scope",
        "purpose",
        "occurred_at",
        "place",
        "reason",
        "informed",
        "informed_why",
        "receipt_offered",
        "perceived_race",
        "perceived_gender",
        "perceived_age",
        "identifying_info_collected",
    }, anchors
    for raw in RAW:
        assert raw not in r.text
    if lang == "fr":
        assert "Répondez à la première question" in summary
    else:
        assert "Answer the first question" in summary
    assert count(sessions) == 0


def test_an_unreadable_age_beside_other_problems_shows_them_all(client, world):
    csrf = sign_in(client, world)
    r = client.post("/engagements/new", data=good_form(csrf, perceived_age="abc", place="", informed=""))
    assert r.status_code == 422
    for anchor in ("perceived_age", "place", "informed"):
        assert f'href="#{anchor}"' in r.text
    for raw in RAW:
        assert raw not in r.text


@pytest.mark.parametrize(
    "changes",
    [
        {"reason": "Black male loitering", "reason_grounds": ["behaviour"]},
        {"reason": "loitering", "reason_grounds": []},
        {"reason": "present in a high-crime area", "reason_grounds": []},
        {"scope": ""},
    ],
)
def test_the_findings_behind_the_issue_are_refused_on_the_form(client, world, sessions, changes):
    csrf = sign_in(client, world)
    form = good_form(csrf, **changes)
    if changes.get("scope") == "":
        del form["scope"]
    r = client.post("/engagements/new", data=form)
    assert r.status_code == 422
    assert count(sessions) == 0


def test_the_black_jacket_confirmed_on_the_form_is_saved_and_flagged(client, world, sessions):
    csrf = sign_in(client, world)
    form = good_form(
        csrf,
        reason="Man in a black jacket was trying the door handles of parked cars one by one.",
        race_word_not_about_person="yes",
    )
    r = client.post("/engagements/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    with sessions() as s:
        stored = s.scalars(select(Engagement)).one()
        assert stored.race_words_confirmed == ["black"] and not stored.compliant
    receipt = client.get(r.headers["location"] + "?lang=fr").text
    assert "a confirmé qu" in receipt and "décrit autre chose que la personne" in receipt


def test_the_form_check_answers_json_in_the_pages_language_and_stores_nothing(client, world, sessions):
    csrf = sign_in(client, world)
    r = client.post(
        "/engagements/check?lang=fr", data=good_form(csrf, reason="Homme noir", reason_grounds=[])
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    answer = r.json()
    race = [f for f in answer["findings"] if f["rule"] == "RACE-NOT-A-REASON"]
    assert race and race[0]["anchor"] == "reason" and race[0]["severity"] == "refuse"
    assert race[0]["message"].startswith("La race ne peut")
    assert answer["would_save"] is False
    ok = client.post("/engagements/check", data=good_form(csrf)).json()
    assert ok == {"would_save": True, "ruleset": "on-reg-400-23", "findings": []}
    assert count(sessions) == 0


def test_the_form_check_needs_the_csrf_token(client, world):
    sign_in(client, world)
    assert client.post("/engagements/check", data=good_form("")).status_code == 403
