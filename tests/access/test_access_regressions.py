"""Access bugs the route matrix found, each pinned by the request that showed it."""

from __future__ import annotations

from datetime import date, timedelta

from access.estate import csrf_of, sign_in
from fairengage.access import service as access
from fairengage.db import transaction

RETURN_REASON = "Say which door handles."  # what the supervisor wrote when returning the record


def test_a_refused_correction_form_is_shown_only_to_the_records_officer(estate, browser_for, world):
    """POST /engagements/{id}/correct used to answer any signed-in user with the correction form (422),
    the supervisor's reason for returning the record in it, before checking whose record it was."""
    world.officer("T2", "D14", trained_on=date.today() - timedelta(days=30))
    world.user("other-officer", "officer", badge="T2", password="a-long-enough-password")
    path = f"/engagements/{estate.returned}/correct"
    for who in ("other-officer", "supervisor", "analyst", "auditor", "admin"):
        browser = browser_for(who)
        r = browser.post(path, data={"csrftoken": csrf_of(browser.get("/login").text), "reason": ""})
        assert r.status_code in (403, 404), (who, r.status_code)
        assert RETURN_REASON not in r.text, who
    # Its own officer still gets the form back with the problems and the reason to correct.
    officer = browser_for("officer")
    r = officer.post(path, data={"csrftoken": csrf_of(officer.get("/login").text), "reason": ""})
    assert r.status_code == 422 and RETURN_REASON in r.text


def test_an_approved_restricted_read_does_not_outlive_a_change_of_role(estate, browser_for, sessions):
    """An approval was honoured for its requester whatever their role had become since."""
    supervisor = browser_for("supervisor")
    path = f"/restricted/requests/{estate.approved_requests['supervisor']}/record"
    assert supervisor.get(path).status_code == 200
    with transaction(sessions) as s:
        access.set_role(session=s, username="supervisor", role="analyst", actor="admin")
    r = supervisor.get(path, follow_redirects=False)
    assert r.status_code == 403 and "Sam Example" not in r.text


def test_the_browsable_api_viewer_is_not_served(client):
    """/api/docs was a blank page under the CSP, asking for a CDN's scripts; the description stays."""
    assert client.get("/api/docs").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert "/api/v1/engagements" in client.get("/openapi.json").json()["paths"]


def test_sign_in_as_someone_else_ends_the_first_session(estate, app):
    """Signing in over an open session used to leave the first one usable by any copy of its cookie."""
    from fastapi.testclient import TestClient

    browser = TestClient(app)
    assert sign_in(browser, "analyst").status_code == 303
    first = browser.cookies["fairengage_session"]
    assert sign_in(browser, "auditor").status_code == 303
    copy = TestClient(app, cookies={"fairengage_session": first})
    assert copy.get("/analyst/reports", follow_redirects=False).status_code == 303
