"""CSRF on every form: each state-changing page route refuses a request without this browser's token."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from access.estate import POST_FORM, app_routes, csrf_of, sign_in
from fairengage.access.models import User

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
REFUSED = "This form could not be accepted"
TEMPLATES = sorted(
    (Path(__file__).resolve().parents[2] / "src" / "fairengage").glob("**/templates/**/*.html")
)


def page_routes_that_change_state(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every non-GET route outside the bearer-token API, read from the app."""
    return sorted((m, p) for m, p in app_routes(app) if m in STATE_CHANGING and not p.startswith("/api/"))


def concrete(path: str) -> str:
    """The path with each parameter filled in (the CSRF check runs before any route is chosen)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_routes_are_found(app):
    routes = page_routes_that_change_state(app)
    assert ("POST", "/logout") in routes and ("POST", "/admin/users") in routes and len(routes) >= 15


def test_every_state_changing_page_route_refuses_a_missing_or_wrong_token(app, world):
    world.user("adm", "admin", password="a-long-enough-password")
    browser, other = TestClient(app), TestClient(app)
    assert sign_in(browser, "adm", "a-long-enough-password").status_code == 303
    someone_elses = csrf_of(other.get("/login").text)  # well signed, but another browser's
    attempts = {
        "no token": {"data": {"field": "x"}},
        "another browser's token": {"data": {"csrftoken": someone_elses}},
        "a made-up token": {"data": {"csrftoken": "abc"}},
        "a made-up header": {"data": {"field": "x"}, "headers": {"x-csrftoken": "abc"}},
        "JSON instead of a form": {"json": {"csrftoken": someone_elses}},
    }
    wrong = []
    for method, path in page_routes_that_change_state(app):
        for what, request in attempts.items():
            r = browser.request(method, concrete(path), follow_redirects=False, **request)  # type: ignore[arg-type]
            if r.status_code != 403 or REFUSED not in r.text:
                wrong.append(f"{method} {path} with {what}: {r.status_code}")
    assert not wrong, "\n".join(wrong)
    # Still signed in: not even the sign-out went through.
    assert browser.get("/admin/users", follow_redirects=False).status_code == 200


def test_a_refused_form_changes_nothing(app, world, sessions):
    world.user("adm", "admin", password="a-long-enough-password")
    browser = TestClient(app)
    sign_in(browser, "adm", "a-long-enough-password")
    form = {"username": "planted", "role": "admin", "password": "a-long-enough-password"}
    assert browser.post("/admin/users", data=form).status_code == 403
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.username == "planted")) == 0
    # The same form with the page's token goes through: the refusal above was the token's doing.
    token = csrf_of(browser.get("/admin/users").text)
    assert (
        browser.post("/admin/users", data={**form, "csrftoken": token}, follow_redirects=False).status_code
        == 303
    )


def test_an_anonymous_browser_holding_the_cookie_is_refused_too(app):
    """The sign-in form itself: a page elsewhere must not sign a visitor in as someone else."""
    browser = TestClient(app)
    browser.get("/login")
    r = browser.post("/login", data={"username": "x", "password": "y"})
    assert r.status_code == 403 and REFUSED in r.text


def test_every_post_form_in_the_templates_carries_the_token():
    found = 0
    for template in TEMPLATES:
        for body in POST_FORM.findall(template.read_text()):
            found += 1
            assert '<input type="hidden" name="csrftoken" value="{{ csrftoken }}">' in body, template.name
    assert found >= 15
