"""Receipt routes: limits per client and per code; a never-issued code is answered like a bad one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from builders import valid_body
from fairengage.app import create_app
from fairengage.config import Settings
from fairengage.db import transaction
from fairengage.receipts import codes, limits

# Every public route that takes a receipt code, with the method a browser uses on it.
RECEIPT_ROUTES = (
    ("GET", "/r/{code}"),
    ("GET", "/r/{code}/print"),
    ("GET", "/r/{code}/receipt.pdf"),
    ("GET", "/r/{code}/qr.svg"),
    ("GET", "/r/{code}/complaint"),
    ("POST", "/r/{code}/complaint"),
    ("GET", "/r/{code}/complaint/filed"),
)


def browser(app, address: str = "198.51.100.7") -> TestClient:  # type: ignore[no-untyped-def]
    """A client of the app from one address."""
    return TestClient(app, client=(address, 50000))


def app_with(settings: Settings, **values: int):  # type: ignore[no-untyped-def]
    """A second app (as another server process would be) on the same database, with other limits."""
    return create_app(settings.model_copy(update=values))


@pytest.fixture
def code(client, world) -> str:
    """A genuine receipt code, recorded through the API."""
    headers = world.officer_with_token("T800")
    r = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["receipt"]["code"]


def never_issued(settings: Settings) -> str:
    """A code signed with the service's key that no record carries."""
    return codes.issue_code(settings.secret)


def forged(settings: Settings) -> str:
    """A well-formed code whose signature is wrong: the last character changed."""
    real = codes.normalize_code(never_issued(settings))
    assert real is not None
    last = "0" if real[-1] != "0" else "1"
    return codes.format_code(real[:-1] + last)


def send(client: TestClient, method: str, route: str, code: str, **kwargs):  # type: ignore[no-untyped-def]
    """One request to a receipt route for a code; a POST carries the CSRF token, as the form does."""
    if method == "POST":
        if "csrftoken" not in client.cookies:
            client.get("/r")
        kwargs["data"] = {"csrftoken": client.cookies["csrftoken"], **kwargs.get("data", {})}
    return client.request(method, route.format(code=code), follow_redirects=False, **kwargs)


# --- limits per client -------------------------------------------------------------------------------


def test_guessing_codes_from_one_address_is_stopped_at_the_limit(settings):
    app = app_with(settings, public_client_limit=5, public_code_limit=0)
    with browser(app) as guesser, browser(app, "203.0.113.9") as neighbour:
        answers = [guesser.get(f"/r/{never_issued(settings)}").status_code for _ in range(8)]
        assert answers == [404] * 5 + [429] * 3
        refused = guesser.get(f"/r/{never_issued(settings)}")
        assert refused.status_code == 429
        retry = int(refused.headers["Retry-After"])
        assert 0 < retry <= settings.public_window
        assert "Too many requests" in refused.text and refused.headers["content-type"].startswith("text/html")
        # Someone else, elsewhere, is not held back by the guesser.
        assert neighbour.get(f"/r/{never_issued(settings)}").status_code == 404


@pytest.mark.parametrize(("method", "route"), RECEIPT_ROUTES)
def test_every_receipt_route_counts_and_refuses(settings, code, method, route):
    app = app_with(settings, public_client_limit=2, public_code_limit=0)
    with browser(app) as client:
        for _ in range(2):
            assert send(client, method, route, code).status_code != 429
        refused = send(client, method, route, code)
        assert refused.status_code == 429, refused.text
        assert "Retry-After" in refused.headers


def test_the_refusal_is_translated_for_a_browser(settings):
    app = app_with(settings, public_client_limit=1, public_code_limit=0)
    with browser(app) as client:
        client.get(f"/r/{never_issued(settings)}")
        refused = client.get(f"/r/{never_issued(settings)}?lang=fr")
    assert refused.status_code == 429
    assert "Trop de demandes" in refused.text and 'lang="fr"' in refused.text


