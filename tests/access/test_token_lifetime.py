"""API tokens expire, and rotate: `tokens create NAME --days N`, `tokens rotate NAME --grace-hours H`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text, update
from typer.testing import CliRunner

from builders import valid_body
from components import POSTGRES_URL, create_postgres_database, drop_postgres_database
from fairengage import cli, migrate
from fairengage.access import audit
from fairengage.access import service as access
from fairengage.access.models import ApiToken, AuditEntry
from fairengage.config import get_settings
from fairengage.db import normalise_url, transaction


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tokens_of(sessions) -> list[ApiToken]:
    with sessions() as s:
        return list(s.scalars(select(ApiToken).order_by(ApiToken.id)))


def expire(sessions, token: str, at: datetime) -> None:
    """Move one token's expiry, as time passing would."""
    with transaction(sessions) as s:
        s.execute(update(ApiToken).where(ApiToken.prefix == token[:10]).values(expires_at=at))


def officer_user(world) -> None:
    """An officer user "ana", whose token may list engagements."""
    world.officer("T950", "D14")
    world.user("ana", "officer", badge="T950")


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


# --- expiry -----------------------------------------------------------------------------------------------


def test_a_new_token_expires_after_the_configured_days(runner, world, sessions, monkeypatch):
    officer_user(world)
    r = runner.invoke(cli.app, ["tokens", "create", "ana"])
    assert r.exit_code == 0, r.output
    assert "expires in 90 days" in r.output and last_line(r.output).startswith("fe_")
    monkeypatch.setenv("FAIRENGAGE_TOKEN_LIFETIME_DAYS", "30")
    get_settings.cache_clear()
    assert runner.invoke(cli.app, ["tokens", "create", "ana"]).exit_code == 0
    r = runner.invoke(cli.app, ["tokens", "create", "ana", "--days", "7"])
    assert r.exit_code == 0 and "expires in 7 days" in r.output
    lifetimes = [round((t.expires_at - t.created_at) / timedelta(days=1), 3) for t in tokens_of(sessions)]
    assert lifetimes == [90, 30, 7]


@pytest.mark.parametrize("days", ["0", "-3", "3651"])
def test_a_lifetime_out_of_range_is_one_line_and_issues_nothing(runner, world, sessions, days):
    officer_user(world)
    r = runner.invoke(cli.app, ["tokens", "create", "ana", "--days", days])
    assert r.exit_code == 1
    assert len(r.output.strip().splitlines()) == 1 and "days" in r.output and "TOKEN" not in r.output[:6]
    assert tokens_of(sessions) == []


def test_an_expired_token_answers_401_saying_it_expired(client, world, sessions):
    officer_user(world)
    token = world.token("ana")
    assert client.get("/api/v1/engagements", headers=bearer(token)).status_code == 200
    expire(sessions, token, datetime.now(UTC) - timedelta(seconds=1))
    r = client.get("/api/v1/engagements", headers=bearer(token))
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"].endswith("/token-expired") and problem["status"] == 401
    assert "expired" in problem["detail"] and token not in r.text


def test_an_expired_officer_token_cannot_record(client, world, sessions):
    headers = world.officer_with_token("T900")
    token = headers["Authorization"].split()[1]
    expire(sessions, token, datetime.now(UTC) - timedelta(minutes=5))
    r = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert r.status_code == 401 and r.json()["type"].endswith("/token-expired"), r.text
    with sessions() as s:
        assert s.scalar(text("SELECT count(*) FROM engagements")) == 0


def test_a_token_works_until_its_expiry(client, world, sessions):
    officer_user(world)
    token = world.token("ana")
    expire(sessions, token, datetime.now(UTC) + timedelta(minutes=1))
    assert client.get("/api/v1/engagements", headers=bearer(token)).status_code == 200


def test_unknown_and_revoked_tokens_still_say_not_valid(client):
    r = client.get("/api/v1/engagements", headers=bearer("fe_nope"))
    assert r.status_code == 401 and r.json()["type"].endswith("/unauthenticated")


# --- rotation ---------------------------------------------------------------------------------------------


def test_rotation_issues_a_new_token_and_revokes_the_old_at_once(runner, client, world, sessions):
    officer_user(world)
    old = world.token("ana")
    r = runner.invoke(cli.app, ["tokens", "rotate", "ana"])
    assert r.exit_code == 0, r.output
    new = last_line(r.output)
    assert new.startswith("fe_") and new != old
    assert f"1 old token(s) revoked now: {old[:10]}" in r.output
    assert old not in r.output  # only the public prefix of the old token is shown
    assert client.get("/api/v1/engagements", headers=bearer(new)).status_code == 200
    r = client.get("/api/v1/engagements", headers=bearer(old))
    assert r.status_code == 401 and r.json()["type"].endswith("/unauthenticated")
    audit.seal_all(sessions)
    with sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "token.rotate")).one()
    assert entry.details["revoked"] == [old[:10]] and entry.details["prefix"] == new[:10]


