"""Secrets and personal information never reach the logs, in process and through a real uvicorn server."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from builders import valid_body
from fairengage.access.logs import redact_target
from live import live_server

PASSWORD = "Tr0ub4dor-horse-7c1e9a"
WRONG_PASSWORD = "wrong-guess-5be02f"
PERSON = {"name": "Zebediah Quillfeather", "date_of_birth": "1987-03-14", "address": "47 Wexford Lane"}
COMPLAINANT = {"name": "Philippa Orrinshaw", "email": "p.orrinshaw@example.net", "phone": "416-555-0147"}
# SQLAlchemy holds its own loggers at WARNING whatever the root says; an administrator chasing a slow
# query turns `sqlalchemy.engine` up, so the capture does too.
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "sqlalchemy.engine")
# The tests' own browser (httpx) logs what it sends and receives, cookies included, at DEBUG; that is the
# client's log, not the service's, and the service itself does not use httpx.
CLIENT_LOGGERS = ("httpx", "httpcore")


class Collect(logging.Handler):
    """Keeps every record as the text a log file would hold, traceback included."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Format and keep the record, unless the tests' browser logged it."""
        if not record.name.startswith(CLIENT_LOGGERS):
            self.lines.append(self.format(record))


@contextmanager
def everything_logged() -> Iterator[list[str]]:
    """Every log record at every level (root at DEBUG, uvicorn's loggers too) and every warning."""
    handler = Collect()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield handler.lines
            handler.lines += [f"warning {w.category.__name__} {w.message}" for w in caught]
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def csrf_of(html: str) -> str:
    """The CSRF token of a page."""
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


@pytest.fixture
def people(world) -> dict[str, str]:
    """An officer and a supervisor in D14 with passwords and API tokens."""
    recent = date.today() - timedelta(days=30)
    world.officer("T7", "D14", trained_on=recent)
    world.officer("S7", "D14", trained_on=recent)
    world.user("officer7", "officer", badge="T7", password=PASSWORD)
    world.user("super7", "supervisor", badge="S7", password=PASSWORD)
    return {"officer": world.token("officer7"), "supervisor": world.token("super7")}


def the_day(client: httpx.Client | TestClient, tokens: dict[str, str]) -> list[str]:
    """Sign in, fail a sign-in, record with a person's details, read them back, complain; the secrets used."""
    login = client.get("/login")
    r = client.post(
        "/login", data={"username": "officer7", "password": WRONG_PASSWORD, "csrftoken": csrf_of(login.text)}
    )
    assert r.status_code == 401
    r = client.post(
        "/login", data={"username": "officer7", "password": PASSWORD, "csrftoken": csrf_of(login.text)}
    )
    assert r.status_code in (200, 303)
    cookie = client.cookies["fairengage_session"]
    assert client.get("/engagements").status_code == 200
    officer = {"Authorization": f"Bearer {tokens['officer']}", "Idempotency-Key": "log-test-1"}
    recorded = client.post("/api/v1/engagements", json=valid_body(person=PERSON), headers=officer)
    assert recorded.status_code == 201, recorded.text
    engagement, code = recorded.json()["id"], recorded.json()["receipt"]["code"]
    supervisor = {"Authorization": f"Bearer {tokens['supervisor']}"}
    # Free text about the person in the query string, as a careless client might send it.
    purpose = quote(f"follow-up with {PERSON['name']} at {PERSON['address']}")
    read = client.get(f"/api/v1/engagements/{engagement}?purpose={purpose}", headers=supervisor)
    assert read.json()["person"]["name"] == PERSON["name"]
    public = client.get(f"/r?code={code}", follow_redirects=False)
    assert public.status_code == 303
    form = client.get(f"/r/{code}/complaint").text
    key = re.search(r'name="form_key" value="([^"]+)"', form).group(1)
    complaint = {
        "csrftoken": csrf_of(form), "form_key": key, "kind": "complaint", "consent": "yes",
        "description": "Stopped for no reason I could see.", **COMPLAINANT,
    }  # fmt: skip
    assert client.post(f"/r/{code}/complaint", data=complaint, follow_redirects=False).status_code == 303
    # The receipt's own pages, each with the code in its path (docs/security.md: never logged).
    for path in ("", "/print", "/receipt.pdf", "/qr.svg", "/complaint/filed"):
        assert client.get(f"/r/{code}{path}", follow_redirects=False).status_code in (200, 303)
    # A code typed without its hyphens, and in lower case, is the same code.
    client.get(f"/r/{code.replace('-', '').lower()}")
    return [PASSWORD, WRONG_PASSWORD, tokens["officer"], tokens["supervisor"], cookie, *PERSON.values(),
            *COMPLAINANT.values(), code, code.replace("-", ""), code.replace("-", "").lower()]  # fmt: skip