def test_the_refusal_is_problem_json_for_a_client_asking_for_json(settings):
    app = app_with(settings, public_client_limit=1, public_code_limit=0)
    with browser(app) as client:
        client.get(f"/r/{never_issued(settings)}/qr.svg", headers={"Accept": "application/json"})
        refused = client.get(f"/r/{never_issued(settings)}/qr.svg", headers={"Accept": "application/json"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["status"] == 429 and body["type"].endswith("/too-many-requests")
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [("client", "RATE-LIMIT")]
    assert refused.headers["Retry-After"].isdigit()


# --- limits per code ---------------------------------------------------------------------------------


def test_one_code_is_limited_whoever_asks_and_however_it_is_typed(settings, code):
    app = app_with(settings, public_client_limit=0, public_code_limit=3)
    typed = [code, code.lower(), code.replace("-", ""), code]
    answers = []
    for number, variant in enumerate(typed):
        with browser(app, f"192.0.2.{number + 1}") as client:
            answers.append(client.get(f"/r/{variant}").status_code)
    assert answers == [200, 200, 200, 429]
    with browser(app, "192.0.2.99") as client:
        # Another code is not held back by this one's pause.
        assert client.get(f"/r/{never_issued(settings)}").status_code == 404


# --- across server processes -------------------------------------------------------------------------


def test_the_limits_hold_across_server_processes(settings):
    # Two apps with their own engines and connection pools on one database, as two uvicorn workers are.
    first = app_with(settings, public_client_limit=4, public_code_limit=0)
    second = app_with(settings, public_client_limit=4, public_code_limit=0)
    with browser(first) as one, browser(second) as two:
        answers = [
            (one if turn % 2 else two).get(f"/r/{never_issued(settings)}").status_code for turn in range(6)
        ]
    assert answers == [404] * 4 + [429] * 2


def test_a_pause_lifts_when_the_window_moves_on(app, settings, sessions):
    tight = settings.model_copy(update={"public_client_limit": 2, "public_code_limit": 0})
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def admit(at: datetime):  # type: ignore[no-untyped-def]
        with transaction(sessions) as session:
            return limits.admit(session=session, settings=tight, kind="view", client="a", code="x", now=at)

    assert admit(start) is None
    assert admit(start + timedelta(seconds=10)) is None
    pause = admit(start + timedelta(seconds=20))
    assert pause is not None and pause.scope == "client"
    assert pause.until == start + timedelta(seconds=tight.public_window)
    # Refused requests are not counted: the pause ends when the first request leaves the window.
    assert admit(start + timedelta(seconds=tight.public_window - 1)) is not None
    assert admit(start + timedelta(seconds=tight.public_window + 1)) is None


def test_counts_keep_neither_addresses_nor_codes(settings, sessions, code):
    app = app_with(settings)
    with browser(app, "198.51.100.77") as client:
        client.get(f"/r/{code}")
    with sessions() as s:
        from fairengage.receipts.models import PublicRequest

        rows = s.query(PublicRequest).all()
    assert len(rows) == 1
    stored = f"{rows[0].client_key} {rows[0].code_key}"
    canonical = codes.normalize_code(code)
    assert canonical is not None
    for secret in ("198.51.100.77", code, canonical):
        assert secret not in stored


def test_limits_of_zero_turn_them_off(settings):
    app = app_with(settings, public_client_limit=0, public_code_limit=0)
    with browser(app) as client:
        assert {client.get("/r/NOT-A-CODE").status_code for _ in range(30)} == {404}


# --- a never-issued code is a bad code ---------------------------------------------------------------


def _comparable(response, code: str) -> tuple[int, list[tuple[str, str]], bytes]:  # type: ignore[no-untyped-def]
    headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
    return response.status_code, headers, response.content.replace(code.encode(), b"<CODE>")


@pytest.mark.parametrize(("method", "route"), RECEIPT_ROUTES)
def test_a_never_issued_code_answers_exactly_like_a_forged_one(client, settings, method, route):
    # Same length and shape: only the signature tells them apart, and nothing in the answer may.
    good_signature, bad_signature = never_issued(settings), forged(settings)
    client.get("/r")  # the CSRF cookie first, so that both answers carry the same token
    first = _comparable(send(client, method, route, good_signature), good_signature)
    second = _comparable(send(client, method, route, bad_signature), bad_signature)
    assert first == second
    assert first[0] == 404


@pytest.mark.parametrize(("method", "route"), RECEIPT_ROUTES)
def test_a_malformed_code_gets_the_same_page_too(client, settings, method, route):
    client.get("/r")
    issued = never_issued(settings)
    status, headers, body = _comparable(send(client, method, route, issued), issued)
    malformed = "ZZZZ-ZZZZ-ZZZ!"
    other = _comparable(send(client, method, route, malformed), malformed)
    assert (status, body) == (other[0], other[2])
    assert [k for k, _ in headers] == [k for k, _ in other[1]]


@pytest.fixture
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app runs while the test is listening."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", count)
    yield seen
    event.remove(app.state.engine, "before_cursor_execute", count)


@pytest.mark.parametrize(("method", "route"), RECEIPT_ROUTES)
def test_the_database_is_asked_the_same_whatever_was_typed(client, settings, statements, method, route):
    # The timing oracle was a look-up run only for well-signed codes: now every code gets the same queries.
    client.get("/r")
    shapes = []
    for typed in (never_issued(settings), forged(settings), "not a code at all", "x" * 200):
        statements.clear()
        send(client, method, route, typed)
        # The request's own statements: the audit sealer runs beside it on its own schedule.
        mine = [s for s in statements if "engagements" in s or "public_requests" in s]
        shapes.append([re.sub(r"\s+", " ", s) for s in mine])
    assert all(shape == shapes[0] for shape in shapes), shapes
    assert any("engagements" in s for s in shapes[0])
