"""Own password change, temporary passwords and resets, and the password policy, on pages and the CLI."""

from __future__ import annotations

import importlib.util

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from access.estate import PASSWORD, csrf_of, sign_in
from fairengage import cli
from fairengage.access import password_policy
from fairengage.access import service as access
from fairengage.access.models import AuditEntry, User, UserSession
from fairengage.config import get_settings
from fairengage.db import transaction
from fairengage.errors import RecordRefused

NEW = "seven blue herons at dawn"
PAGE = "/analyst/reports"  # any page that needs a signed-in analyst


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def change(client: TestClient, current: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    """Send the change-password form as a browser would."""
    token = csrf_of(client.get("/account/password").text)
    return client.post(
        "/account/password",
        data={
            "current": current,
            "password": new,
            "confirm": new if confirm is None else confirm,
            "csrftoken": token,
        },
        follow_redirects=False,
    )


def audit_actions(sessions, username: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.entity_id == username).order_by(AuditEntry.seq))
        )


# ------------------------------------------------------------------------------------------- policy


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-pass1", password_policy.RULE_LENGTH),
        ("password1234", password_policy.RULE_COMMON),
        ("Password 1234", password_policy.RULE_COMMON),
        ("QWERTY123456", password_policy.RULE_COMMON),
        ("ana-the-analyst-2026", password_policy.RULE_USERNAME),
        ("ANAlyst-Ana-x", password_policy.RULE_USERNAME),
    ],
)
def test_policy_names_the_rule_broken(password, rule):
    # "ana" is shorter than four letters, so only a whole-username match counts for it.
    name = "ana-the-analyst" if rule == password_policy.RULE_USERNAME and "2026" in password else "analyst"
    rules = {p.rule for p in password_policy.problems(password, username=name, min_length=12)}
    assert rule in rules


def test_policy_accepts_a_long_uncommon_password():
    assert password_policy.problems(NEW, username="ana", min_length=12) == []
    # A short username is not searched inside the password, only refused as the whole of it.
    assert password_policy.problems("al-and-the-river-song", username="al", min_length=12) == []


def test_the_common_list_is_shipped_and_large():
    common = password_policy.common_passwords()
    assert len(common) > 20_000 and "password1234" in common


def test_minimum_length_is_a_setting(settings):
    longer = settings.model_copy(update={"password_min_length": 30})
    assert longer.password_min_length == 30
    with pytest.raises(ValueError, match="password_min_length"):
        type(settings)(database_url=settings.database_url, secret_key="x" * 40, password_min_length=8)


def test_service_refuses_a_weak_password_and_adds_nobody(sessions):
    with pytest.raises(RecordRefused) as refused, transaction(sessions) as s:
        access.add_user(session=s, username="weak", role="analyst", password="password1234", actor="t")
    assert [e.rule for e in refused.value.errors] == [password_policy.RULE_COMMON]
    with sessions() as s:
        assert access.get(session=s, username="weak") is None


# ------------------------------------------------------------------------------------ own change


@pytest.fixture
def browser(app, world) -> TestClient:
    world.user("ana", "analyst", password=PASSWORD)
    client = TestClient(app)
    assert sign_in(client, "ana").status_code == 303
    return client


def test_header_links_to_the_change_page(browser):
    assert 'href="/account/password"' in browser.get(PAGE).text


def test_change_own_password_ends_other_sessions_and_is_audited(app, browser, sessions):
    other = TestClient(app)
    assert sign_in(other, "ana").status_code == 303
    assert other.get(PAGE, follow_redirects=False).status_code == 200
    r = change(browser, PASSWORD, NEW)
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    assert "Your password was changed" in browser.get("/account/password").text
    # This browser stays signed in; the other one is signed out.
    assert browser.get(PAGE, follow_redirects=False).status_code == 200
    assert other.get(PAGE, follow_redirects=False).headers["location"].startswith("/login")
    with sessions() as s:
        assert s.scalars(select(UserSession).where(UserSession.end_reason == "password")).all()
    # The old password no longer works; the new one does.
    assert sign_in(TestClient(app), "ana").status_code == 401
    assert sign_in(TestClient(app), "ana", NEW).status_code == 303
    entry = [e for e in audit_actions(sessions, "ana") if e.action == "password.change"][-1]
    assert entry.actor == "ana" and entry.details["sessions_ended"] == 1
    # The audit log keeps neither password, nor anything derived from them.
    assert NEW not in str(entry.details) and PASSWORD not in str(entry.details)
    assert "hash" not in str(entry.details)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "text"),
    [
        ("wrong-current-password", NEW, None, "current", "The current password is not right."),
        (PASSWORD, NEW, NEW + "x", "confirm", "The two new passwords are not the same."),
        (PASSWORD, "short-pass1", None, "password", "at least 12 characters"),
        (PASSWORD, "password1234", None, "password", "common or breached passwords"),
        (PASSWORD, "ANA", None, "password", "must not contain the username"),
        (PASSWORD, PASSWORD, None, "password", "other than your current one"),
    ],
)
def test_refused_change_says_why_and_changes_nothing(
    browser, app, sessions, current, new, confirm, field, text
):
    with sessions() as s:
        before = s.scalars(select(User.password_hash).where(User.username == "ana")).one()
    r = change(browser, current, new, confirm)
    assert r.status_code == 422 and text in r.text
    assert f'id="{field}" name="{field}" autocomplete' in r.text and 'aria-invalid="true"' in r.text
    with sessions() as s:
        assert s.scalars(select(User.password_hash).where(User.username == "ana")).one() == before
    assert sign_in(TestClient(app), "ana").status_code == 303


