"""Users, tokens and officers from the command line; sign-in pages with CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fairengage import cli
from fairengage.access.models import ApiToken, User
from fairengage.access.permissions import MATRIX, ROLES, allowed, scope_of
from fairengage.config import get_settings


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_officer_user_token_round_trip(runner, client, sessions):
    r = runner.invoke(
        cli.app,
        [
            "officers",
            "add",
            "T5001",
            "--name",
            "Dana Singh",
            "--division",
            "D52",
            "--trained-on",
            "2025-02-01",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli.app,
        ["users", "add", "dsingh", "--role", "officer", "--badge", "T5001", "--password-stdin"],
        input="s3cret-pass-word\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli.app, ["tokens", "create", "dsingh"])
    assert r.exit_code == 0
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("fe_")
    with sessions() as s:
        stored = s.scalars(select(ApiToken)).one()
        user = s.scalars(select(User).where(User.username == "dsingh")).one()
    # Only a digest is kept, and the password is an Argon2id hash.
    assert token not in (stored.digest, stored.prefix) and len(stored.digest) == 64
    assert user.password_hash.startswith("$argon2id$")
    assert client.get("/api/v1/engagements", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    r = runner.invoke(cli.app, ["officers", "train", "T5001", "--on", "2026-01-10"])
    assert r.exit_code == 0, r.output


def test_cli_errors_are_one_line(runner):
    r = runner.invoke(cli.app, ["officers", "add", "T1", "--name", "A", "--division", "D99"])
    assert r.exit_code == 1 and "D99" in r.output
    r = runner.invoke(cli.app, ["users", "add", "x", "--role", "chief"])
    assert r.exit_code == 1 and "role" in r.output
    r = runner.invoke(
        cli.app, ["officers", "add", "T2", "--name", "B", "--division", "D11", "--trained-on", "soon"]
    )
    assert r.exit_code == 1 and "--trained-on" in r.output
    r = runner.invoke(cli.app, ["tokens", "create", "nobody"])
    assert r.exit_code == 1 and "nobody" in r.output


def test_permission_matrix_denies_by_default():
    assert scope_of(None, "engagements:read") is None
    assert scope_of("officer", "engagements:read") == "own"
    assert scope_of("supervisor", "engagements:read") == "division"
    assert not allowed("analyst", "engagements:read")
    assert not allowed("admin", "engagements:read-person")
    assert not allowed("officer", "no-such-permission")
    assert allowed(None, "receipts:verify")
    for grants in MATRIX.values():
        assert set(grants) <= set(ROLES)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def test_login_needs_csrf_and_right_password(client, world):
    world.officer("T300")
    world.user("officer300", "officer", badge="T300", password="pass-word-300")
    page = client.get("/login")
    token = csrf_of(page.text)
    no_token = client.post("/login", data={"username": "officer300", "password": "pass-word-300"})
    assert no_token.status_code == 403
    wrong = client.post("/login", data={"username": "officer300", "password": "nope", "csrftoken": token})
    assert wrong.status_code == 401 and "not right" in wrong.text
    ok = client.post(
        "/login",
        data={"username": "officer300", "password": "pass-word-300", "csrftoken": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/engagements/new"
    form = client.get("/engagements/new")
    assert form.status_code == 200 and "Record a community engagement" in form.text
    client.post("/logout", data={"csrftoken": csrf_of(form.text)})
    assert client.get("/engagements/new", follow_redirects=False).status_code == 303


def test_login_redirect_stays_on_site(client, world):
    world.officer("T301")
    world.user("o301", "officer", badge="T301", password="pw-301-pw-xy")
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "o301", "password": "pw-301-pw-xy", "csrftoken": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/engagements/new"


def test_security_headers(client):
    r = client.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_failed_login_never_logs_what_was_typed(client, world, sessions):
    from fairengage.access.models import AuditEntry

    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "hunter2-my-password", "password": "x", "csrftoken": token})
    with sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "login.failed")).all()
    assert len(entries) == 1
    assert "hunter2" not in repr((entries[0].actor, entries[0].entity_id, entries[0].details))
