"""The TOTP second factor of local accounts: enrolment, the sign-in step, reuse, recovery codes, policy."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, select, text

from access.estate import PASSWORD, csrf_of, sign_in
from fairengage import migrate
from fairengage.access import totp, totp_box
from fairengage.access.models import AuditEntry, RecoveryCode, User
from fairengage.config import get_settings

KEY = "migration-test-key-0123456789abcdef"


def enrol(client) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Set up the app on the account page as a person would; the secret and the recovery codes shown."""
    page = client.get("/account/second-factor")
    assert page.status_code == 200
    assert "<svg" in page.text  # the QR code
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    done = client.post(
        "/account/second-factor",
        data={"code": pyotp.TOTP(secret).now(), "csrftoken": csrf_of(page.text)},
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", done.text)
    assert len(codes) == totp.RECOVERY_CODES
    return secret, codes


def sign_out(client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    client.post("/logout", data={"csrftoken": token})
    client.cookies.clear()


def send_code(client, code: str):  # type: ignore[no-untyped-def]
    page = client.get("/login/code", follow_redirects=False)
    assert page.status_code == 200, page.headers
    return client.post(
        "/login/code", data={"code": code, "csrftoken": csrf_of(page.text)}, follow_redirects=False
    )


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/account/password", follow_redirects=False).status_code == 200


@pytest.fixture
def ana(world, client) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    world.user("ana", "analyst", password=PASSWORD)
    assert sign_in(client, "ana").status_code == 303
    secret, codes = enrol(client)
    sign_out(client)
    return secret, codes


def test_enrolment_stores_codes_hashed_and_audits(ana, sessions) -> None:
    _, codes = ana
    with sessions() as s:
        user = s.scalars(select(User).where(User.username == "ana")).one()
        assert totp.enrolled(user)
        stored = list(s.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
        assert len(stored) == len(codes) and all(h.startswith("$argon2id$") for h in stored)
        assert not set(codes) & set(stored)
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "totp.enrol")).first() is not None


def test_the_password_alone_no_longer_signs_in(client, ana) -> None:
    first = sign_in(client, "ana")
    assert first.status_code == 303 and first.headers["location"] == "/login/code"
    assert not signed_in(client)


def next_code(secret: str) -> str:
    """The code of the next 30-second step: the current one was spent confirming the app."""
    t = pyotp.TOTP(secret)
    return t.generate_otp(t.timecode(datetime.now(UTC)) + 1)


def test_sign_in_with_the_code(client, ana, sessions) -> None:
    secret, _ = ana
    sign_in(client, "ana")
    done = send_code(client, next_code(secret))
    assert done.status_code == 303 and signed_in(client)
    with sessions() as s:
        login = s.scalars(select(AuditEntry).where(AuditEntry.action == "login")).all()[-1]
        assert login.details == {"via": "password+totp", "second_factor": "totp"}


def test_a_wrong_code_is_refused_and_counted(client, ana, sessions) -> None:
    secret, _ = ana
    sign_in(client, "ana")
    good = pyotp.TOTP(secret).now()
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    refused = send_code(client, wrong)
    assert refused.status_code == 401 and "The code is not right" in refused.text
    assert not signed_in(client)
    for bad in ("", "abcdef", "1234567", "0" * 40):
        assert send_code(client, bad).status_code == 401
    with sessions() as s:
        failed = s.scalars(select(AuditEntry).where(AuditEntry.action == "login.failed")).all()
        assert len(failed) == 5 and failed[0].details == {"step": "second factor"}


def test_the_same_code_is_not_accepted_twice(client, ana) -> None:
    secret, _ = ana
    code = next_code(secret)
    sign_in(client, "ana")
    assert send_code(client, code).status_code == 303
    sign_out(client)
    sign_in(client, "ana")
    assert send_code(client, code).status_code == 401
    assert not signed_in(client)


def test_the_code_step_cannot_be_skipped(client, ana) -> None:
    sign_in(client, "ana")
    for path in ("/account/password", "/account/second-factor", "/engagements"):
        assert client.get(path, follow_redirects=False).status_code == 303


def test_the_code_step_times_out(client, ana, monkeypatch) -> None:
    sign_in(client, "ana")
    import fairengage.access.totp_views as views

    monkeypatch.setattr(views, "PENDING_MAX_AGE", -1)
    assert client.get("/login/code", follow_redirects=False).headers["location"] == "/login"


def test_a_recovery_code_works_once(client, ana, sessions) -> None:
    _, codes = ana
    sign_in(client, "ana")
    assert send_code(client, codes[3].upper()).status_code == 303
    assert signed_in(client)
    page = client.get("/account/second-factor").text
    assert "9 recovery codes left" in page
    sign_out(client)
    sign_in(client, "ana")
    assert send_code(client, codes[3]).status_code == 401


def test_the_code_allows_one_step_of_clock_drift_not_more(sessions, settings, ana) -> None:
    secret, _ = ana
    now = datetime.now(UTC)
    with sessions.begin() as s:
        user = s.scalars(select(User).where(User.username == "ana")).one()
        user.totp_last_step = None
        t = pyotp.TOTP(secret)
        far = t.generate_otp(t.timecode(now) - 3)
        key = settings.secret
        assert totp.verify(session=s, user=user, code=far, now=now, key=key) is None
        near = t.generate_otp(t.timecode(now) - 1)
        assert totp.verify(session=s, user=user, code=near, now=now, key=key) == "totp"


def test_an_admin_reset_removes_the_second_factor_and_is_audited(client, world, ana, sessions) -> None:
    world.user("root", "admin", password=PASSWORD)
    sign_in(client, "root")
    page = client.get("/admin/users")
    assert "Reset the second factor of ana" in page.text
    done = client.post("/admin/users/ana/second-factor", data={"csrftoken": csrf_of(page.text)})
    assert done.status_code == 200 and "The second factor of ana was removed" in done.text
    with sessions() as s:
        user = s.scalars(select(User).where(User.username == "ana")).one()
        assert user.totp_secret is None and not totp.enrolled(user)
        assert s.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).first() is None
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "totp.reset")).one()
        assert entry.actor == "root" and entry.entity_id == "ana"
    sign_out(client)
    assert sign_in(client, "ana").headers["location"] != "/login/code"