def leaks(lines: list[str], secrets: list[str], key: str) -> list[str]:
    """Each secret found in the captured text, with the line it is on."""
    found = []
    for secret in [*secrets, key]:
        found += [f"{secret!r} in: {line[:300]}" for line in lines if secret in line]
    return found


def test_nothing_secret_or_personal_is_logged_in_process(app, client, people, settings):
    with everything_logged() as lines:
        secrets = the_day(client, people)
    # Guards the test: the capture saw the database's own debug lines, so it was listening at DEBUG.
    assert any(line.startswith("sqlalchemy.engine") for line in lines)
    assert leaks(lines, secrets, settings.secret_key.get_secret_value()) == []


def test_nothing_secret_or_personal_is_in_uvicorns_logs(app, people, settings):
    with live_server(app) as url, everything_logged() as lines, httpx.Client(base_url=url) as browser:
        secrets = the_day(browser, people)
    access = [line for line in lines if line.startswith("uvicorn.access")]
    # Guards the test: uvicorn's access log was captured, query strings and all.
    assert any('"POST /login HTTP/1.1" 401' in line for line in access)
    assert any("purpose=***" in line for line in access)
    assert any('"GET /r/***/complaint HTTP/1.1" 200' in line for line in access)
    assert any('"GET /r/***/receipt.pdf HTTP/1.1" 200' in line for line in access)
    assert leaks(lines, secrets, settings.secret_key.get_secret_value()) == []


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/login?next=/review", "/login?next=***"),
        ("/public?period=2024&division=D14&lang=fr", "/public?period=2024&division=D14&lang=fr"),
        ("/r?code=ABCD-EFGH-JKLM", "/r?code=***"),
        ("/api/v1/engagements/x?purpose=call%20Sam%20Example", "/api/v1/engagements/x?purpose=***"),
        ("/audit?actor=ana&page=2", "/audit?actor=***&page=2"),
        ("/x?fe_AbCdEf0123456789", "/x?***"),
        ("/x?token=fe_secret&token=again", "/x?token=***&token=***"),
        ("/engagements", "/engagements"),
        ("/r/ZD6D-AB12-CD34/complaint", "/r/***/complaint"),
        ("/r/ZD6D-AB12-CD34/complaint?lang=fr&kind=own_record", "/r/***/complaint?lang=fr&kind=own_record"),
        ("/r/not%20a%20code/qr.svg", "/r/***/qr.svg"),
        ("/r", "/r"),
        ("/r/", "/r/"),
        ("/admin/users/philippa.o/role", "/admin/users/***/role"),
        ("/admin/officers/T700/training", "/admin/officers/***/training"),
        ("/review/zd6dab12cd34", "/review/***"),
        ("/engagements/ZD6D%20AB12%20CD34/receipt", "/engagements/***/receipt"),
        ("/engagements/0b7e6c1e-4b1a-4f4e-9a51-3c2d1e0f9a8b/receipt",
         "/engagements/0b7e6c1e-4b1a-4f4e-9a51-3c2d1e0f9a8b/receipt"),
        ("/static/app.css", "/static/app.css"),
    ],
)
def test_targets_keep_only_harmless_values(target, logged):
    assert redact_target(target) == logged


def test_staff_names_in_paths_are_not_in_uvicorns_logs(app, people):
    # A username and a badge are in some admin paths; whatever the answer, the request line is logged.
    with live_server(app) as url, everything_logged() as lines, httpx.Client(base_url=url) as browser:
        browser.post("/admin/users/officer7/active", data={"active": "no"})
        browser.post("/admin/officers/T7/training", data={"trained_on": "2026-01-01"})
    access = [line for line in lines if line.startswith("uvicorn.access")]
    assert any("/admin/users/***/active" in line for line in access), access
    assert any("/admin/officers/***/training" in line for line in access), access
    assert not [line for line in access if "officer7" in line or "/T7/" in line]


def test_the_redaction_is_on_uvicorns_access_logger(app):
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/r?code=SECRET-CODE", "1.1", 200), None,
    )  # fmt: skip
    handled: Callable[[logging.LogRecord], bool] = logging.getLogger("uvicorn.access").filter  # type: ignore[assignment]
    assert handled(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /r?code=*** HTTP/1.1" 200'
