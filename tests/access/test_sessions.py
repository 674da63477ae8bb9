"""Sessions: held on the server, ended by sign-out and deactivation, idle and absolute limits, no fixation."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from datetime import UTC, datetime, timedelta

import itsdangerous
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from access.estate import PASSWORD, csrf_of, sign_in
from builders import valid_body
from fairengage.access import sessions as server_sessions
from fairengage.access.models import AuditEntry, User, UserSession
from fairengage.db import transaction

COOKIE = "fairengage_session"
PAGE = "/analyst/reports"  # any page that needs a signed-in analyst


@pytest.fixture
def analyst(world) -> str:
    """An analyst with a password."""
    world.user("ana", "analyst", password=PASSWORD)
    return "ana"


@pytest.fixture
def browser(app, analyst) -> TestClient:
    """A browser signed in as the analyst."""
    client = TestClient(app)
    assert sign_in(client, analyst).status_code == 303
    return client


def signed_in(client: TestClient) -> bool:
    """Whether the browser's session still opens a signed-in page."""
    return client.get(PAGE, follow_redirects=False).status_code == 200


def rows(sessions) -> list[UserSession]:  # type: ignore[no-untyped-def]
    """Every stored session, oldest first."""
    with sessions() as s:
        return list(s.scalars(select(UserSession).order_by(UserSession.id)))


