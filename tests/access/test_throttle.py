"""Sign-in throttling: failures per username and per address pause sign-in, in the database, no oracle."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from access.estate import PASSWORD, sign_in
from fairengage.access import service as access_service
from fairengage.access import throttle
from fairengage.access.models import AuditEntry, LoginFailure
from fairengage.db import transaction

WRONG = "not-the-password"


@pytest.fixture
def ana(world) -> str:
    """An analyst with a password."""
    world.user("ana", "analyst", password=PASSWORD)
    return "ana"


def browser(app, address: str = "198.51.100.7") -> TestClient:  # type: ignore[no-untyped-def]
    """A browser at a given client address."""
    return TestClient(app, client=(address, 50000))


def throttled_entries(sessions) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    """The audit entries written when a pause started."""
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "login.throttled")))


def failures(sessions) -> list[LoginFailure]:  # type: ignore[no-untyped-def]
    """Every stored failure, oldest first."""
    with sessions() as s:
        return list(s.scalars(select(LoginFailure).order_by(LoginFailure.at, LoginFailure.id)))


def shape(page: str) -> str:
    """A page without what differs between browsers and minutes."""
    return re.sub(r'value="[^"]*"|\d\d:\d\d', "", page)


def test_five_failures_pause_the_account_without_checking_the_password(app, ana, sessions, monkeypatch):
    first = browser(app)
    for _ in range(5):
        assert sign_in(first, ana, WRONG).status_code == 401
    r = sign_in(first, ana)  # the right password, too late
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 15 * 60
    assert "Sign-in is paused" in r.text and "password was not checked" in r.text
    assert first.get("/analyst/reports", follow_redirects=False).status_code == 303

    # While paused the password is not looked at, so right and wrong get the same answer.
    def must_not_run(**_: object) -> None:
        raise AssertionError("the password was checked while sign-in was paused")

    monkeypatch.setattr(access_service, "authenticate_password", must_not_run)
    elsewhere = browser(app, "203.0.113.50")  # the pause is the account's, wherever the attempt comes from
    for password in (PASSWORD, WRONG):
        assert sign_in(elsewhere, ana, password).status_code == 429
    [entry] = throttled_entries(sessions)
    assert entry.entity_id == "ana" and entry.details["scope"] == "account"
    assert "client" not in entry.details


def test_retry_after_is_when_enough_failures_have_left_the_window(app, ana, sessions):
    client = browser(app)
    for _ in range(5):
        sign_in(client, ana, WRONG)
    now = datetime.now(UTC)
    # Spread the five over the last ten minutes: the pause lifts when the oldest turns fifteen minutes old.
    with transaction(sessions) as s:
        for row, minutes in zip(
            s.scalars(select(LoginFailure).order_by(LoginFailure.id)), (10, 8, 6, 4, 2), strict=True
        ):
            row.at = now - timedelta(minutes=minutes)
    r = sign_in(client, ana)
    assert r.status_code == 429 and abs(int(r.headers["retry-after"]) - 5 * 60) <= 5
    with transaction(sessions) as s:
        oldest = s.scalars(select(LoginFailure).order_by(LoginFailure.at)).first()
        oldest.at -= timedelta(minutes=5, seconds=1)
    # Four failures in the window now: not paused, and the right password signs in.
    assert sign_in(client, ana).status_code == 303


def test_a_successful_sign_in_clears_the_accounts_count(app, ana, sessions):
    client = browser(app)
    for _ in range(4):
        assert sign_in(client, ana, WRONG).status_code == 401
    assert sign_in(client, ana).status_code == 303
    assert failures(sessions) == []
    for _ in range(4):
        assert sign_in(client, ana, WRONG).status_code == 401
    # Eight failures in fifteen minutes, but never five since the last success.
    assert sign_in(client, ana).status_code == 303


def test_names_that_are_no_account_are_paused_alike(app, ana, sessions):
    """Pausing only real accounts would tell an attacker which usernames exist."""
    answers = {}
    for name in ("ana", "no-such-user"):
        client = browser(app, f"192.0.2.{len(answers) + 1}")
        for _ in range(5):
            sign_in(client, name, WRONG)
        answers[name] = sign_in(client, name, WRONG)
    real, made_up = answers["ana"], answers["no-such-user"]
    assert real.status_code == made_up.status_code == 429
    # The same page but for each browser's own CSRF token and the minute the pause ends.
    assert shape(real.text) == shape(made_up.text)
    assert sorted(e.entity_id or "" for e in throttled_entries(sessions)) == ["", "ana"]


def test_twenty_failures_from_one_address_pause_that_address_only(app, ana, sessions):
    crowded = browser(app, "198.51.100.20")
    for n in range(20):  # a different name each time: no account reaches its own limit
        assert sign_in(crowded, f"guess-{n}", WRONG).status_code == 401
    assert sign_in(crowded, ana).status_code == 429
    assert sign_in(browser(app, "198.51.100.21"), ana).status_code == 303
    [entry] = throttled_entries(sessions)
    assert entry.details["scope"] == "client" and entry.details["client"] == "198.51.100.20"


def test_failures_are_counted_across_server_processes(settings, ana):
    """Each process has its own app and memory; the count lives in the shared database."""
    from fairengage.app import create_app

    first, second = create_app(settings), create_app(settings)
    for app in (first, second, first, second):
        assert sign_in(browser(app), ana, WRONG).status_code == 401
    assert sign_in(browser(second), ana, WRONG).status_code == 401
    assert sign_in(browser(first), ana).status_code == 429


def test_the_limits_are_settings(app, ana, settings):
    settings.login_account_limit = 2
    client = browser(app)
    for _ in range(2):
        sign_in(client, ana, WRONG)
    assert sign_in(client, ana).status_code == 429
    settings.login_account_limit = 0  # off
    settings.login_client_limit = 0
    for _ in range(25):
        sign_in(client, "someone", WRONG)
    assert sign_in(client, ana).status_code == 303


def test_the_table_keeps_neither_what_was_typed_nor_the_address(app, settings, sessions):
    typed = "hunter2-typed-in-the-username-field"
    sign_in(browser(app, "198.51.100.77"), typed, WRONG)
    [row] = failures(sessions)
    stored = f"{row.account_key} {row.client_key}"
    assert typed not in stored and "198.51.100.77" not in stored
    # Keyed: hashing a list of likely names without the service's key does not find the row.
    assert row.account_key != hashlib.sha256(typed.encode()).hexdigest()
    assert row.account_key == throttle.account_key(settings, f"  {typed.upper()} ")


def test_failures_older_than_the_window_are_deleted(app, ana, sessions, settings):
    client = browser(app)
    sign_in(client, ana, WRONG)
    with transaction(sessions) as s:
        for row in s.scalars(select(LoginFailure)):
            row.at -= timedelta(seconds=settings.login_window + 1)
    sign_in(client, "someone-else", WRONG)
    assert len(failures(sessions)) == 1
