"""Helpers for the access tests: who calls, how they sign in, and the estate of real records routes aim at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from fairengage.access.models import User
from fairengage.access.principal import Principal

PASSWORD = "a-long-enough-password"
# Who calls: anonymous, one user per role, and an analyst holding the chief's delegation to approve
# restricted reads (a per-user grant, never a role's; never an administrator's, see retention/service.py).
PRINCIPALS = ("anonymous", "officer", "supervisor", "analyst", "auditor", "admin", "delegate")
ROLE_OF: dict[str, str | None] = {
    "anonymous": None,
    "officer": "officer",
    "supervisor": "supervisor",
    "analyst": "analyst",
    "auditor": "auditor",
    "admin": "admin",
    "delegate": "analyst",
}
PERIOD = "2024"


def csrf_of(html: str) -> str:
    """The CSRF token a page hands its forms."""
    found = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, path) the app answers, mounts included; HEAD is GET's twin and left out."""
    try:
        # Recent FastAPI keeps included routers as branches; this walks them to the routes they hold.
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = list(app.routes)
    found = set()
    for route in routes:
        methods = getattr(route, "methods", None)
        for method in (methods or {"GET"}) - {"HEAD"}:
            found.add((method, route.path))
    return found


# Markup a strict CSP would refuse to run or apply: inline script blocks, event-handler attributes,
# javascript: links, style attributes and style blocks.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style[\s>]", re.IGNORECASE)
POST_FORM = re.compile(r"<form\b[^>]*\bmethod\s*=\s*[\"']?post[^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)


def inline_markup(html: str) -> list[str]:
    """What in a page or template the CSP would block, by kind."""
    checks = {
        "inline <script>": INLINE_SCRIPT,
        "event handler attribute": EVENT_HANDLER,
        "javascript: URL": JAVASCRIPT_URL,
        "style attribute": STYLE_ATTRIBUTE,
        "<style> block": STYLE_BLOCK,
    }
    return [kind for kind, pattern in checks.items() if pattern.search(html)]


def post_forms_without_csrf(html: str) -> int:
    """How many POST forms in the markup lack the hidden CSRF token field."""
    return sum(
        1 for body in POST_FORM.findall(html) if not re.search(r'name="csrftoken"\s+value="[^"]', body)
    )


def header_problems(path: str, response: Any, *, tls: bool = False) -> list[str]:
    """What is missing or wrong in an answer's security headers."""
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    problems = []
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        problems.append("CSP allows inline or eval'd code")
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ):
        if directive not in csp:
            problems.append(f"CSP lacks {directive}")
    expected = {
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
    }
    for name, value in expected.items():
        if headers.get(name) != value:
            problems.append(f"{name} is {headers.get(name)!r}")
    if ("strict-transport-security" in headers) != tls:
        problems.append("HSTS over plain HTTP" if not tls else "no HSTS over TLS")
    cacheable = path.startswith(("/static/", "/public/files/"))
    # The service worker's two lines of public code, kept for minutes (engagements/offline.py).
    if path == "/sw.js":
        cacheable = headers.get("cache-control") == "max-age=600"
    if not cacheable and "no-store" not in headers.get("cache-control", ""):
        problems.append(f"cache-control is {headers.get('cache-control')!r}, not no-store")
    return problems


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Send the sign-in form as a browser would; the response, not followed."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrftoken": token},
        follow_redirects=False,
    )


def principal_of(sessions, username: str) -> Principal:  # type: ignore[no-untyped-def]
    """The principal of a stored user."""
    with sessions() as s:
        return Principal.of(s.scalars(select(User).where(User.username == username)).one())


@dataclass
class Estate:
    """Real ids for every kind of path parameter, each in the scope of the roles allowed to use it."""

    record: str  # D14, by the officer, awaiting review
    returned: str  # D14, by the officer, returned for correction
    restricted: str  # D14, restricted (non-compliant)
    code: str  # the receipt code of `record`
    complaint: int  # an own-record request in D14, identity not yet confirmed
    confirmed: int  # an own-record request in D14, identity confirmed (ready to export)
    sample: int
    sample_item: int
    pending_request: int  # the supervisor's request to read `restricted`, awaiting a decision
    approved_requests: dict[str, int]  # username -> their approved request to read `restricted`
    job: str  # a finished report run
    release: int  # the published release of PERIOD, built by "analyst"
    draft: int  # a draft release of 2023 built by "admin", awaiting approval
    tokens: dict[str, str]  # username -> API token
    ruleset: str
    event: int  # a dispatch event of T1 in D14 that reconciliation left unmatched
    case: int = 0  # an intervention case on the officer (D14), opened from a report's flag

