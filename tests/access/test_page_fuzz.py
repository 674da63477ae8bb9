"""Generated hostile requests to every page route and form of the app: never a server error.

The JSON API is fuzzed from its OpenAPI description (tests/web/test_openapi_fuzz.py); the pages have
none, so this test reads their routes from the app itself (a new page is fuzzed without being listed)
and Hypothesis draws each request: the route, who sends it (each role signed in, a visitor with only
the CSRF cookie, or a bare client with no cookie at all), the path segments (real ids of the estate or
hostile text), the query string, and for a POST a form, sent urlencoded, as multipart (with a file
part now and then) or as raw bytes under odd Content-Types, with the browser's valid CSRF token, a
wrong one or none. Every answer must be below 500. The seed is fixed (`derandomize`), so a failure
found once is found on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from access.estate import PERIOD, PRINCIPALS, Estate, app_routes, sign_in
from fairengage.config import Settings
from fairengage.publishing import service as publishing

# A thousand generated requests from every role.
pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "src" / "fairengage"
EXAMPLES = 1000
# Routes that are not pages: the JSON API, its description, and the static files' mount.
NOT_PAGES = ("/api/", "/openapi.json", "/static")
# Form field names the templates use, and query parameter names the pages read; random names are drawn too.
FIELD_NAMES = sorted(
    {
        name
        for template in SRC.glob("**/templates/*.html")
        for name in re.findall(r'name="([a-z_]+)"', template.read_text())
    }
)
QUERY_NAMES = [
    "lang", "page", "offset", "sort", "overdue", "period", "division", "group", "kind", "status", "from",
    "to", "code", "next", "actor", "entity_id", "action", "year", "quarter", "format", "purpose",
]  # fmt: skip
HOSTILE_TEXT = [
    "", " ", "0", "-1", "1.5", "1e308", str(2**31), str(2**63), str(10**30), "-" + str(10**30), "9" * 5000,
    "null", "true", "NaN", "[]", "{}", "../../../etc/passwd", "..", ".", "%", "%%", "%ZZ", "%00",
    "<script>alert(1)</script>", "' OR 1=1 --", '"; DROP TABLE users; --', "\u202eevil", "\ufeff",
    "𝕏𝕐ℤ", "a\u0301", "\r\nSet-Cookie: x=y", "0001-01-01", "9999-12-31", "2024-02-30", "2024-13-01",
    "25:61", "x" * 10_000, "D14", "D99", "complaint", "own_record", "closed", "approve", "fr", "en", "csv",
]  # fmt: skip
CONTENT_TYPES = [
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=x",
    "multipart/form-data;boundary=x", "multipart/mixed; boundary=x", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1", "text/plain", "application/json", "", "*/*",
]  # fmt: skip
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=30),
    st.integers().map(str),
    st.dates().map(lambda d: d.isoformat()),
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for the fuzzed app: the public rate limits off, so that every draw reaches its page."""
    return Settings(
        database_url=database_url, secret_key="test-secret-key-0123456789abcdef", debug=True,
        public_url="http://testserver", public_client_limit=0, public_code_limit=0,
        complaint_client_limit=0, complaint_code_limit=0, login_client_limit=0, login_account_limit=0,
    )  # fmt: skip


