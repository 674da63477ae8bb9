"""The officer's device key and what the phone needs to work offline, over HTTP.

The key is for the signed-in officer only, never cached, the same after each sign-in, different for each
officer and each key epoch; the form page names its owner; the worker and manifest come from the root.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from builders import compliant_form
from fairengage.app import create_app
from fairengage.engagements.models import Engagement
from fairengage.engagements.offline import device_key, owner_tag

PASSWORD = "a-long-enough-password"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


def sign_in(client: TestClient, username: str) -> None:
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrftoken": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303


@pytest.fixture
def people(world) -> None:
    world.officer("T6161", "D14")
    world.officer("T6262", "D14")
    world.user("ofc1", "officer", badge="T6161", password=PASSWORD)
    world.user("ofc2", "officer", badge="T6262", password=PASSWORD)
    world.user("sup", "supervisor", division="D14", password=PASSWORD)


def key_of(client: TestClient) -> dict:
    answer = client.get("/engagements/device-key")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


def test_an_officer_gets_a_256_bit_key_never_cached(client, people):
    sign_in(client, "ofc1")
    body = key_of(client)
    raw = base64.urlsafe_b64decode(body["key"] + "=" * (-len(body["key"]) % 4))
    assert len(raw) == 32
    assert body["epoch"] == 1
    assert re.fullmatch(r"[0-9a-f]{32}", body["owner"])


def test_the_same_officer_gets_the_same_key_after_signing_in_again(app, people):
    with TestClient(app) as first, TestClient(app) as second:
        sign_in(first, "ofc1")
        sign_in(second, "ofc1")
        assert key_of(first) == key_of(second)
        first.post("/logout", data={"csrftoken": csrf_of(first.get("/login").text)})
        sign_in(first, "ofc1")
        assert key_of(first) == key_of(second)


def test_each_officer_has_their_own_key_and_owner(app, people):
    with TestClient(app) as one, TestClient(app) as two:
        sign_in(one, "ofc1")
        sign_in(two, "ofc2")
        a, b = key_of(one), key_of(two)
        assert a["key"] != b["key"] and a["owner"] != b["owner"]
        # The form names the signed-in officer's owner tag, so the phone opens only their entries.
        assert f'data-offline-owner="{a["owner"]}"' in one.get("/engagements/new").text
        assert f'data-offline-owner="{b["owner"]}"' in two.get("/engagements/new").text


def test_a_new_epoch_or_a_new_secret_changes_every_key(settings, people):
    with TestClient(create_app(settings)) as client:
        sign_in(client, "ofc1")
        before = key_of(client)
    later = settings.model_copy(update={"device_key_epoch": 2})
    with TestClient(create_app(later)) as client:
        sign_in(client, "ofc1")
        after = key_of(client)
    assert after["epoch"] == 2 and after["key"] != before["key"] and after["owner"] != before["owner"]
    other = settings.model_copy(update={"secret_key": SecretStr("another-secret-key-0123456789abcdef")})
    assert device_key(other, 1) != device_key(settings, 1) and owner_tag(other, 1) != owner_tag(settings, 1)


def test_the_key_is_for_signed_in_officers_only(client, people):
    answer = client.get("/engagements/device-key", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    sign_in(client, "sup")
    assert client.get("/engagements/device-key", follow_redirects=False).status_code == 403


def test_an_expired_session_gets_no_key_and_the_sign_in_page_says_it_ended(client, people, sessions):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from fairengage.access.models import UserSession

    sign_in(client, "ofc1")
    with sessions.begin() as s:
        s.execute(update(UserSession).values(last_seen_at=datetime.now(UTC) - timedelta(hours=1)))
    answer = client.get("/engagements/device-key", follow_redirects=False)
    assert answer.status_code == 303 and "ended=1" in answer.headers["location"]
    page = client.get(answer.headers["location"]).text
    assert "Your session ended" in page
    # Someone who never signed in is not told a session ended.
    with TestClient(client.app) as stranger:
        location = stranger.get("/engagements/new", follow_redirects=False).headers["location"]
        assert "ended" not in location
        assert "Your session ended" not in stranger.get(location).text


def test_a_correction_form_keeps_nothing_on_the_phone(client, world, people, sessions):
    """A returned record is corrected against the server's copy: no draft of it is kept on the phone."""
    from datetime import date

    from builders import valid_body
    from fairengage.access.models import User
    from fairengage.access.principal import Principal
    from fairengage.review import service as review

    world.officer("S6363", "D14", trained_on=date(2025, 6, 1))
    world.user("sgt", "supervisor", badge="S6363", password=PASSWORD)
    headers = {"Authorization": f"Bearer {world.token('ofc1')}"}
    record = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["id"]
    with sessions.begin() as s:
        sgt = Principal.of(s.scalars(select(User).where(User.username == "sgt")).one())
        review.decide(
            session=s,
            principal=sgt,
            engagement_id=record,
            decision="returned",
            reason="too vague",
            today=date(2026, 1, 5),
        )
    sign_in(client, "ofc1")
    correction = client.get(f"/engagements/{record}/correct")
    assert correction.status_code == 200 and "too vague" in correction.text
    assert "data-offline-owner" not in correction.text and 'id="offline-status"' not in correction.text
    fresh = client.get("/engagements/new").text
    assert "data-offline-owner" in fresh and 'id="offline-status"' in fresh