def test_only_an_administrator_may_reset(client, world, ana) -> None:
    world.user("bob", "analyst", password=PASSWORD)
    sign_in(client, "bob")
    token = csrf_of(client.get("/account/password").text)
    assert client.post("/admin/users/ana/second-factor", data={"csrftoken": token}).status_code == 403


def test_required_for_roles_reading_personal_data(client, world, app) -> None:
    app.state.settings = app.state.settings.model_copy(update={"require_second_factor": True})
    world.officer("S1", "D14")
    world.user("sup", "supervisor", badge="S1", password=PASSWORD)
    world.user("ana", "analyst", password=PASSWORD)
    assert {"officer", "supervisor", "admin"} == totp.PERSONAL_ROLES
    sign_in(client, "sup")
    held = client.get("/engagements", follow_redirects=False)
    assert held.status_code == 303 and held.headers["location"] == "/account/second-factor"
    page = client.get("/account/second-factor")
    assert "requires a second factor" in page.text
    enrol(client)
    assert client.get("/engagements").status_code == 200
    sign_out(client)
    # An analyst sees no personal data: the setting does not hold them back.
    sign_in(client, "ana")
    assert client.get("/account/password", follow_redirects=False).status_code == 200


def test_a_wrong_first_code_does_not_turn_it_on(client, world, sessions) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    sign_in(client, "ana")
    page = client.get("/account/second-factor")
    refused = client.post("/account/second-factor", data={"code": "000000", "csrftoken": csrf_of(page.text)})
    # 000000 could be the real code once in a million: then the page would show recovery codes.
    assert refused.status_code == 422 or "recovery-codes" in refused.text
    with sessions() as s:
        user = s.scalars(select(User).where(User.username == "ana")).one()
        assert totp.enrolled(user) == ("recovery-codes" in refused.text)


# --- the secret at rest -------------------------------------------------------------------------------------


def test_the_database_holds_no_clear_secret(ana, sessions, settings) -> None:
    secret, _ = ana
    with sessions() as s:
        user = s.scalars(select(User).where(User.username == "ana")).one()
        stored = user.totp_secret
        assert stored and secret not in stored and len(stored) == totp_box.STORED_LENGTH
        assert totp.secret_of(user, settings.secret) == secret
    raw = base64.b32decode(secret)
    if settings.database_url.startswith("sqlite:///"):
        # Every byte SQLite keeps, the write-ahead log included: neither the text nor the raw secret.
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        kept = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert secret.encode() not in kept and raw not in kept


def test_sign_in_with_the_encrypted_secret_still_works(client, ana) -> None:
    secret, _ = ana
    assert sign_in(client, "ana").headers["location"] == "/login/code"
    assert send_code(client, next_code(secret)).status_code == 303
    assert signed_in(client)


def test_the_secret_opens_only_with_the_service_key_and_on_its_own_row(ana, world, sessions, settings):
    secret, _ = ana
    world.user("bob", "analyst", password=PASSWORD)
    now = datetime.now(UTC)
    code = next_code(secret)
    with sessions.begin() as s:
        ana_row = s.scalars(select(User).where(User.username == "ana")).one()
        bob = s.scalars(select(User).where(User.username == "bob")).one()
        assert totp.secret_of(ana_row, b"another-service-key-0123456789abcdef") is None
        assert totp.verify(session=s, user=ana_row, code=code, now=now, key=b"another-key" * 4) is None
        # A secret copied onto another account does not open there.
        bob.totp_secret, bob.totp_confirmed_at = ana_row.totp_secret, now
        assert totp.secret_of(bob, settings.secret) is None
        assert totp.verify(session=s, user=bob, code=code, now=now, key=settings.secret) is None


def test_the_migration_encrypts_clear_secrets_and_downgrade_restores_them(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url, "0019")  # the schema before encryption
    secret = pyotp.random_base32()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, role, active, created_at, totp_secret, totp_confirmed_at) "
                "VALUES (7, 'ana', 'analyst', 1, '2026-12-01 00:00:00', :s, '2026-12-01 00:00:00')"
            ),
            {"s": secret},
        )
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", KEY)
    get_settings.cache_clear()
    try:
        migrate.upgrade(url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT totp_secret FROM users WHERE id = 7")).scalar_one()
        assert stored != secret and secret not in stored
        assert totp_box.open_sealed(KEY.encode(), 7, stored) == secret
        migrate.downgrade(url, "0014@0001")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT totp_secret FROM users WHERE id = 7")).scalar_one() == secret
    finally:
        get_settings.cache_clear()
        engine.dispose()


def test_the_migration_refuses_to_encrypt_without_the_service_key(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url, "0019")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, role, active, created_at, totp_secret) "
                "VALUES (7, 'ana', 'analyst', 1, '2026-12-01 00:00:00', :s)"
            ),
            {"s": pyotp.random_base32()},
        )
    monkeypatch.delenv("FAIRENGAGE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"FAIRENGAGE_SECRET_KEY is needed to encrypt 1 second-factor"):
            migrate.upgrade(url)
    finally:
        get_settings.cache_clear()
        engine.dispose()