def page_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) of the app that is a page or a form, read from the app."""
    return sorted((m, p) for m, p in app_routes(app) if not p.startswith(NOT_PAGES))


def real_values(estate: Estate) -> dict[str, list[str]]:
    """Path parameters that name something that exists, so that draws reach past the not-found answer."""
    return {
        "engagement_id": [estate.record, estate.returned, estate.restricted],
        "code": [estate.code, estate.code.lower().replace("-", "")],
        "complaint_id": [str(estate.complaint), str(estate.confirmed)],
        "sample_id": [str(estate.sample)],
        "item_id": [str(estate.sample_item)],
        "request_id": [str(estate.pending_request), *map(str, estate.approved_requests.values())],
        "job_id": [estate.job],
        "period": [PERIOD],
        "path": ["report.public.json", "open-data/engagements.csv", "board.pdf", "public.pdf"],
        "username": ["target", "spare"],
        "badge": ["T1", "S1"],
        "ruleset_id": [estate.ruleset],
    }


@pytest.fixture
def callers(app, estate, monkeypatch) -> Iterator[dict[str, TestClient]]:  # type: ignore[no-untyped-def]
    """A browser per principal (signed in), a visitor holding only the CSRF cookie, and a bare client."""
    # A run the fuzz starts builds nothing: the build runs after the answer, in a thread of its own, and
    # the publishing tests build for real; here only the answers count.
    monkeypatch.setattr(publishing, "build_release", _no_build)
    opened: dict[str, TestClient] = {}
    for who in PRINCIPALS:
        client = TestClient(app, raise_server_exceptions=False)
        if who == "anonymous":
            client.get("/login")
        else:
            assert sign_in(client, who).status_code == 303, who
        opened[who] = client
    opened["bare"] = TestClient(app, raise_server_exceptions=False)
    yield opened
    for client in opened.values():
        client.close()


def _no_build(**_: Any) -> Any:
    raise publishing.PublishRefused("no build during the fuzz")


def _path(route: str, draw: Any, known: dict[str, list[str]]) -> str:
    def segment(match: re.Match[str]) -> str:
        name = match.group(1)
        value = draw(st.one_of(st.sampled_from(known.get(name, ["x"])), HOSTILE))
        # A `path` parameter may hold slashes; any other is one segment.
        return quote(value, safe="/" if match.group(2) else "")

    return re.sub(r"\{(\w+)(:path)?\}", segment, route)


def _form(draw: Any, token: str | None) -> list[tuple[str, str]]:
    fields = draw(
        st.lists(
            st.tuples(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12)), HOSTILE), max_size=8
        )
    )
    return ([("csrftoken", token)] if token is not None else []) + fields


def test_no_page_or_form_answers_with_a_server_error(app, estate, callers):
    routes = page_routes(app)
    # Guards the test: the page routes were found, the public and the staff ones.
    assert ("POST", "/r/{code}/complaint") in routes and (
        "POST",
        "/staff/complaints/{complaint_id}",
    ) in routes
    assert not [p for _, p in routes if p.startswith("/api/")]
    known = real_values(estate)
    names = [*PRINCIPALS, "bare"]
    sent: dict[tuple[str, str], int] = {}
    failures: list[str] = []

    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def send(data: st.DataObject) -> None:
        method, route = data.draw(st.sampled_from(routes), label="route")
        who = data.draw(st.sampled_from(names), label="who")
        client = callers[who]
        if (method, route) == ("POST", "/logout"):
            # Signing out would leave that role's browser anonymous for the rest of the run.
            client = TestClient(client.app, raise_server_exceptions=False)
        path = _path(route, data.draw, known)
        query = data.draw(
            st.lists(
                st.tuples(st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=8)), HOSTILE), max_size=4
            )
        )
        target = path + ("?" + urlencode(query) if query else "")
        kwargs: dict[str, Any] = {}
        if method == "POST":
            cookie = client.cookies.get("csrftoken")
            token = data.draw(st.sampled_from([cookie, None, "forged-token"]), label="token")
            form = _form(data.draw, token)
            encoding = data.draw(st.sampled_from(["urlencoded", "multipart", "raw"]), label="encoding")
            if encoding == "multipart":
                files: list[tuple[str, Any]] = [(name, (None, value)) for name, value in form]
                if data.draw(st.booleans(), label="with a file"):
                    at = data.draw(st.integers(0, len(files)), label="file position")
                    files.insert(at, ("upload", ("a.txt", data.draw(st.binary(max_size=64)), "text/plain")))
                kwargs["files"] = files or [("empty", (None, ""))]
            elif encoding == "raw":
                # Bytes under a Content-Type a browser would not send, or would spell differently.
                body = data.draw(st.one_of(st.binary(max_size=80), st.just(urlencode(form).encode())))
                kwargs["content"] = body
                kwargs["headers"] = {"content-type": data.draw(st.sampled_from(CONTENT_TYPES), label="type")}
            else:
                kwargs["content"] = urlencode(form).encode()
                kwargs["headers"] = {"content-type": "application/x-www-form-urlencoded"}
        response = client.request(method, target, follow_redirects=False, **kwargs)
        sent[(method, route)] = sent.get((method, route), 0) + 1
        if response.status_code >= 500:
            failures.append(f"{who} {method} {target[:300]} {kwargs!r:.300}: {response.status_code}")

    send()
    # Routes the draws happened to miss are each sent once more by every caller, with real path values
    # and hostile query strings, so a new route is never left untried.
    for method, route in sorted(set(routes) - set(sent)):
        path = re.sub(r"\{(\w+)(:path)?\}", lambda m: quote(known.get(m.group(1), ["x"])[0], safe="/"), route)
        for who in names:
            target = f"{path}?page=99999999999999999999&offset=-1&lang=%00"
            data = {"csrftoken": callers[who].cookies.get("csrftoken") or "", "x": "\u202e"}
            response = callers[who].request(
                method, target, follow_redirects=False, **({"data": data} if method == "POST" else {})
            )
            sent[(method, route)] = sent.get((method, route), 0) + 1
            if response.status_code >= 500:
                failures.append(f"{who} {method} {target}: {response.status_code}")
    assert failures == [], "\n".join(failures[:20])
    # Every route was reached, most of them many times.
    assert set(sent) == set(routes), sorted(set(routes) - set(sent))
