"""Security headers on pages, API answers, errors and static files; HSTS only over TLS, proxies included."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from access.estate import PASSWORD, csrf_of, header_problems, inline_markup, sign_in
from fairengage import cli
from fairengage.access import throttle
from fairengage.access.models import LoginFailure
from fairengage.config import get_settings
from live import free_port

TEMPLATES = sorted(
    (Path(__file__).resolve().parents[2] / "src" / "fairengage").glob("**/templates/**/*.html")
)


def answers(app, world, settings, base_url: str = "http://testserver") -> dict[str, httpx.Response]:  # type: ignore[no-untyped-def]
    """One answer of every kind: public and signed-in pages, API, each error, a static file."""
    world.user("ana", "analyst", password=PASSWORD)
    token = world.token("ana")
    bearer = {"Authorization": f"Bearer {token}"}
    anonymous, analyst = TestClient(app, base_url=base_url), TestClient(app, base_url=base_url)
    sign_in(analyst, "ana")
    got = {
        "/": anonymous.get("/"),
        "/login": anonymous.get("/login"),
        "/analyst/reports": analyst.get("/analyst/reports"),
        "/api/v1/rulesets/current": anonymous.get("/api/v1/rulesets/current"),
        "/api/v1/engagements": analyst.get("/api/v1/engagements", headers={**bearer}),
        "/api/v1/engagements?no-token": anonymous.get("/api/v1/engagements"),
        "/api/v1/engagements/missing": anonymous.get("/api/v1/engagements/missing", headers=bearer),
        "/no-such-page": anonymous.get("/no-such-page"),
        "/audit": analyst.get("/audit"),  # 403: analysts do not read the audit log
        "/engagements/new": anonymous.get("/engagements/new", follow_redirects=False),
        "/logout": analyst.post("/logout", data={"csrftoken": "forged"}),  # 403 from the CSRF check
        "/static/fairengage.css": anonymous.get("/static/fairengage.css"),
    }
    settings.login_account_limit = 1
    sign_in(anonymous, "ana", "wrong")
    got["/login (paused)"] = sign_in(anonymous, "ana", "wrong")
    statuses = {path: r.status_code for path, r in got.items()}
    assert statuses == {
        "/": 200, "/login": 200, "/analyst/reports": 200, "/api/v1/rulesets/current": 200,
        "/api/v1/engagements": 403, "/api/v1/engagements?no-token": 401, "/api/v1/engagements/missing": 403,
        "/no-such-page": 404, "/audit": 403, "/engagements/new": 303, "/logout": 403,
        "/static/fairengage.css": 200, "/login (paused)": 429,
    }  # fmt: skip
    return got


def test_every_kind_of_answer_carries_the_headers(app, world, settings):
    for path, response in answers(app, world, settings).items():
        assert header_problems(path.split(" ")[0].split("?")[0], response) == [], path


def test_hsts_only_when_the_request_came_over_tls(app, world, settings):
    for path, response in answers(app, world, settings, base_url="https://testserver").items():
        assert header_problems(path.split(" ")[0].split("?")[0], response, tls=True) == [], path
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_personal_pages_are_not_stored_but_static_files_may_be(client):
    assert client.get("/login").headers["cache-control"] == "no-store"
    assert client.get("/api/v1/rulesets").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/fairengage.css").headers.get("cache-control", "")


def test_the_csp_forbids_inline_code_and_framing(client):
    csp = dict(
        part.strip().split(" ", 1) for part in client.get("/").headers["content-security-policy"].split(";")
    )
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert "unsafe" not in " ".join(csp.values())


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_no_template_has_inline_code_or_styles(template):
    """What the CSP would block must not be written in the first place: pages would silently break."""
    assert inline_markup(template.read_text()) == []


def test_templates_were_found():
    assert len(TEMPLATES) > 30


@contextmanager
def proxied(app, trusted: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app under uvicorn as `fairengage serve` runs it: believing forwarded headers from `trusted`."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, proxy_headers=True, forwarded_allow_ips=trusted, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_hsts_behind_a_tls_terminating_proxy(app, settings, sessions, world):
    world.user("ana", "analyst", password=PASSWORD)
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with proxied(app, trusted="127.0.0.1") as url:
        assert "strict-transport-security" in httpx.get(f"{url}/", headers=tls).headers
        assert "strict-transport-security" not in httpx.get(f"{url}/").headers
        # The throttle counts the address the proxy forwarded, not the proxy's own.
        with httpx.Client(base_url=url) as browser:
            token = csrf_of(browser.get("/login").text)
            browser.post(
                "/login", data={"username": "ana", "password": "wrong", "csrftoken": token}, headers=tls
            )
    with sessions() as s:
        [failure] = s.scalars(select(LoginFailure)).all()
    assert failure.client_key == throttle.client_key(settings, "203.0.113.9")
    # A proxy that is not trusted cannot claim TLS for its clients.
    with proxied(app, trusted="192.0.2.1") as url:
        assert "strict-transport-security" not in httpx.get(f"{url}/", headers=tls).headers


def test_serve_passes_the_proxy_settings_to_uvicorn(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    get_settings.cache_clear()
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    runner = CliRunner()
    try:
        assert runner.invoke(cli.app, ["serve"]).exit_code == 0
        assert runner.invoke(cli.app, ["serve", "--forwarded-allow-ips", "10.0.0.5,10.0.0.6"]).exit_code == 0
        assert runner.invoke(cli.app, ["serve"], env={"FORWARDED_ALLOW_IPS": "10.9.9.9"}).exit_code == 0
        assert runner.invoke(cli.app, ["serve", "--no-proxy-headers"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    assert [(c["proxy_headers"], c["forwarded_allow_ips"]) for c in calls] == [
        (True, "127.0.0.1"),
        (True, "10.0.0.5,10.0.0.6"),
        (True, "10.9.9.9"),
        (False, "127.0.0.1"),
    ]
