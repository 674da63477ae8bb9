"""Inputs that once gave a 500: multipart forms with a cookie, huge integers, dates at the calendar's edge."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from access.estate import PASSWORD, csrf_of, sign_in
from builders import valid_body
from fairengage.app import create_app
from fairengage.config import Settings
from fairengage.web.params import MAX_INT

HUGE = 10**30
# Roles that reach the routes taking integers (staff complaints, review samples, restricted reads, audit).
ROLES = ("supervisor", "auditor", "admin", "officer")


def _routes(app) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    try:
        from fastapi.routing import iter_route_contexts

        found = [getattr(r, "route", r) for r in iter_route_contexts(app.routes)]
    except ImportError:
        found = list(app.routes)
    return [r for r in found if isinstance(r, APIRoute)]


def _params(dependant: Any) -> list[Any]:
    found = [*dependant.path_params, *dependant.query_params]
    for sub in dependant.dependencies:
        found += _params(sub)
    return found


def _upper_bound(param: Any) -> int | None:
    for rule in param.field_info.metadata:
        for name in ("le", "lt"):
            if getattr(rule, name, None) is not None:
                return int(getattr(rule, name))
    return None


def int_parameters(app) -> list[tuple[APIRoute, Any]]:  # type: ignore[no-untyped-def]
    """Every integer path or query parameter of every route, dependencies included."""
    return [
        (route, param)
        for route in _routes(app)
        for param in _params(route.dependant)
        if param.field_info.annotation in (int, int | None)
    ]


def test_every_integer_parameter_has_an_upper_bound_the_databases_hold(app):
    found = int_parameters(app)
    # Guards the test: the routes of note are seen (the audit page's number, complaint ids, offsets).
    names = {(route.path, param.name) for route, param in found}
    assert {("/audit", "page"), ("/staff/complaints/{complaint_id}", "complaint_id")} <= names
    assert ("/engagements", "offset") in names and ("/api/v1/engagements", "limit") in names
    unbounded = [
        f"{route.path} {param.name}" for route, param in found if (_upper_bound(param) or HUGE) > MAX_INT
    ]
    assert unbounded == []


@pytest.fixture
def staff(world) -> dict[str, str]:
    """One user per role, with an officer in D14; username by role."""
    world.officer("T900", "D14")
    world.user("officer9", "officer", badge="T900", password=PASSWORD)
    world.user("super9", "supervisor", division="D14", password=PASSWORD)
    world.user("audit9", "auditor", password=PASSWORD)
    world.user("admin9", "admin", password=PASSWORD)
    return {"officer": "officer9", "supervisor": "super9", "auditor": "audit9", "admin": "admin9"}


def _huge_requests(app) -> list[tuple[str, str, dict[str, int]]]:  # type: ignore[no-untyped-def]
    requests = []
    for route, param in int_parameters(app):
        method = sorted(route.methods - {"HEAD"})[0]
        name = param.name
        path = re.sub(
            r"\{(\w+)(?::path)?\}", lambda m, n=name: str(HUGE) if m.group(1) == n else "1", route.path
        )
        query = {} if "{" + param.name + "}" in route.path else {param.name: HUGE}
        requests.append((method, path, query))
    return requests


@pytest.mark.parametrize("role", ROLES)
def test_huge_integers_anywhere_are_refused_not_a_crash(app, staff, role):
    with TestClient(app, raise_server_exceptions=False) as client:
        assert sign_in(client, staff[role]).status_code == 303
        token = csrf_of(client.get("/login").text)
        answers = []
        for method, path, query in _huge_requests(app):
            data = {"csrftoken": token} if method == "POST" else None
            for value in (HUGE, -HUGE, MAX_INT + 1):
                params = {name: value for name in query}
                target = path.replace(str(HUGE), str(value))
                answers.append(
                    (method, target, params, client.request(method, target, params=params, data=data))
                )
    crashed = [f"{m} {t} {p}: {r.status_code}" for m, t, p, r in answers if r.status_code >= 500]
    assert crashed == []
    # Past the bound is a clear refusal naming the parameter, not an empty page.
    # The API names it in problem+json; a page, in the page it shows the browser.
    refused = [(p, r) for _, _, p, r in answers if r.status_code == 422]
    assert refused
    for params, r in refused:
        if r.headers["content-type"] == "application/problem+json":
            assert r.json()["errors"][0]["rule"] == "VALID-TYPE"
        else:
            assert r.headers["content-type"].startswith("text/html") and "Values at fault:" in r.text, params


def test_the_largest_id_allowed_is_simply_not_found(app, staff):
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, staff["supervisor"])
        assert client.get(f"/staff/complaints/{MAX_INT}").status_code == 404
        assert client.get(f"/review/samples/{MAX_INT}").status_code == 404
        assert client.get("/engagements", params={"offset": MAX_INT}).status_code == 200


# --- multipart forms ----------------------------------------------------------------------------------


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@pytest.fixture
def receipt(client, world) -> str:
    """A genuine receipt code."""
    headers = world.officer_with_token("T901")
    return client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["receipt"]["code"]


@pytest.mark.parametrize(
    ("content_type", "parts", "status"),
    [
        # The token first, then the form: read as a form (and refused as an incomplete complaint).
        (
            "multipart/form-data; boundary=b0undary",
            [("csrftoken", None, b"TOKEN"), ("kind", None, b"x")],
            422,
        ),
        # Spelled without the space, or with a quoted boundary: the same form.
        ("multipart/form-data;boundary=b0undary", [("csrftoken", None, b"TOKEN")], 422),
        ('multipart/form-data; boundary="b0undary"', [("csrftoken", None, b"TOKEN")], 422),
        ("Multipart/Form-Data; charset=utf-8; Boundary=b0undary", [("csrftoken", None, b"TOKEN")], 422),
        # A file before the token, a token that is not UTF-8, no token: refused as forged.
        (
            "multipart/form-data; boundary=b0undary",
            [("f", "a.txt", b"data"), ("csrftoken", None, b"TOKEN")],
            403,
        ),
        ("multipart/form-data; boundary=b0undary", [("csrftoken", None, b"\xff\xfe")], 403),
        ("multipart/form-data; boundary=b0undary", [("kind", None, b"complaint")], 403),
        # The token, then a file where text belongs: still a clear answer.
        (
            "multipart/form-data; boundary=b0undary",
            [("csrftoken", None, b"TOKEN"), ("description", "d.txt", b"x")],
            422,
        ),
    ],
)
def test_multipart_forms_from_a_browser_with_a_cookie_get_an_answer(
    client, receipt, content_type, parts, status
):
    token = csrf_of(client.get(f"/r/{receipt}/complaint").text)
    parts = [(n, f, v.replace(b"TOKEN", token.encode())) for n, f, v in parts]
    r = client.post(
        f"/r/{receipt}/complaint", content=_multipart(parts), headers={"content-type": content_type}
    )
    assert r.status_code == status, r.text[:300]


@pytest.mark.parametrize("body", [b"", b"abc"])
def test_multipart_without_a_boundary_is_refused_even_empty(client, body):
    client.get("/login")  # the CSRF cookie, as a browser holds it
    r = client.post("/login", content=body, headers={"content-type": "multipart/form-data"})
    assert r.status_code == 400, r.text[:300]
    assert "multipart" in r.text


@pytest.mark.parametrize("token", ["𝕏𝕐ℤ", "é", "\u202e"])
def test_a_token_that_is_not_ascii_is_a_wrong_token(client, receipt, token):
    client.get(f"/r/{receipt}/complaint")
    as_form = client.post(f"/r/{receipt}/complaint", data={"csrftoken": token})
    as_multipart = client.post(f"/r/{receipt}/complaint", files={"csrftoken": (None, token)})
    as_header = client.post(f"/r/{receipt}/complaint", headers={"x-csrftoken": token.encode()})
    assert (as_form.status_code, as_multipart.status_code, as_header.status_code) == (403, 403, 403)


def test_a_part_without_a_name_is_refused_as_invalid_multipart(client, receipt):
    client.get(f"/r/{receipt}/complaint")
    body = b"--b0undary\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--b0undary--\r\n"
    r = client.post(
        f"/r/{receipt}/complaint",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b0undary", "accept": "application/json"},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["rule"] == "VALID-MULTIPART"


def test_a_signed_in_officer_can_send_a_form_as_multipart(app, staff):
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, staff["officer"])
        token = csrf_of(client.get("/engagements/new").text)
        r = client.post("/engagements/new", files={"csrftoken": (None, token), "reason": (None, "x")})
    # The form is read (and refused for what is missing), as it would be sent urlencoded.
    assert r.status_code == 422, r.text[:300]


# --- dates at the edge of the calendar ------------------------------------------------------------------


# Toronto is behind UTC and Kiritimati 14 hours ahead: day one starts before year one there.
@pytest.mark.parametrize("timezone", ["America/Toronto", "Pacific/Kiritimati"])
@pytest.mark.parametrize("query", ["from=0001-01-01&to=9999-12-31", "from=9999-12-31", "to=0001-01-01"])
def test_the_audit_export_and_page_take_any_date_the_calendar_has(settings, world, timezone, query):
    app = create_app(Settings(**{**settings.model_dump(), "timezone": timezone}))
    world.user("audit8", "auditor", password=PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert sign_in(client, "audit8").status_code == 303
        page = client.get(f"/audit?{query}")
        export = client.get(f"/audit/export.jsonl?{query}")
    assert page.status_code == 200
    assert export.status_code == 200
    # The stream ran to its end: the last line is the trailer with the head, not a cut-off file.
    trailer = json.loads(export.text.splitlines()[-1])
    assert trailer["format"].startswith("fairengage-audit-export") and "head" in trailer
    assert trailer["entries"] == (0 if query in ("from=9999-12-31", "to=0001-01-01") else trailer["last_seq"])
    assert trailer["entries"] > 0 or query != "from=0001-01-01&to=9999-12-31"