def test_rotation_with_a_grace_period_keeps_the_old_token_until_it_ends(runner, client, world, sessions):
    officer_user(world)
    old = world.token("ana")
    r = runner.invoke(cli.app, ["tokens", "rotate", "ana", "--grace-hours", "2", "--days", "10"])
    assert r.exit_code == 0 and "revoked in 2 hours" in r.output, r.output
    new = last_line(r.output)
    assert client.get("/api/v1/engagements", headers=bearer(old)).status_code == 200
    assert client.get("/api/v1/engagements", headers=bearer(new)).status_code == 200
    rows = {t.prefix: t for t in tokens_of(sessions)}
    hours_left = (rows[old[:10]].revoked_at - datetime.now(UTC)) / timedelta(hours=1)
    assert 1.9 < hours_left <= 2
    assert round((rows[new[:10]].expires_at - rows[new[:10]].created_at) / timedelta(days=1), 3) == 10


def test_the_grace_period_ends(client, world, sessions):
    officer_user(world)
    old = world.token("ana")
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    with transaction(sessions) as s:
        new, revoked = access.rotate_token(
            session=s, username="ana", actor="test", grace_hours=2, now=three_hours_ago
        )
    assert [r.prefix for r in revoked] == [old[:10]]
    assert client.get("/api/v1/engagements", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/engagements", headers=bearer(new)).status_code == 200


def test_a_second_rotation_never_lengthens_a_grace(world, sessions):
    officer_user(world)
    old = world.token("ana")
    with transaction(sessions) as s:
        access.rotate_token(session=s, username="ana", actor="test", grace_hours=1)
    with transaction(sessions) as s:
        access.rotate_token(session=s, username="ana", actor="test", grace_hours=24)
    rows = {t.prefix: t for t in tokens_of(sessions)}
    assert (rows[old[:10]].revoked_at - datetime.now(UTC)) < timedelta(hours=1)


def test_deactivation_ends_a_grace_period_too(client, world, sessions):
    officer_user(world)
    old = world.token("ana")
    with transaction(sessions) as s:
        new, _ = access.rotate_token(session=s, username="ana", actor="test", grace_hours=12)
    with transaction(sessions) as s:
        access.set_active(session=s, username="ana", active=False, actor="admin")
    with transaction(sessions) as s:
        access.set_active(session=s, username="ana", active=True, actor="admin")
    for token in (old, new):
        assert client.get("/api/v1/engagements", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("grace", ["-1", "721"])
def test_a_grace_out_of_range_is_one_line_and_changes_nothing(runner, world, sessions, grace):
    officer_user(world)
    old = world.token("ana")
    r = runner.invoke(cli.app, ["tokens", "rotate", "ana", "--grace-hours", grace])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1 and "grace_hours" in r.output
    assert [(t.prefix, t.revoked_at) for t in tokens_of(sessions)] == [(old[:10], None)]


def test_rotating_an_unknown_user_is_one_line(runner):
    r = runner.invoke(cli.app, ["tokens", "rotate", "nobody"])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1


# --- the migration --------------------------------------------------------------------------------------


@pytest.mark.database  # on PostgreSQL in CI's second pass
def test_tokens_from_before_expiry_get_the_default_lifetime_from_the_upgrade(tmp_path):
    url = create_postgres_database(POSTGRES_URL) if POSTGRES_URL else f"sqlite:///{tmp_path / 'old.db'}"
    try:
        migrate.upgrade(url, "0001")
        engine = create_engine(normalise_url(url))
        long_ago = datetime(2020, 1, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (username, role, active, created_at) VALUES ('old', 'analyst', :t, :c)"
                ),
                {"t": True, "c": long_ago},
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (user_id, digest, prefix, created_at) "
                    "SELECT id, :d, 'fe_oldtoke', :c FROM users WHERE username = 'old'"
                ),
                {"d": "0" * 64, "c": long_ago},
            )
        before = datetime.now(UTC)
        migrate.upgrade(url, "0010")
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT expires_at FROM api_tokens")).scalar_one()
        engine.dispose()
        stored = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
        stored = stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored
        earliest, latest = before + timedelta(days=90), datetime.now(UTC) + timedelta(days=90)
        assert earliest - timedelta(seconds=1) <= stored <= latest
        migrate.downgrade(url, "0001")
    finally:
        if POSTGRES_URL:
            drop_postgres_database(POSTGRES_URL, url)


def test_the_token_list_shows_each_token_s_expiry_and_state(runner, world, sessions, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    officer_user(world)
    expired = world.token("ana")
    expire(sessions, expired, datetime.now(UTC) - timedelta(days=1))
    graced = world.token("ana")
    with transaction(sessions) as s:
        new, _ = access.rotate_token(session=s, username="ana", actor="test", grace_hours=5)
    r = runner.invoke(cli.app, ["tokens", "list", "ana"])
    assert r.exit_code == 0, r.output
    lines = {line.split()[1]: line for line in r.output.splitlines() if "fe_" in line}
    assert "expired" in lines[expired[:10] + "…"]
    assert "revoked at" in lines[graced[:10] + "…"]
    assert "active" in lines[new[:10] + "…"]
    assert expired not in r.output and graced not in r.output and new not in r.output