def test_the_same_form_sent_twice_stores_one_record(client, people, sessions):
    """What the phone's queue relies on: the form_key makes a resent form the record already stored."""
    sign_in(client, "ofc1")
    token = csrf_of(client.get("/engagements/new").text)
    form = compliant_form(token, form_key="0b8f3f0e-6a7c-4f8e-9d7a-1f2e3d4c5b6a", division="D14")
    first = client.post("/engagements/new", data=form, follow_redirects=False)
    second = client.post("/engagements/new", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Engagement)) == 1


def test_the_worker_and_manifest_are_served_from_the_root(client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/"
    # Cached for minutes only, so that a fixed worker reaches phones soon (engagements/offline.py).
    assert worker.headers["cache-control"] == "max-age=600"
    manifest = client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == "/engagements/new"
    # The worker's code, each file named by its content, so that a changed file is a new worker.
    sources = re.findall(r'"(/static/officer/[a-z]+\.js)\?v=([0-9a-f]{16})"', worker.text)
    assert [path for path, _ in sources] == ["/static/officer/outbox.js", "/static/officer/worker.js"]
    for path, digest in sources:
        code = client.get(path).content
        assert hashlib.sha256(code).hexdigest()[:16] == digest
        # The worker never keeps the key or any answer but the form's shell.
        assert b"device-key" not in code
    script = client.get("/static/officer/offline.js")
    assert script.status_code == 200 and "importKey" in script.text


def test_what_the_phone_says_is_in_the_page_language(client, people):
    sign_in(client, "ofc1")
    page = client.get("/engagements/new?lang=fr").text
    assert "Enregistré sur ce téléphone, pas encore envoyé" in page
    assert "Votre brouillon a été récupéré sur ce téléphone." in page
    assert "Saved on this phone" not in page


def test_the_sending_session_names_its_owner_and_gives_a_token_the_form_accepts(client, people, sessions):
    """What the phone asks before sending a kept record, instead of the whole form page."""
    answer = client.get("/engagements/session", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    sign_in(client, "ofc1")
    answer = client.get("/engagements/session")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"owner", "csrf"}
    assert body["owner"] == key_of(client)["owner"]
    # Far smaller than the form page it replaces.
    assert len(answer.content) * 20 < len(client.get("/engagements/new").content)
    form = compliant_form(body["csrf"], form_key="6d1c1c1e-1111-4f8e-9d7a-1f2e3d4c5b6a", division="D14")
    assert client.post("/engagements/new", data=form, follow_redirects=False).status_code == 303
    refused = client.post("/engagements/new", data={**form, "csrftoken": "wrong"}, follow_redirects=False)
    assert refused.status_code == 403


def test_the_sending_session_is_for_officers_only(client, people):
    sign_in(client, "sup")
    answer = client.get("/engagements/session", headers={"Accept": "application/json"})
    assert answer.status_code == 403


def test_a_record_from_the_phone_is_stored_only_for_its_own_officer(client, people, sessions):
    """The phone's script names the record's owner; another officer's session never stores it."""
    sign_in(client, "ofc1")
    mine = client.get("/engagements/session").json()
    theirs = owner_tag(client.app.state.settings, 999)
    short = {"Accept": "application/json"}
    form = compliant_form(mine["csrf"], form_key="7e2d2d2e-2222-4f8e-9d7a-1f2e3d4c5b6a", division="D14")
    refused = client.post("/engagements/new", data=form, headers={**short, "X-Offline-Owner": theirs})
    assert refused.status_code == 409
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Engagement)) == 0
    saved = client.post("/engagements/new", data=form, headers={**short, "X-Offline-Owner": mine["owner"]})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["receipt"] == f"/engagements/{body['id']}/receipt"
    with sessions() as s:
        stored = s.scalars(select(Engagement)).one()
    assert stored.id == body["id"] and body["code"].replace("-", "") in stored.receipt_code.replace("-", "")
    # Refused by the rules: a short answer naming the field and the rule, not the whole form page.
    bad = {**form, "form_key": "8f3e3e3f-3333-4f8e-9d7a-1f2e3d4c5b6a", "informed": ""}
    answer = client.post("/engagements/new", data=bad, headers=short)
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert "informed" in {e["field"] for e in answer.json()["errors"]}