def shift(sessions, **moves: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Move every session's recorded times into the past, as if that long had gone by."""
    with transaction(sessions) as s:
        for row in s.scalars(select(UserSession)):
            for column, by in moves.items():
                setattr(row, column, getattr(row, column) - by)


def forged_cookie(settings, data: dict) -> str:  # type: ignore[no-untyped-def]
    """A session cookie signed with the service's key, as Starlette signs it."""
    payload = b64encode(json.dumps(data).encode())
    return itsdangerous.TimestampSigner(settings.secret_key.get_secret_value()).sign(payload).decode()


def cookie_data(value: str) -> dict:
    """What a session cookie holds (its signed part)."""
    return json.loads(b64decode(value.split(".", 1)[0]))


def test_the_cookie_carries_a_random_id_and_the_database_only_its_digest(browser, sessions):
    [row] = rows(sessions)
    cookie = browser.cookies[COOKIE]
    assert len(row.digest) == 64 and row.digest not in cookie
    assert row.ended_at is None and row.created_at == row.last_seen_at


def test_sign_out_makes_a_copied_cookie_useless(app, browser, sessions):
    copy = TestClient(app, cookies={COOKIE: browser.cookies[COOKIE]})
    assert signed_in(copy)
    r = browser.post(
        "/logout", data={"csrftoken": csrf_of(browser.get("/login").text)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert not signed_in(browser)
    # The copy still holds a correctly signed cookie; the server no longer honours what it names.
    assert not signed_in(copy)
    [row] = rows(sessions)
    assert row.ended_at is not None and row.end_reason == "logout"
    with sessions() as s:
        logged = s.scalars(select(AuditEntry).where(AuditEntry.action == "logout")).one()
    assert logged.actor == "ana"


def test_sign_out_needs_the_csrf_token(browser):
    """A page elsewhere cannot sign the user out (nor anything else) by posting a form."""
    assert browser.post("/logout", follow_redirects=False).status_code == 403
    assert browser.post("/logout", data={"csrftoken": "forged"}, follow_redirects=False).status_code == 403
    assert signed_in(browser)


def test_idle_sessions_end(browser, sessions, settings):
    idle = timedelta(seconds=settings.session_idle_timeout)
    shift(sessions, last_seen_at=idle - timedelta(seconds=90))
    assert signed_in(browser)  # still within the idle timeout, and the visit moved last-seen on
    shift(sessions, last_seen_at=idle + timedelta(seconds=1))
    r = browser.get(PAGE, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # The browser's cookie is cleared with it, so it stops sending a dead id.
    assert COOKIE not in browser.cookies


def test_sessions_end_after_their_absolute_lifetime_however_busy(browser, sessions, settings):
    shift(sessions, created_at=timedelta(seconds=settings.session_max_age - 60))
    assert signed_in(browser)
    shift(sessions, created_at=timedelta(seconds=61))
    assert not signed_in(browser)


def test_last_seen_is_written_at_most_once_a_minute(browser, sessions):
    [before] = rows(sessions)
    for _ in range(3):
        assert signed_in(browser)
    assert rows(sessions)[0].last_seen_at == before.last_seen_at
    shift(sessions, last_seen_at=timedelta(seconds=61))
    assert signed_in(browser)
    assert rows(sessions)[0].last_seen_at > before.last_seen_at


def test_deactivation_ends_every_session_for_good(app, world, sessions):
    world.user("admin1", "admin", password=PASSWORD)
    world.user("leaver", "analyst", password=PASSWORD)
    phone, desk = TestClient(app), TestClient(app)
    for browser in (phone, desk):
        assert sign_in(browser, "leaver").status_code == 303
    admin = TestClient(app)
    sign_in(admin, "admin1")
    token = csrf_of(admin.get("/admin/users").text)
    admin.post("/admin/users/leaver/active", data={"csrftoken": token, "active": "false"})
    assert not signed_in(phone) and not signed_in(desk)
    # Reactivation gives the account back, not the sessions that were open when it was switched off.
    admin.post("/admin/users/leaver/active", data={"csrftoken": token, "active": "true"})
    assert not signed_in(phone) and not signed_in(desk)
    assert {r.end_reason for r in rows(sessions) if r.user.username == "leaver"} == {"deactivated"}


def test_a_session_from_before_sign_in_carries_nothing_over(app, analyst, sessions, settings):
    """Session fixation: what a browser held before signing in is dropped, and the id is new."""
    planted = forged_cookie(settings, {"planted": "by someone else", "sid": "chosen-by-an-attacker"})
    browser = TestClient(app)
    # In the jar under the host the service answers as, so that its own cookie replaces this one.
    browser.cookies.set(COOKIE, planted, domain="testserver.local")
    browser.get("/login")
    # The service read the planted cookie: it dropped the id it never issued and kept the rest.
    assert cookie_data(browser.cookies[COOKIE]) == {"planted": "by someone else"}
    assert sign_in(browser, analyst).status_code == 303
    first = browser.cookies[COOKIE]
    # The session id, and how it was started (a password here): nothing the planted cookie carried.
    assert cookie_data(first).keys() == {"sid", "via"} and cookie_data(first)["via"] == "password"
    assert cookie_data(first)["sid"] != "chosen-by-an-attacker"
    assert sign_in(browser, analyst).status_code == 303
    assert browser.cookies[COOKIE] != first
    first_row, second_row = rows(sessions)
    assert first_row.end_reason == "replaced" and second_row.ended_at is None
    assert not signed_in(TestClient(app, cookies={COOKIE: first}))


def test_cookies_not_naming_a_live_session_sign_no_one_in(app, analyst, sessions, settings):
    with sessions() as s:
        uid = s.scalars(select(User.id).where(User.username == analyst)).one()
    # The cookie format before server-side sessions, and a well-signed id the server never issued.
    for data in ({"uid": uid}, {"sid": "x" * 43}):
        assert not signed_in(TestClient(app, cookies={COOKIE: forged_cookie(settings, data)}))


def test_a_page_view_costs_no_write_and_the_api_never_touches_sessions(app, browser, world, sessions):
    """Last-seen moves at most once a minute; the bearer-token API, the hot path, reads no session."""
    headers = world.officer_with_token("T9")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement.lower())

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert signed_in(browser)
        page_writes = [s for s in statements if s.startswith(("insert", "update", "delete"))]
        statements.clear()
        r = TestClient(app).post("/api/v1/engagements", json=valid_body(), headers=headers)
        assert r.status_code == 201, r.text
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not [s for s in page_writes if "user_sessions" in s or "login_failures" in s]
    assert not [s for s in statements if "user_sessions" in s or "login_failures" in s]


def test_expired_sessions_are_pruned_at_the_next_sign_in(app, browser, analyst, sessions, settings):
    shift(sessions, created_at=timedelta(seconds=settings.session_max_age + 1))
    assert sign_in(TestClient(app), analyst).status_code == 303
    [row] = rows(sessions)
    assert row.created_at > datetime.now(UTC) - timedelta(minutes=1)


def test_ending_sessions_in_bulk_leaves_other_users_alone(app, browser, world, sessions):
    world.user("other", "analyst", password=PASSWORD)
    other = TestClient(app)
    sign_in(other, "other")
    cookie = browser.cookies[COOKIE]
    with transaction(sessions) as s:
        uid = s.scalars(select(User.id).where(User.username == "ana")).one()
        ended = server_sessions.end_all(session=s, user_id=uid, now=datetime.now(UTC), reason="deactivated")
    assert ended == 1
    assert not signed_in(TestClient(app, cookies={COOKIE: cookie})) and signed_in(other)
    with transaction(sessions) as s:
        s.execute(update(UserSession).values(ended_at=None))
    # Guards the test: only the ended mark stood in the way of the same cookie.
    assert signed_in(TestClient(app, cookies={COOKIE: cookie}))
