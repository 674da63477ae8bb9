"""Fixtures for complaints: a recorded engagement with its receipt code, staff sign-in, the public form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import valid_body
from fairengage.access.models import AuditEntry
from fairengage.complaints.models import Complaint

PASSWORD = "correct horse battery staple"
# The people of the permission matrix; the engagement is recorded in D14 by officer T100.
STAFF: dict[str, dict[str, Any]] = {
    "officer": {"username": "uT100", "role": "officer"},
    "supervisor": {"username": "sup14", "role": "supervisor", "division": "D14"},
    "other_supervisor": {"username": "sup52", "role": "supervisor", "division": "D52"},
    "analyst": {"username": "ana", "role": "analyst"},
    "auditor": {"username": "aud", "role": "auditor"},
    "admin": {"username": "adm", "role": "admin"},
}


def csrf_of(html: str) -> str:
    """The CSRF token a page hands its forms."""
    found = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def form_key_of(html: str) -> str:
    """The public form's one-time key."""
    found = re.search(r'name="form_key" value="([^"]+)"', html)
    assert found, "the page has no form key"
    return found.group(1)


def complaint_form(**overrides: Any) -> dict[str, Any]:
    """A complete complaint as a person would fill in the form."""
    form = {
        "kind": "complaint",
        "description": "The officer kept me for twenty minutes and would not say why.",
        "name": "Robin Complainant",
        "email": "robin@example.org",
        "phone": "416-555-0199",
        "consent": "yes",
    }
    form.update(overrides)
    return form


def submit(client: TestClient, code: str, **overrides: Any):  # type: ignore[no-untyped-def]
    """Open the public form for a code, fill it in and send it; the POST's response, not followed."""
    page = client.get(f"/r/{code}/complaint")
    assert page.status_code == 200, page.text
    data = {
        "csrftoken": csrf_of(page.text),
        "form_key": form_key_of(page.text),
        **complaint_form(**overrides),
    }
    return client.post(f"/r/{code}/complaint", data=data, follow_redirects=False)


def stored(sessions) -> list[Complaint]:  # type: ignore[no-untyped-def]
    """Every stored complaint, oldest first."""
    with sessions() as s:
        return list(s.scalars(select(Complaint).order_by(Complaint.id)).all())


def audit_entries(sessions, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    """The audit entries of one action, in order."""
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


@pytest.fixture
def record(client, world) -> Callable[..., dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Record an engagement by officer T100 in D14 through the API; its 201 body."""
    headers = world.officer_with_token("T100", "D14", name="Alex Tremblay")

    def make(**overrides: Any) -> dict[str, Any]:
        body = valid_body(occurred_at="2025-07-14T15:30:00-04:00", **overrides)
        r = client.post("/api/v1/engagements", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    return make


@pytest.fixture
def receipt(record) -> str:  # type: ignore[no-untyped-def]
    """The receipt code of an engagement in D14 with Sam Example's information."""
    return record()["receipt"]["code"]


@pytest.fixture
def signed_in(app, world) -> Iterator[Callable[[str], TestClient]]:  # type: ignore[no-untyped-def]
    """A new browser signed in as one of STAFF (the officer user exists once `record` ran); or anonymous."""
    clients: list[TestClient] = []

    def sign_in(who: str) -> TestClient:
        client = TestClient(app)
        clients.append(client)
        login = client.get("/login")
        if who == "anonymous":
            return client
        person = STAFF[who]
        if person["role"] != "officer":
            world.user(person["username"], person["role"], division=person.get("division"), password=PASSWORD)
        r = client.post(
            "/login",
            data={"username": person["username"], "password": PASSWORD, "csrftoken": csrf_of(login.text)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return client

    yield sign_in
    for client in clients:
        client.close()


def page_csrf(client: TestClient) -> str:
    """A CSRF token for a signed-in (or anonymous) browser, from a page every visitor may open."""
    return csrf_of(client.get("/login").text)


class Kit:
    """The helpers above, handed to tests as a fixture (test modules cannot import a conftest)."""

    csrf_of = staticmethod(csrf_of)
    form_key_of = staticmethod(form_key_of)
    complaint_form = staticmethod(complaint_form)
    submit = staticmethod(submit)
    stored = staticmethod(stored)
    audit_entries = staticmethod(audit_entries)
    page_csrf = staticmethod(page_csrf)
    staff = STAFF


@pytest.fixture
def kit() -> type[Kit]:
    """Helpers for the complaint tests."""
    return Kit
