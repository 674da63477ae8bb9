"""Every complaint route against every role: who may do what, everything else denied."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from fairengage.complaints import service, views
from fairengage.db import transaction

# The order matters: the identity is confirmed (where allowed) before the export is asked for.
ROUTES = (
    "list", "detail", "update", "contact", "identity", "export", "public_form", "public_post", "public_filed",
)  # fmt: skip
# Expected status for each route and role. 303 on a staff route means the change was made; for
# anonymous visitors it is the redirect to the sign-in page, checked below.
EXPECTED: dict[str, dict[str, int]] = {
    "anonymous": {
        "list": 303, "detail": 303, "update": 303, "contact": 303, "identity": 303, "export": 303,
        "public_form": 200, "public_post": 303, "public_filed": 200,
    },
    "officer": {
        "list": 403, "detail": 403, "update": 403, "contact": 403, "identity": 403, "export": 403,
        "public_form": 200, "public_post": 303, "public_filed": 200,
    },
    "supervisor": {
        "list": 200, "detail": 200, "update": 303, "contact": 200, "identity": 303, "export": 403,
        "public_form": 200, "public_post": 303, "public_filed": 200,
    },
    # Another division's complaint is indistinguishable from none.
    "other_supervisor": {
        "list": 200, "detail": 404, "update": 404, "contact": 404, "identity": 404, "export": 403,
        "public_form": 200, "public_post": 303, "public_filed": 200,
    },
    "analyst": {
        "list": 403, "detail": 403, "update": 403, "contact": 403, "identity": 403, "export": 403,
        "public_form": 200, "public_post": 303, "public_filed": 200,
    },
    "auditor": {
        "list": 403, "detail": 403, "update": 403, "contact": 403, "identity": 403, "export": 403,
        "public_form": 200, "public_post": 303, "public_filed": 200,
    },
    "admin": {
        "list": 200, "detail": 200, "update": 303, "contact": 200, "identity": 303, "export": 200,
        "public_form": 200, "public_post": 303, "public_filed": 200,
    },
}  # fmt: skip


def test_the_matrix_covers_every_route_of_the_module():
    paths = {(method, route.path) for route in views.router.routes if isinstance(route, Route)
             for method in route.methods - {"HEAD"}}  # fmt: skip
    assert paths == {
        ("GET", "/r/{code}/complaint"),
        ("POST", "/r/{code}/complaint"),
        ("GET", "/r/{code}/complaint/filed"),
        ("GET", "/staff/complaints"),
        ("GET", "/staff/complaints/{complaint_id}"),
        ("POST", "/staff/complaints/{complaint_id}"),
        ("POST", "/staff/complaints/{complaint_id}/contact"),
        ("POST", "/staff/complaints/{complaint_id}/identity"),
        ("POST", "/staff/complaints/{complaint_id}/export"),
    }
    assert set(EXPECTED["admin"]) == set(ROUTES)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_gets_what_the_matrix_says(role, client, receipt, signed_in, sessions, kit):
    # An own-record request about an engagement in D14, filed by the public.
    assert kit.submit(client, receipt, kind="own_record").status_code == 303
    [request] = kit.stored(sessions)
    browser = signed_in(role)
    token = kit.page_csrf(browser)
    base = f"/staff/complaints/{request.id}"
    calls = {
        "list": lambda: browser.get("/staff/complaints", follow_redirects=False),
        "detail": lambda: browser.get(base, follow_redirects=False),
        "update": lambda: browser.post(
            base, data={"csrftoken": token, "status": "acknowledged", "note": "called back"},
            follow_redirects=False,
        ),
        "contact": lambda: browser.post(
            f"{base}/contact", data={"csrftoken": token, "purpose": "acknowledge"}, follow_redirects=False
        ),
        "identity": lambda: browser.post(
            f"{base}/identity", data={"csrftoken": token, "identity_note": "driver's licence seen"},
            follow_redirects=False,
        ),
        "export": lambda: browser.post(
            f"{base}/export", data={"csrftoken": token, "format": "json"}, follow_redirects=False
        ),
        "public_form": lambda: browser.get(f"/r/{receipt}/complaint", follow_redirects=False),
        "public_post": lambda: kit.submit(browser, receipt),
        # The page the public POST sends the browser to, with the reference.
        "public_filed": lambda: browser.get(f"/r/{receipt}/complaint/filed", follow_redirects=False),
    }  # fmt: skip
    got = {}
    for name in ROUTES:
        response = calls[name]()
        got[name] = response.status_code
        if role == "anonymous" and not name.startswith("public_"):
            assert response.headers["location"].startswith("/login?next=/staff/complaints"), name
    assert got == EXPECTED[role]


def test_other_division_list_does_not_show_the_complaint(client, receipt, signed_in, kit):
    assert kit.submit(client, receipt).status_code == 303
    reference = kit.stored(client.app.state.sessions)[0].reference
    assert reference in signed_in("supervisor").get("/staff/complaints").text
    assert reference not in signed_in("other_supervisor").get("/staff/complaints").text
    assert reference in signed_in("admin").get("/staff/complaints").text


def test_services_deny_roles_outside_the_matrix(sessions, receipt, client, kit):
    from fairengage.access.principal import Principal
    from fairengage.errors import Forbidden

    assert kit.submit(client, receipt).status_code == 303
    nobody = Principal(1, "someone", "analyst", None, None, None)
    with transaction(sessions) as s, pytest.raises(Forbidden):
        service.list_requests(session=s, principal=nobody)
    unknown_role = Principal(1, "someone", "chief", None, None, None)
    with transaction(sessions) as s, pytest.raises(Forbidden):
        service.get_visible(session=s, principal=unknown_role, complaint_id=kit.stored(sessions)[0].id)