def test_change_page_is_translated(browser):
    fr = browser.get("/account/password?lang=fr")
    assert "Changer votre mot de passe" in fr.text and "Nouveau mot de passe" in fr.text


def test_change_without_csrf_is_refused(browser, sessions):
    r = browser.post(
        "/account/password",
        data={"current": PASSWORD, "password": NEW, "confirm": NEW},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert sign_in(TestClient(browser.app), "ana").status_code == 303


def test_anonymous_is_sent_to_sign_in(client):
    r = client.get("/account/password", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# --------------------------------------------------------------------------- temporary passwords


@pytest.fixture
def admin(app, world) -> TestClient:
    world.user("boss", "admin", password=PASSWORD)
    client = TestClient(app)
    assert sign_in(client, "boss").status_code == 303
    return client


def add_by_admin(admin: TestClient, username: str, password: str, role: str = "analyst"):  # type: ignore[no-untyped-def]
    token = csrf_of(admin.get("/admin/users").text)
    return admin.post(
        "/admin/users",
        data={"username": username, "role": role, "password": password, "csrftoken": token},
        follow_redirects=False,
    )


def test_admin_set_password_is_temporary_until_changed(app, admin, sessions):
    assert add_by_admin(admin, "newbie", "given-by-the-admin-1").status_code == 303
    user = TestClient(app)
    r = sign_in(user, "newbie", "given-by-the-admin-1")
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    # Every other page sends the user to the change page, GET and POST alike.
    for path in (PAGE, "/audit", "/admin/users", "/"):
        r = user.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account/password", path
    token = csrf_of(user.get("/account/password").text)
    r = user.post("/analyst/reports", data={"year": "2025", "csrftoken": token}, follow_redirects=False)
    assert r.headers["location"] == "/account/password"
    page = user.get("/account/password")
    assert page.status_code == 200 and "set by someone else" in page.text
    assert change(user, "given-by-the-admin-1", NEW).status_code == 303
    assert user.get(PAGE, follow_redirects=False).status_code == 200
    with sessions() as s:
        assert access.get(session=s, username="newbie").password_temporary is False
    entry = [e for e in audit_actions(sessions, "newbie") if e.action == "password.change"][-1]
    assert entry.details["was_temporary"] is True


def test_admin_cannot_keep_using_the_account_by_reentering_the_temporary_password(app, admin):
    # The gap this closes: an administrator who created an approver account must not be able to sign in
    # as it and act. Re-entering the same password as the "new" one is refused.
    assert add_by_admin(admin, "approver2", "given-by-the-admin-2").status_code == 303
    user = TestClient(app)
    sign_in(user, "approver2", "given-by-the-admin-2")
    assert change(user, "given-by-the-admin-2", "given-by-the-admin-2").status_code == 422
    assert user.get(PAGE, follow_redirects=False).headers["location"] == "/account/password"


def test_admin_page_refuses_a_weak_initial_password(admin, sessions):
    r = add_by_admin(admin, "weakling", "password1234")
    assert r.status_code == 422 and "common or breached passwords" in r.text
    r = add_by_admin(admin, "weakling", "weakling-weakling")
    assert r.status_code == 422 and "username" in r.text
    with sessions() as s:
        assert access.get(session=s, username="weakling") is None


def test_api_tokens_are_unaffected_by_a_temporary_password(client, world, sessions):
    world.officer("T800")
    with transaction(sessions) as s:
        access.add_user(
            session=s, username="t800", role="officer", badge="T800", password="temporary-by-admin", actor="t"
        )
    token = world.token("t800")
    r = client.get("/api/v1/engagements", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_admin_reset_shows_once_ends_sessions_and_forces_change(app, admin, world, sessions):
    world.user("ana", "analyst", password=PASSWORD)
    ana = TestClient(app)
    assert sign_in(ana, "ana").status_code == 303
    token = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users/ana/password", data={"csrftoken": token}, follow_redirects=False)
    assert r.status_code == 200
    temporary = r.text.split('<code id="temporary-password">')[1].split("</code>")[0]
    assert len(temporary) >= 16
    # Not kept anywhere it could be read again: the next page view does not show it.
    assert temporary not in admin.get("/admin/users").text
    assert ana.get(PAGE, follow_redirects=False).headers["location"].startswith("/login")
    assert sign_in(TestClient(app), "ana").status_code == 401
    fresh = TestClient(app)
    assert sign_in(fresh, "ana", temporary).headers["location"] == "/account/password"
    entry = [e for e in audit_actions(sessions, "ana") if e.action == "password.reset"][-1]
    assert entry.actor == "boss" and temporary not in str(entry.details)


def test_reset_without_csrf_or_by_non_admin_changes_nothing(app, admin, world, browser):
    r = admin.post("/admin/users/ana/password", follow_redirects=False)
    assert r.status_code == 403
    token = csrf_of(browser.get(PAGE).text)
    r = browser.post("/admin/users/boss/password", data={"csrftoken": token}, follow_redirects=False)
    assert r.status_code in (403, 404)
    assert sign_in(TestClient(app), "boss").status_code == 303
    assert sign_in(TestClient(app), "ana").status_code == 303


def test_admin_cannot_reset_own_password_on_users_page(admin, app):
    token = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users/boss/password", data={"csrftoken": token}, follow_redirects=False)
    assert r.status_code == 422 and "Change password page" in r.text
    assert sign_in(TestClient(app), "boss").status_code == 303


# -------------------------------------------------------------------------------------------- CLI


def test_cli_add_sets_a_temporary_password(runner, app, sessions):
    r = runner.invoke(
        cli.app,
        ["users", "add", "clio", "--role", "analyst", "--password-stdin"],
        input="from-the-cli-side\n",
    )
    assert r.exit_code == 0 and "temporary" in r.output
    client = TestClient(app)
    assert sign_in(client, "clio", "from-the-cli-side").headers["location"] == "/account/password"


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short", "at least 12 characters"),
        ("password1234", "common or breached"),
        ("clio-clio-clio", "username"),
    ],
)
def test_cli_refuses_a_weak_password_in_one_line(runner, sessions, password, words):
    r = runner.invoke(
        cli.app, ["users", "add", "clio", "--role", "analyst", "--password-stdin"], input=password + "\n"
    )
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the password does not meet") and words in lines[0]
    with sessions() as s:
        assert access.get(session=s, username="clio") is None


def test_cli_minimum_length_follows_the_setting(runner, monkeypatch, sessions):
    monkeypatch.setenv("FAIRENGAGE_PASSWORD_MIN_LENGTH", "20")
    get_settings.cache_clear()
    r = runner.invoke(
        cli.app, ["users", "add", "clio", "--role", "analyst", "--password-stdin"], input="fifteen-letters\n"
    )
    assert r.exit_code == 1 and "at least 20 characters" in r.output


def test_cli_reset_password(runner, app, world, sessions):
    world.user("ana", "analyst", password=PASSWORD)
    ana = TestClient(app)
    assert sign_in(ana, "ana").status_code == 303
    r = runner.invoke(cli.app, ["users", "reset-password", "ana"])
    assert r.exit_code == 0, r.output
    temporary = r.output.split("temporary password for ana: ")[1].split()[0]
    assert ana.get(PAGE, follow_redirects=False).headers["location"].startswith("/login")
    fresh = TestClient(app)
    assert sign_in(fresh, "ana", temporary).headers["location"] == "/account/password"
    assert change(fresh, temporary, NEW).status_code == 303
    assert fresh.get(PAGE, follow_redirects=False).status_code == 200


def test_cli_reset_unknown_user_is_one_line(runner):
    r = runner.invoke(cli.app, ["users", "reset-password", "nobody"])
    assert r.exit_code == 1 and r.output.strip() == "error: no user named nobody"


def test_temporary_user_can_sign_out(app, admin, sessions):
    assert add_by_admin(admin, "leaving", "given-by-the-admin-3").status_code == 303
    user = TestClient(app)
    sign_in(user, "leaving", "given-by-the-admin-3")
    token = csrf_of(user.get("/account/password").text)
    assert user.post("/logout", data={"csrftoken": token}, follow_redirects=False).status_code == 303
    r = user.get("/account/password", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_reset_of_a_deactivated_or_unknown_user_is_refused(admin, world, sessions):
    world.user("gone", "analyst", password=PASSWORD)
    token = csrf_of(admin.get("/admin/users").text)
    admin.post("/admin/users/gone/active", data={"active": "false", "csrftoken": token})
    with sessions() as s:
        before = access.get(session=s, username="gone").password_hash
    token = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users/gone/password", data={"csrftoken": token}, follow_redirects=False)
    assert r.status_code == 422 and "Reactivate the user before resetting" in r.text
    with sessions() as s:
        assert access.get(session=s, username="gone").password_hash == before
    r = admin.post("/admin/users/nobody/password", data={"csrftoken": token}, follow_redirects=False)
    assert r.status_code == 404


def test_a_form_with_missing_fields_is_refused_in_plain_words(browser):
    token = csrf_of(browser.get("/account/password").text)
    r = browser.post("/account/password", data={"csrftoken": token}, follow_redirects=False)
    assert r.status_code == 422 and "The current password is not right." in r.text


def test_the_service_hashes_at_argon2s_recommended_cost():
    # The suite hashes cheaply (tests/conftest.py); a fresh copy of the module is what the service runs.
    spec = importlib.util.find_spec("fairengage.access.passwords")
    assert spec is not None and spec.loader is not None
    service = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(service)
    stored = service.hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    assert service.verify_password(stored, "correct horse battery staple")
    assert not service.verify_password(stored, "correct horse battery stapler")
