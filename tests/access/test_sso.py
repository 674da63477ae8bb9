"""Single sign-on against a real OpenID provider on loopback (tests/access/oidc_provider.py).

Every sign-in here goes over HTTP through the provider's own pages and endpoints: discovery, the
authorization form, the code exchange with PKCE and the client secret, the JWKS. Nothing is mocked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from access.estate import PASSWORD, csrf_of
from access.oidc_provider import Provider, running
from conftest import SECRET
from fairengage.access import oidc
from fairengage.access.models import AuditEntry, User
from fairengage.config import Settings

CLIENT_ID, CLIENT_SECRET = "fairengage", "client-secret-for-tests"
CALLBACK = "http://testserver" + oidc.CALLBACK_PATH
ROLE_MAP = (
    "fe-officers=officer,fe-supervisors=supervisor,fe-analysts=analyst,fe-auditors=auditor,fe-admins=admin"
)


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_client(CLIENT_ID, CLIENT_SECRET, CALLBACK)
    with running(p):
        yield p


@pytest.fixture
def settings(database_url: str, provider: Provider) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        debug=True,
        public_url="http://testserver",
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_role_map=ROLE_MAP,
    )


def through_provider(client: TestClient, provider: Provider, login: str, next: str = "") -> httpx.Response:
    """Start single sign-on, sign in at the provider's form over HTTP, and hand its answer back."""
    start = client.get("/login/sso" + (f"?next={next}" if next else ""), follow_redirects=False)
    assert start.status_code == 303, start.text
    location = start.headers["location"]
    assert location.startswith(provider.issuer + "/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    form_page = httpx.get(location)
    assert form_page.status_code == 200, form_page.text
    fields = dict(
        (name, value)
        for name, value in __import__("re").findall(r'name="([^"]+)" value="([^"]*)"', form_page.text)
    )
    answer = httpx.post(f"{provider.issuer}/authorize", data={**fields, "login": login})
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(CALLBACK + "?")
    return client.get(back.removeprefix("http://testserver"), follow_redirects=False)


def last_audit(sessions, action: str) -> AuditEntry | None:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq.desc())
        ).first()


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_sign_in_through_the_provider_links_the_known_account(client, world, sessions, provider) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    provider.add_person("ana", ["fe-analysts", "unrelated-group"])
    done = through_provider(client, provider, "ana", next="/reports")
    assert done.status_code == 303 and done.headers["location"] == "/reports"
    page = client.get("/account/second-factor")
    assert page.status_code == 200 and "ana" in page.text
    with sessions() as s:
        user = s.scalars(select(User).where(User.username == "ana")).one()
        assert user.oidc_subject == oidc.subject_key(provider.issuer, provider.people["ana"].sub)
    assert last_audit(sessions, "sso.link") is not None
    login = last_audit(sessions, "login")
    assert login is not None and login.details["via"] == "sso"


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_the_link_follows_the_subject_not_a_later_username(client, world, sessions, provider) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    world.user("bob", "analyst", password=PASSWORD)
    provider.add_person("ana", ["fe-analysts"], sub="subject-ana")
    assert through_provider(client, provider, "ana").status_code == 303
    # Another provider account now claims the username "ana": it must not reach ana's account.
    provider.add_person("ana", ["fe-analysts"], sub="subject-impostor")
    client.cookies.clear()
    refused = through_provider(client, provider, "ana")
    assert refused.status_code == 401
    assert last_audit(sessions, "login.failed").details["reason"] == "linked-elsewhere"


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_role_claim_must_map_to_the_account_role(client, world, sessions, provider) -> None:
    world.user("aud", "auditor", password=PASSWORD)
    provider.add_person("aud", ["fe-analysts"])
    refused = through_provider(client, provider, "aud")
    assert refused.status_code == 401
    assert "Single sign-on did not work" in refused.text
    assert last_audit(sessions, "login.failed").details["reason"] == "role"
    assert client.get("/audit", follow_redirects=False).status_code == 303  # not signed in
    provider.people["aud"].groups = ["fe-auditors"]
    assert through_provider(client, provider, "aud").status_code == 303
    assert client.get("/audit").status_code == 200


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_an_unknown_person_with_the_admin_group_is_not_created(client, world, sessions, provider) -> None:
    provider.add_person("mallory", ["fe-admins"])
    refused = through_provider(client, provider, "mallory")
    assert refused.status_code == 401
    with sessions() as s:
        assert s.scalars(select(User).where(User.username == "mallory")).first() is None
    assert last_audit(sessions, "login.failed").details["reason"] == "unknown-user"
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_the_admin_group_does_not_raise_a_known_analyst(client, world, provider) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    provider.add_person("ana", ["fe-admins"])
    assert through_provider(client, provider, "ana").status_code == 401
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_a_deactivated_account_is_refused(client, world, sessions, provider) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    with sessions.begin() as s:
        s.scalars(select(User).where(User.username == "ana")).one().active = False
    provider.add_person("ana", ["fe-analysts"])
    assert through_provider(client, provider, "ana").status_code == 401


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"iss": "https://login.example.invalid/other-tenant"}, "issuer"),
        ({"aud": ["another-client"]}, "audience"),
        ({"nonce": "a-nonce-from-another-sign-in"}, "nonce"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"iat": int(time.time()) + 3600}, "not-yet-valid"),
    ],
)
@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_hostile_id_tokens_are_refused(client, world, sessions, provider, override, reason) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    provider.add_person("ana", ["fe-analysts"])
    provider.overrides = override
    refused = through_provider(client, provider, "ana")
    assert refused.status_code == 401
    assert last_audit(sessions, "login.failed").details["reason"] == reason
    assert last_audit(sessions, "login") is None
    with sessions() as s:
        assert s.scalars(select(User).where(User.username == "ana")).one().oidc_subject is None


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_a_token_signed_with_a_key_the_issuer_does_not_publish_is_refused(client, world, sessions, provider):
    world.user("ana", "analyst", password=PASSWORD)
    provider.add_person("ana", ["fe-analysts"])
    rogue = Provider()  # another provider, its own keys: the token is signed with its key, same kid
    provider.signing_key = rogue.key
    assert through_provider(client, provider, "ana").status_code == 401
    assert last_audit(sessions, "login.failed").details["reason"] == "signature"


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_a_token_from_another_real_provider_is_refused(settings, provider) -> None:
    other = Provider()
    other.add_client(CLIENT_ID, CLIENT_SECRET, CALLBACK)
    other.add_person("ana", ["fe-analysts"])
    with running(other):
        # Sign in at the other provider as the relying party would, then offer its token to ours.
        flow = {"state": "s", "nonce": "n-123", "verifier": "v" * 50}
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        params = {
            "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": CALLBACK, "scope": "openid",
            "state": flow["state"], "nonce": flow["nonce"],
            "code_challenge": create_s256_code_challenge(flow["verifier"]), "code_challenge_method": "S256",
        }  # fmt: skip
        answer = httpx.post(f"{other.issuer}/authorize", data={**params, "login": "ana"})
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        tokens = httpx.post(
            f"{other.issuer}/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                  "code_verifier": flow["verifier"]},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).json()  # fmt: skip
        other_settings = settings.model_copy(update={"oidc_issuer": other.issuer})
        # The token is genuine for the other issuer...
        assert oidc.validate(other_settings, tokens["id_token"], "n-123")["preferred_username"] == "ana"
        # ...and worthless for ours: its signature does not verify against our issuer's keys.
        with pytest.raises(oidc.SsoRefused) as refused:
            oidc.validate(settings, tokens["id_token"], "n-123")
        assert refused.value.reason == "signature"


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_a_callback_replayed_or_from_another_browser_is_refused(client, world, sessions, provider) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    provider.add_person("ana", ["fe-analysts"])
    start = client.get("/login/sso", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    # A callback whose state this browser never started: refused before any code is exchanged.
    other = TestClient(client.app)
    assert other.get(f"{oidc.CALLBACK_PATH}?code=x&state={state}").status_code == 401
    assert client.get(f"{oidc.CALLBACK_PATH}?code=x&state=wrong").status_code == 401
    assert last_audit(sessions, "login.failed").details["reason"] == "state"


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_logout_ends_the_session_and_offers_the_provider_logout(client, world, sessions, provider) -> None:
    world.user("ana", "analyst", password=PASSWORD)
    provider.add_person("ana", ["fe-analysts"])
    assert through_provider(client, provider, "ana").status_code == 303
    token = csrf_of(client.get("/account/second-factor").text)
    out = client.post("/logout", data={"csrftoken": token}, follow_redirects=False)
    assert out.status_code == 200
    link = (
        __import__("re")
        .search(r'id="provider-logout" href="([^"]+)"', out.text)
        .group(1)
        .replace("&amp;", "&")
    )
    assert link.startswith(provider.issuer + "/logout?")
    assert client.get("/account/second-factor", follow_redirects=False).status_code == 303
    back = httpx.get(link)
    assert back.status_code == 302 and back.headers["location"] == "http://testserver/"
    assert provider.ended_sessions[-1]["client_id"] == CLIENT_ID


@pytest.mark.slow  # A real OpenID provider served on loopback for the test.
def test_password_sign_in_logout_is_unchanged(client, world, provider) -> None:
    from access.estate import sign_in

    world.user("ana", "analyst", password=PASSWORD)
    assert sign_in(client, "ana").status_code == 303
    token = csrf_of(client.get("/account/password").text)
    out = client.post("/logout", data={"csrftoken": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/"


def test_the_sign_in_page_offers_sso_only_when_configured(client, app) -> None:
    assert 'id="sso"' in client.get("/login").text
    app.state.settings = app.state.settings.model_copy(update={"oidc_issuer": None})
    assert 'id="sso"' not in client.get("/login").text
    assert client.get("/login/sso", follow_redirects=False).status_code == 404


def test_a_role_map_naming_an_unknown_role_is_refused(settings) -> None:
    with pytest.raises(ValueError, match="FAIRENGAGE_OIDC_ROLE_MAP"):
        oidc.role_map(settings.model_copy(update={"oidc_role_map": "g=superuser"}))
