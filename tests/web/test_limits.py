"""Hostile requests get a clear error naming field and rule, store nothing, and are never read whole."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from builders import valid_body
from fairengage.app import create_app
from fairengage.engagements.models import Engagement
from fairengage.web import limits
from fairengage.web.problems import MEDIA_TYPE, validation_errors

ROOT = Path(__file__).resolve().parents[2]
JSON = {"content-type": "application/json"}


@pytest.fixture
def officer(world) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """An officer's API headers."""
    return world.officer_with_token("9001")


def stored(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Engagement))


def refused(response: Any, status: int, field: str, rule: str) -> str:
    """Assert a problem+json refusal naming `field` and `rule`; return its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://fairengage.org/problems/")
    assert body["title"]
    [error] = body["errors"]
    assert (error["field"], error["rule"]) == (field, rule), error
    return error["message"]


def post(client: TestClient, headers: dict[str, str], content: bytes | str, **extra: str) -> Any:
    return client.post("/api/v1/engagements", content=content, headers={**headers, **JSON, **extra})


# --- body size ------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_by_its_content_length(client, officer, sessions):
    body = json.dumps(valid_body(reason="x" * (1 << 20)))
    message = refused(post(client, officer, body), 413, "body", "BODY-SIZE")
    assert "1,048,576 bytes" in message
    assert stored(sessions) == 0


def test_a_body_sent_in_chunks_without_a_length_is_counted(client, officer, sessions):
    chunks = (b" " * 65536 for _ in range(40))  # 2.5 MiB, chunked, no Content-Length
    response = client.post("/api/v1/engagements", content=chunks, headers={**officer, **JSON})
    refused(response, 413, "body", "BODY-SIZE")
    assert stored(sessions) == 0


def test_the_limit_is_a_setting_and_a_body_at_the_limit_passes(settings, world):
    headers = world.officer_with_token("9001")
    body = json.dumps(valid_body()).encode()
    app = create_app(settings.model_copy(update={"max_body_bytes": len(body)}))
    with TestClient(app) as client:
        assert post(client, headers, body).status_code == 201
        refused(post(client, headers, body + b" "), 413, "body", "BODY-SIZE")


class _Sender:
    """An ASGI receive that sends `chunks` chunks of `size` bytes and counts how many were asked for."""

    def __init__(self, chunks: int, size: int) -> None:
        self.chunks, self.size, self.asked = chunks, size, 0

    async def __call__(self) -> dict[str, Any]:
        self.asked += 1
        more = self.asked < self.chunks
        return {"type": "http.request", "body": b"x" * self.size, "more_body": more}


def _call(middleware: limits.RequestLimits, receive: Any, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/x", "query_string": b"", "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    return sent


def test_reading_stops_at_the_first_chunk_past_the_limit():
    reached = []

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)

    middleware = limits.RequestLimits(handler, max_body_bytes=10_000)
    sender = _Sender(chunks=1000, size=1000)  # a megabyte on offer
    sent = _call(middleware, sender, [(b"content-type", b"application/octet-stream")])
    assert sent[0]["status"] == 413
    assert sender.asked == 11  # ten chunks fill the limit; the eleventh goes past it
    assert reached == []


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read():
    middleware = limits.RequestLimits(lambda *a: None, max_body_bytes=100)  # type: ignore[arg-type]
    sender = _Sender(chunks=1, size=10)
    sent = _call(middleware, sender, [(b"content-length", b"5000000000")])
    assert sent[0]["status"] == 413
    assert sender.asked == 0


@pytest.mark.parametrize("declared", [b"9" * 5000, "\u00b2".encode("latin-1"), b"-1", b"12x"])
def test_a_strange_content_length_is_no_crash(declared):
    middleware = limits.RequestLimits(lambda *a: None, max_body_bytes=100)  # type: ignore[arg-type]
    sender = _Sender(chunks=1, size=1000)
    sent = _call(middleware, sender, [(b"content-length", declared)])
    # Refused by its length, or by counting the bytes that came: never an exception.
    assert sent[0]["status"] == 413


def test_the_handler_gets_the_body_it_was_sent():
    received = []

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(message["body"])
            if not message.get("more_body"):
                break

    middleware = limits.RequestLimits(handler, max_body_bytes=10_000)
    _call(middleware, _Sender(chunks=3, size=1000), [(b"content-type", b"application/octet-stream")])
    assert b"".join(received) == b"x" * 3000


def test_a_form_over_the_limit_gets_a_page_and_a_json_client_gets_a_problem(client):
    form = b"username=" + b"a" * (2 << 20)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    page = client.post("/login", content=form, headers={**headers, "accept": "text/html"})
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert "The form is too large" in page.text and "1,048,576 bytes" in page.text
    problem = client.post("/login", content=form, headers={**headers, "accept": "application/json"})
    refused(problem, 413, "body", "BODY-SIZE")


# --- JSON on the API ------------------------------------------------------------------------------------


def test_json_nested_deeper_than_the_limit_is_refused_before_parsing(client, officer, sessions):
    deep = "[" * 100_000 + "]" * 100_000
    message = refused(post(client, officer, deep), 400, "body", "JSON-DEPTH")
    assert "32 levels" in message
    nested_field = json.dumps(valid_body(person={"name": json.loads("[" * 40 + "]" * 40)}))
    refused(post(client, officer, nested_field), 400, "body", "JSON-DEPTH")
    assert stored(sessions) == 0


def test_depth_counts_brackets_outside_strings_only():
    assert limits.json_depth(b'{"a": [[1], {"b": []}]}', stop_after=32) == 4
    assert limits.json_depth(b'{"reason": "[[[[{{{{ \\" [[[["}', stop_after=32) == 1
    assert limits.json_depth(b"[" * 32 + b"]" * 32, stop_after=32) == 32
    assert limits.json_depth(b"[" * 10_000, stop_after=32) == 33


def test_brackets_in_text_are_not_nesting(client, officer):
    reason = "Seen at [[[[ the corner ]]]] " + "{" * 200 + " trying car doors one after another."
    body = valid_body(reason=reason)
    assert post(client, officer, json.dumps(body)).status_code == 201


@pytest.mark.parametrize(
    ("content", "field", "rule"),
    [
        (json.dumps(valid_body()).encode("utf-16"), "body", "VALID-UTF8"),
        (json.dumps(valid_body(reason="Façade"), ensure_ascii=False).encode("latin-1"), "body", "VALID-UTF8"),
        (json.dumps(valid_body())[:40], "body", "VALID-JSON"),
        (json.dumps(valid_body(perceived_age=float("nan"))), "body", "VALID-JSON"),
        (json.dumps(valid_body(perceived_age=float("inf"))), "body", "VALID-JSON"),
        (json.dumps(valid_body()).replace('"perceived_age": 30', '"perceived_age": ' + "9" * 5000),
         "body", "VALID-JSON"),
        (json.dumps(valid_body(reason="Seen trying car doors \x00 one after another on the block.")),
         "reason", "VALID-TEXT"),
        (json.dumps(valid_body()).replace('"Sam Example"', '"Sam \\ud800"'), "person.name", "VALID-UTF8"),
        (json.dumps(valid_body(reason_grounds=["behaviour", "a\x00"])), "reason_grounds.1", "VALID-TEXT"),
        (json.dumps({**valid_body(), "bad\x00key": 1}), "bad\\x00key", "VALID-TEXT"),
    ],
    ids=["utf-16", "latin-1 byte", "truncated", "NaN", "Infinity", "5000 digits", "NUL", "lone surrogate",
         "NUL in a list", "NUL in a key"],
)  # fmt: skip
def test_malformed_json_is_refused_naming_the_field_and_rule(client, officer, sessions, content, field, rule):
    refused(post(client, officer, content), 400, field, rule)
    assert stored(sessions) == 0


def test_an_escaped_surrogate_pair_is_a_character_and_is_read(client, officer):
    body = json.dumps(valid_body(reason="Seen trying car doors one after another, \U0001f697 in hand."))
    assert "\\ud83d\\ude97" in body
    assert post(client, officer, body).status_code == 201


def test_a_json_body_starting_with_a_byte_order_mark_is_read(client, officer):
    assert post(client, officer, b"\xef\xbb\xbf" + json.dumps(valid_body()).encode()).status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_of_another_type_is_a_clear_422_not_a_crash(client, officer, sessions, content_type):
    headers = {**officer, "content-type": content_type}
    response = client.post("/api/v1/engagements", content=json.dumps(valid_body()), headers=headers)
    refused(response, 422, "body", "VALID-TYPE")
    assert stored(sessions) == 0


def test_a_very_long_string_is_refused_by_its_field(client, officer, sessions):
    response = post(client, officer, json.dumps(valid_body(reason="x" * 500_000)))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert stored(sessions) == 0


# --- addresses and headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/engagements?division=D1%00", "division"),
        ("/api/v1/engagements/abc%00def", "path"),
        ("/api/v1/engagements/abc?purpose=audit%00", "purpose"),
    ],
)
def test_a_nul_in_the_address_is_refused(client, officer, url, field):
    # PostgreSQL cannot compare or store text with a NUL: these were server errors there.
    refused(client.get(url, headers=officer), 400, field, "VALID-TEXT")


def test_a_nul_in_a_header_is_refused(client, officer, sessions):
    response = post(client, officer, json.dumps(valid_body()), **{"idempotency-key": "key\x00"})
    refused(response, 400, "idempotency-key", "VALID-TEXT")
    assert stored(sessions) == 0


def test_a_nul_in_a_page_address_gets_a_page(client):
    response = client.get("/public?division=%00", headers={"accept": "text/html"})
    assert response.status_code == 400
    assert "The request could not be read" in response.text


# --- forms that CSRF reads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "content", "rule"),
    [
        ("application/x-www-form-urlencoded", b"username=\xff&password=x", "VALID-UTF8"),
        ("multipart/form-data", b"username=x", "VALID-MULTIPART"),
        ("multipart/form-data; boundary=zz", b"not\r\n--zz\r\nmultipart", "VALID-MULTIPART"),
    ],
    ids=["latin-1 form", "multipart without boundary", "broken multipart"],
)
def test_forms_csrf_cannot_read_get_a_clear_error(client, content_type, content, rule):
    client.get("/login")  # the CSRF cookie: with it, CSRF reads the body (and crashed on these)
    assert client.cookies.get("csrftoken")
    headers = {"content-type": content_type}
    page = client.post("/login", content=content, headers={**headers, "accept": "text/html"})
    assert page.status_code == 400
    assert "The request could not be read" in page.text
    refused(client.post("/login", content=content, headers={**headers, "accept": "application/json"}),
            400, "body", rule)  # fmt: skip


# --- found by the generated requests (tests/web/test_openapi_fuzz.py) ----------------------------------


def test_a_time_before_year_1900_is_refused_not_a_crash(client, officer, sessions):
    # Year 1 in Toronto time falls before year 1 in UTC: shifting it overflowed.
    response = post(client, officer, json.dumps(valid_body(occurred_at="0001-01-01T00:00:00Z")))
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "VALID-TIME"
    assert stored(sessions) == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [("to=0001-01-01T00:00:00%2B00:01", "to"), ("from=2024-01-01T00:00:00", "from")],
    ids=["year 1", "no offset"],
)
def test_list_bounds_must_be_aware_times_in_range(client, officer, query, field):
    response = client.get(f"/api/v1/engagements?{query}", headers=officer)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_json_syntax_error_that_reaches_fastapi_names_the_body_not_an_offset():
    # The limits refuse such bodies first; this is the fallback for any route they let through.
    exc = RequestValidationError([{"type": "json_invalid", "loc": ("body", 12), "msg": "JSON decode error"}])
    assert validation_errors(exc) == [{"field": "body", "rule": "VALID-JSON", "message": "JSON decode error"}]


def test_an_unexpected_failure_is_still_a_problem(app, officer):
    @app.get("/api/v1/test-failure")
    def fail() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/test-failure", headers=officer)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    assert response.json()["status"] == 500
    assert "boom" not in response.text


# --- documentation --------------------------------------------------------------------------------------


def test_every_limit_rule_is_documented_for_device_developers():
    api = (ROOT / "docs" / "api.md").read_text()
    for rule in limits.RULES:
        assert f"`{rule}`" in api, rule
