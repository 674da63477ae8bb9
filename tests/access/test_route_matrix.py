"""Every route of the app × every role (and anonymous), against the permission matrix.

The routes are read from the app itself, so a route nobody classified fails the first test. The table
says what guards each route: permissions of the matrix (any one suffices), "public" or "signed-in".
Each principal then calls every route with real records in the scope the matrix grants, so that an
allowed caller meets a real answer and a denied one meets a refusal, never a missing id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from access.estate import (
    PERIOD,
    PRINCIPALS,
    ROLE_OF,
    Estate,
    app_routes,
    csrf_of,
    header_problems,
    inline_markup,
    post_forms_without_csrf,
)
from builders import valid_body
from fairengage.access.permissions import MATRIX, PUBLIC, allowed
from fairengage.engagements.schemas import PERSONAL_FIELDS, SHARED_FIELDS

Guard = tuple[str, ...] | Literal["public", "signed-in"]
# Not a role's: the chief delegates approving restricted reads to named users (the `delegate` here).
DELEGATED = "restricted:approve"

GUARDS: dict[tuple[str, str], Guard] = {
    # The service itself
    ("GET", "/"): "public",
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/openapi.json"): "public",
    ("GET", "/static"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "public",
    # Single sign-on and the second-factor step of sign-in (access/oidc_views.py, access/totp_views.py)
    ("GET", "/login/sso"): "public",
    ("GET", "/login/sso/callback"): "public",
    ("GET", "/login/code"): "public",
    ("POST", "/login/code"): "public",
    # The officer's form as an installable app (engagements/offline.py)
    ("GET", "/sw.js"): "public",
    ("GET", "/manifest.webmanifest"): "public",
    # The audit log's signed checkpoints (access/transparency_views.py)
    ("GET", "/transparency/audit"): "public",
    ("GET", "/transparency/audit/checkpoint"): "public",
    ("GET", "/transparency/audit/checkpoints.json"): "public",
    ("GET", "/transparency/audit/key"): "public",
    ("GET", "/transparency/audit/consistency"): "public",
    # One's own account
    ("GET", "/account/password"): "signed-in",
    ("POST", "/account/password"): "signed-in",
    ("GET", "/account/second-factor"): "signed-in",
    ("POST", "/account/second-factor"): "signed-in",
    # JSON API (bearer tokens)
    ("POST", "/api/v1/engagements"): ("engagements:create",),
    ("POST", "/api/v1/engagements/check"): ("engagements:create",),
    ("GET", "/api/v1/engagements"): ("engagements:read",),
    ("GET", "/api/v1/engagements/{engagement_id}"): ("engagements:read",),
    ("POST", "/api/v1/encounters"): ("engagements:create",),
    ("GET", "/api/v1/encounters/{encounter_id}"): ("engagements:read",),
    ("GET", "/api/v1/rulesets"): ("rulesets:read",),
    ("GET", "/api/v1/rulesets/current"): ("rulesets:read",),
    ("GET", "/api/v1/rulesets/{ruleset_id}"): ("rulesets:read",),
    # Officers' pages
    ("GET", "/engagements/new"): ("engagements:create",),
    ("POST", "/engagements/new"): ("engagements:create",),
    ("POST", "/engagements/check"): ("engagements:create",),
    ("GET", "/engagements/division-at"): ("engagements:create",),
    ("GET", "/engagements/device-key"): ("engagements:create",),
    ("GET", "/engagements/session"): ("engagements:create",),
    ("GET", "/engagements"): ("engagements:read",),
    ("GET", "/engagements/{engagement_id}/receipt"): ("engagements:read",),
    ("GET", "/engagements/{engagement_id}/correct"): ("engagements:create",),
    ("POST", "/engagements/{engagement_id}/correct"): ("engagements:create",),
    ("GET", "/engagements/{engagement_id}/another-person"): ("engagements:create",),
    ("POST", "/engagements/{engagement_id}/another-person"): ("engagements:create",),
    # Public receipts, complaints and the dashboard
    ("GET", "/r"): ("receipts:verify",),
    ("GET", "/r/{code}"): ("receipts:verify",),
    ("GET", "/r/{code}/print"): ("receipts:verify",),
    ("GET", "/r/{code}/receipt.pdf"): ("receipts:verify",),
    ("GET", "/r/{code}/qr.svg"): ("receipts:verify",),
    ("GET", "/r/{code}/complaint"): ("complaints:file",),
    ("POST", "/r/{code}/complaint"): ("complaints:file",),
    ("GET", "/r/{code}/complaint/filed"): ("complaints:file",),
    ("GET", "/public"): ("public:read",),
    ("GET", "/public/method"): ("public:read",),
    ("GET", "/public/files/{period}/{path:path}"): ("public:read",),
    # Each role's desk (desk/views.py); an officer's is the form
    ("GET", "/desk"): "signed-in",
    # Intervention cases (cases/views.py)
    ("GET", "/cases"): ("cases:read",),
    ("GET", "/cases/{case_id}"): ("cases:read",),
    ("POST", "/cases/{case_id}/actions"): ("cases:act",),
    # Review
    ("GET", "/review"): ("review:queue",),
    ("GET", "/review/escalations"): ("review:queue",),
    # Dispatch and camera events nobody recorded (events/views.py)
    ("GET", "/events"): ("events:worklist",),
    ("POST", "/events/{event_id}/resolve"): ("events:resolve",),
    ("GET", "/events/mine"): ("events:own",),
    ("GET", "/review/summary"): ("review:summary",),
    ("GET", "/review/samples"): ("review:sample", "review:sample-findings"),
    ("POST", "/review/samples"): ("review:sample",),
    ("GET", "/review/samples/{sample_id}"): ("review:sample-findings",),
    ("POST", "/review/samples/{sample_id}/items/{item_id}"): ("review:sample-findings",),
    ("GET", "/review/{engagement_id}"): ("review:queue",),
    ("POST", "/review/{engagement_id}/decision"): ("review:decide",),
    ("POST", "/api/v1/review/{engagement_id}/decision"): ("review:decide",),
    ("GET", "/api/v1/officers/expiring"): ("officers:read",),
    # Restricted records
    ("GET", "/restricted"): ("restricted:request", DELEGATED),
    ("POST", "/restricted/requests"): ("restricted:request",),
    ("POST", "/restricted/requests/{request_id}/decision"): (DELEGATED,),
    ("GET", "/restricted/requests/{request_id}/record"): ("restricted:request",),
    # Complaints, staff side
    ("GET", "/staff/complaints"): ("complaints:manage",),
    ("GET", "/staff/complaints/{complaint_id}"): ("complaints:manage",),
    ("POST", "/staff/complaints/{complaint_id}"): ("complaints:manage",),
    ("POST", "/staff/complaints/{complaint_id}/contact"): ("complaints:read-contact",),
    ("POST", "/staff/complaints/{complaint_id}/identity"): ("complaints:manage",),
    ("POST", "/staff/complaints/{complaint_id}/export"): ("own-records:export",),
    # Audit
    ("GET", "/audit"): ("audit:read",),
    ("GET", "/audit/verify"): ("audit:verify",),
    ("GET", "/audit/export.jsonl"): ("audit:export",),
    # Administration
    ("GET", "/admin/users"): ("users:manage",),
    ("POST", "/admin/users"): ("users:manage",),
    ("POST", "/admin/users/{username}/role"): ("users:manage",),
    ("POST", "/admin/users/{username}/active"): ("users:manage",),
    ("POST", "/admin/users/{username}/password"): ("users:manage",),
    ("POST", "/admin/users/{username}/second-factor"): ("users:manage",),
    ("GET", "/admin/officers"): ("officers:manage",),
    ("POST", "/admin/officers"): ("officers:manage",),
    ("POST", "/admin/officers/{badge}/training"): ("officers:manage",),
    ("GET", "/admin/rulesets"): ("rulesets:manage",),
    # Reports
    ("GET", "/analyst/reports"): ("reports:read",),
    ("POST", "/analyst/reports"): ("reports:run",),
    ("GET", "/analyst/reports/{job_id}"): ("reports:read",),
    ("GET", "/analyst/reports/{period}/files/{path:path}"): ("reports:read",),
    ("GET", "/analyst/releases/{release_id}"): ("reports:read",),
    ("GET", "/analyst/releases/{release_id}/preview"): ("reports:read",),
    ("POST", "/analyst/releases/{release_id}/approve"): ("reports:publish",),
    ("POST", "/analyst/releases/{release_id}/withdraw"): ("reports:publish",),
}

# Public steps of signing in that only make sense part-way through one: without single sign-on set up
# they answer 404, and with no sign-in under way they send the browser (back) to the sign-in page.
SIGN_IN_STEPS = {
    ("GET", "/login/sso"),
    ("GET", "/login/sso/callback"),
    ("GET", "/login/code"),
    ("POST", "/login/code"),
}

# These change who the browser is, so they run after every other route.
LAST = (("POST", "/login"), ("POST", "/logout"))


def holds(principal: str, guard: Guard) -> bool:
    """Whether the matrix lets this principal through this guard."""
    if guard == "public":
        return True
    if guard == "signed-in":
        return principal != "anonymous"
    return any(
        principal == "delegate" if permission == DELEGATED else allowed(ROLE_OF[principal], permission)
        for permission in guard
    )


class Caller:
    """One principal's browser and API token, and the estate's ids to fill paths with."""

    def __init__(self, who: str, client: TestClient, estate: Estate) -> None:
        self.who, self.client, self.e = who, client, estate
        self.csrf = csrf_of(client.get("/login").text)
        token = estate.tokens.get(who)
        self.bearer = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str) -> Response:
        """A page (or file) as the browser asks for it."""
        return self.client.get(path, follow_redirects=False)

    def post(self, path: str, data: dict[str, str] | None = None) -> Response:
        """A form sent from one of the service's pages, with its CSRF token."""
        return self.client.post(path, data={"csrftoken": self.csrf, **(data or {})}, follow_redirects=False)

    def api(self, method: str, path: str, body: Any = None) -> Response:
        """A JSON API call with this principal's token (none for anonymous)."""
        return self.client.request(method, path, json=body, headers=self.bearer, follow_redirects=False)

    @property
    def own_request(self) -> int:
        """The caller's approved request to read the restricted record, else someone else's."""
        return self.e.approved_requests.get(self.who, self.e.approved_requests["supervisor"])


def encounter_shared() -> dict[str, Any]:
    return {k: v for k, v in valid_body().items() if k in SHARED_FIELDS}


def encounter_person() -> dict[str, Any]:
    return {k: v for k, v in valid_body().items() if k in PERSONAL_FIELDS}


Call = Callable[[Caller], Response]
today = date.today().isoformat()

# How to call each route. Forms carry valid values where an allowed caller's change is harmless, and
# values an allowed caller has refused with 422 where the change would disturb the routes after it.
CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/"): lambda c: c.get("/"),
    ("GET", "/healthz"): lambda c: c.get("/healthz"),
    ("GET", "/readyz"): lambda c: c.get("/readyz"),
    ("GET", "/openapi.json"): lambda c: c.get("/openapi.json"),
    ("GET", "/static"): lambda c: c.get("/static/fairengage.css"),
    ("GET", "/login"): lambda c: c.get("/login"),
    ("POST", "/login"): lambda c: c.post(
        "/login",
        {"username": "spare" if c.who == "anonymous" else c.who, "password": "a-long-enough-password"},
    ),
    ("POST", "/logout"): lambda c: c.post("/logout"),
    ("GET", "/login/sso"): lambda c: c.get("/login/sso"),
    ("GET", "/login/sso/callback"): lambda c: c.get("/login/sso/callback?code=x&state=y"),
    ("GET", "/login/code"): lambda c: c.get("/login/code"),
    ("POST", "/login/code"): lambda c: c.post("/login/code", {"code": "123456"}),
    ("GET", "/sw.js"): lambda c: c.get("/sw.js"),
    ("GET", "/manifest.webmanifest"): lambda c: c.get("/manifest.webmanifest"),
    ("GET", "/engagements/device-key"): lambda c: c.get("/engagements/device-key"),
    ("GET", "/engagements/session"): lambda c: c.get("/engagements/session"),
    ("GET", "/transparency/audit"): lambda c: c.get("/transparency/audit"),
    ("GET", "/transparency/audit/checkpoint"): lambda c: c.get("/transparency/audit/checkpoint"),
    ("GET", "/transparency/audit/checkpoints.json"): lambda c: c.get("/transparency/audit/checkpoints.json"),
    ("GET", "/transparency/audit/key"): lambda c: c.get("/transparency/audit/key"),
    ("GET", "/transparency/audit/consistency"): lambda c: c.get("/transparency/audit/consistency?first=1"),
    ("POST", "/api/v1/engagements"): lambda c: c.api("POST", "/api/v1/engagements", valid_body()),
    ("POST", "/api/v1/engagements/check"): lambda c: c.api("POST", "/api/v1/engagements/check", valid_body()),
    ("GET", "/api/v1/engagements"): lambda c: c.api("GET", "/api/v1/engagements"),
    ("GET", "/api/v1/engagements/{engagement_id}"): lambda c: c.api(
        "GET", f"/api/v1/engagements/{c.e.record}"
    ),
    ("POST", "/api/v1/encounters"): lambda c: c.api(
        "POST", "/api/v1/encounters", {**encounter_shared(), "people": [encounter_person()]}
    ),
    ("GET", "/api/v1/encounters/{encounter_id}"): lambda c: c.api("GET", f"/api/v1/encounters/{c.e.record}"),
    ("GET", "/api/v1/rulesets"): lambda c: c.api("GET", "/api/v1/rulesets"),
    ("GET", "/api/v1/rulesets/current"): lambda c: c.api("GET", "/api/v1/rulesets/current"),
    ("GET", "/api/v1/rulesets/{ruleset_id}"): lambda c: c.api("GET", f"/api/v1/rulesets/{c.e.ruleset}"),
    ("GET", "/engagements/new"): lambda c: c.get("/engagements/new"),
    ("POST", "/engagements/new"): lambda c: c.post("/engagements/new", {"reason": ""}),
    ("POST", "/engagements/check"): lambda c: c.post("/engagements/check", {"reason": ""}),
    ("GET", "/engagements/division-at"): lambda c: c.get("/engagements/division-at?lat=43.65&lon=-79.4"),
    ("GET", "/engagements"): lambda c: c.get("/engagements"),
    ("GET", "/engagements/{engagement_id}/receipt"): lambda c: c.get(f"/engagements/{c.e.record}/receipt"),
    ("GET", "/engagements/{engagement_id}/correct"): lambda c: c.get(f"/engagements/{c.e.returned}/correct"),
    ("POST", "/engagements/{engagement_id}/correct"): lambda c: c.post(
        f"/engagements/{c.e.returned}/correct", {"reason": ""}
    ),
    ("GET", "/engagements/{engagement_id}/another-person"): lambda c: c.get(
        f"/engagements/{c.e.record}/another-person"
    ),
    # No answers: refused with 422, so the record's encounter stays as it was for the routes after it.
    ("POST", "/engagements/{engagement_id}/another-person"): lambda c: c.post(
        f"/engagements/{c.e.record}/another-person", {}
    ),
    ("GET", "/r"): lambda c: c.get(f"/r?code={c.e.code}"),
    ("GET", "/r/{code}"): lambda c: c.get(f"/r/{c.e.code}"),
    ("GET", "/r/{code}/print"): lambda c: c.get(f"/r/{c.e.code}/print"),
    ("GET", "/r/{code}/receipt.pdf"): lambda c: c.get(f"/r/{c.e.code}/receipt.pdf"),
    ("GET", "/r/{code}/qr.svg"): lambda c: c.get(f"/r/{c.e.code}/qr.svg"),
    ("GET", "/r/{code}/complaint"): lambda c: c.get(f"/r/{c.e.code}/complaint"),
    ("POST", "/r/{code}/complaint"): lambda c: c.post(f"/r/{c.e.code}/complaint", {"kind": "complaint"}),
    ("GET", "/r/{code}/complaint/filed"): lambda c: c.get(f"/r/{c.e.code}/complaint/filed"),
    ("GET", "/public"): lambda c: c.get("/public"),
    ("GET", "/public/method"): lambda c: c.get("/public/method"),
    ("GET", "/public/files/{period}/{path:path}"): lambda c: c.get(f"/public/files/{PERIOD}/public.pdf"),
    ("GET", "/review"): lambda c: c.get("/review"),
    ("GET", "/review/escalations"): lambda c: c.get("/review/escalations"),
    ("GET", "/events"): lambda c: c.get("/events"),
    # No action chosen: refused with the form again, and the event stays open for the next caller.
    ("POST", "/events/{event_id}/resolve"): lambda c: c.post(f"/events/{c.e.event}/resolve", {"action": ""}),
    ("GET", "/events/mine"): lambda c: c.get("/events/mine"),
    ("GET", "/review/summary"): lambda c: c.get("/review/summary"),
    ("GET", "/review/samples"): lambda c: c.get("/review/samples"),
    # A year the form refuses: an allowed caller gets 422 and no sample is drawn.
    ("POST", "/review/samples"): lambda c: c.post("/review/samples", {"year": "last year", "size": "2"}),
    ("GET", "/desk"): lambda c: c.get("/desk"),
    ("GET", "/cases"): lambda c: c.get("/cases"),
    ("GET", "/cases/{case_id}"): lambda c: c.get(f"/cases/{c.e.case}"),
    # No reason given: refused with 422, and nothing recorded.
    ("POST", "/cases/{case_id}/actions"): lambda c: c.post(
        f"/cases/{c.e.case}/actions", {"agrees": "agree", "reason": "", "action": "training"}
    ),
    ("GET", "/review/samples/{sample_id}"): lambda c: c.get(f"/review/samples/{c.e.sample}"),
    ("POST", "/review/samples/{sample_id}/items/{item_id}"): lambda c: c.post(
        f"/review/samples/{c.e.sample}/items/{c.e.sample_item}", {"finding": "compliant", "notes": "ok"}
    ),
    ("GET", "/review/{engagement_id}"): lambda c: c.get(f"/review/{c.e.record}"),
    ("POST", "/review/{engagement_id}/decision"): lambda c: c.post(
        f"/review/{c.e.record}/decision", {"decision": ""}
    ),
    ("GET", "/api/v1/officers/expiring"): lambda c: c.api("GET", "/api/v1/officers/expiring?days=60"),
    ("POST", "/api/v1/review/{engagement_id}/decision"): lambda c: c.api(
        "POST", f"/api/v1/review/{c.e.record}/decision", {"decision": ""}
    ),
    ("GET", "/restricted"): lambda c: c.get("/restricted"),
    ("POST", "/restricted/requests"): lambda c: c.post(
        "/restricted/requests",
        {"record": c.e.restricted, "purpose": "legal_proceeding", "details": "disclosure, R. v. Example"},
    ),
    ("POST", "/restricted/requests/{request_id}/decision"): lambda c: c.post(
        f"/restricted/requests/{c.e.pending_request}/decision", {"decision": "refuse"}
    ),
    ("GET", "/restricted/requests/{request_id}/record"): lambda c: c.get(
        f"/restricted/requests/{c.own_request}/record"
    ),
    ("GET", "/staff/complaints"): lambda c: c.get("/staff/complaints"),
    ("GET", "/staff/complaints/{complaint_id}"): lambda c: c.get(f"/staff/complaints/{c.e.complaint}"),
    ("POST", "/staff/complaints/{complaint_id}"): lambda c: c.post(
        f"/staff/complaints/{c.e.complaint}", {"status": "acknowledged", "note": "called back"}
    ),
    ("POST", "/staff/complaints/{complaint_id}/contact"): lambda c: c.post(
        f"/staff/complaints/{c.e.complaint}/contact", {"purpose": "acknowledge"}
    ),
    ("POST", "/staff/complaints/{complaint_id}/identity"): lambda c: c.post(
        f"/staff/complaints/{c.e.complaint}/identity", {"identity_note": "passport seen"}
    ),
    ("POST", "/staff/complaints/{complaint_id}/export"): lambda c: c.post(
        f"/staff/complaints/{c.e.confirmed}/export", {"format": "json"}
    ),
    ("GET", "/audit"): lambda c: c.get("/audit"),
    ("GET", "/audit/verify"): lambda c: c.get("/audit/verify"),
    ("GET", "/audit/export.jsonl"): lambda c: c.get("/audit/export.jsonl"),
    ("GET", "/admin/users"): lambda c: c.get("/admin/users"),
    ("POST", "/admin/users"): lambda c: c.post(
        "/admin/users", {"username": "newcomer", "role": "analyst", "password": "another-long-password"}
    ),
    ("POST", "/admin/users/{username}/role"): lambda c: c.post(
        "/admin/users/target/role", {"role": "auditor"}
    ),
    ("POST", "/admin/users/{username}/active"): lambda c: c.post(
        "/admin/users/target/active", {"active": "false"}
    ),
    ("POST", "/admin/users/{username}/password"): lambda c: c.post("/admin/users/target/password", {}),
    ("POST", "/admin/users/{username}/second-factor"): lambda c: c.post(
        "/admin/users/target/second-factor", {}
    ),
    ("GET", "/account/password"): lambda c: c.get("/account/password"),
    ("GET", "/account/second-factor"): lambda c: c.get("/account/second-factor"),
    # A wrong first code: nothing is turned on.
    ("POST", "/account/second-factor"): lambda c: c.post("/account/second-factor", {"code": "abcdef"}),
    # A wrong current password: refused without changing anything, so the caller stays signed in.
    ("POST", "/account/password"): lambda c: c.post(
        "/account/password", {"current": "not-my-password", "password": "x" * 20, "confirm": "x" * 20}
    ),
    ("GET", "/admin/officers"): lambda c: c.get("/admin/officers"),
    ("POST", "/admin/officers"): lambda c: c.post(
        "/admin/officers", {"badge": "N900", "name": "Constable New", "division": "D14"}
    ),
    ("POST", "/admin/officers/{badge}/training"): lambda c: c.post(
        "/admin/officers/T1/training", {"completed_on": today}
    ),
    ("GET", "/admin/rulesets"): lambda c: c.get("/admin/rulesets"),
    ("GET", "/analyst/reports"): lambda c: c.get("/analyst/reports"),
    # A year the form refuses: a real run would build reports from the database in the background.
    ("POST", "/analyst/reports"): lambda c: c.post("/analyst/reports", {"year": "last year"}),
    ("GET", "/analyst/reports/{job_id}"): lambda c: c.get(f"/analyst/reports/{c.e.job}"),
    ("GET", "/analyst/reports/{period}/files/{path:path}"): lambda c: c.get(
        f"/analyst/reports/{PERIOD}/files/board.pdf"
    ),
    ("GET", "/analyst/releases/{release_id}"): lambda c: c.get(f"/analyst/releases/{c.e.release}"),
    ("GET", "/analyst/releases/{release_id}/preview"): lambda c: c.get(
        f"/analyst/releases/{c.e.draft}/preview"
    ),
    # The draft's builder (admin) is refused with a reason; another analyst publishes it.
    ("POST", "/analyst/releases/{release_id}/approve"): lambda c: c.post(
        f"/analyst/releases/{c.e.draft}/approve", {}
    ),
    # No reason given: refused, and nothing withdrawn.
    ("POST", "/analyst/releases/{release_id}/withdraw"): lambda c: c.post(
        f"/analyst/releases/{c.e.release}/withdraw", {"reason": ""}
    ),
}


def test_every_route_is_classified(app):
    """A route added without a line in GUARDS (or a line left for a route removed) fails here."""
    routes = app_routes(app)
    unclassified = sorted(routes - set(GUARDS))
    stale = sorted(set(GUARDS) - routes)
    assert not unclassified, f"classify these routes in GUARDS and CALLS: {unclassified}"
    assert not stale, f"these routes no longer exist: {stale}"
    assert set(CALLS) == set(GUARDS)


def test_every_guard_names_permissions_of_the_matrix():
    known = set(MATRIX) | set(PUBLIC)
    for route, guard in GUARDS.items():
        if guard not in ("public", "signed-in"):
            assert guard and set(guard) <= known, route


def verdict(principal: str, route: tuple[str, str], response: Response) -> str | None:
    """What is wrong with the answer, or None when it is what the matrix says."""
    path = route[1]
    status, location = response.status_code, response.headers.get("location", "")
    api = path.startswith("/api/")
    to_login = status == 303 and location.startswith("/login")
    if status >= 500:
        return f"server error {status}"
    if route in SIGN_IN_STEPS:
        return None if status == 404 or to_login else f"a sign-in step answered {status} {location}".rstrip()
    if holds(principal, GUARDS[route]):
        if status in (401, 403, 404) or to_login:
            return f"allowed by the matrix but refused with {status} {location}".rstrip()
        return None
    if api:
        expected = {401} if principal == "anonymous" else {403, 404}
        return None if status in expected else f"denied by the matrix but answered {status}"
    if principal == "anonymous":
        return None if to_login else f"anonymous should be sent to sign in, got {status} {location}".rstrip()
    return None if status in (403, 404) else f"denied by the matrix but answered {status}"


def markup_problems(response: Response) -> list[str]:
    """Inline code or styles in a page, or a POST form without its CSRF token."""
    if not response.headers.get("content-type", "").startswith("text/html"):
        return []
    problems = inline_markup(response.text)
    if post_forms_without_csrf(response.text):
        problems.append("a POST form without its CSRF token")
    return problems


@pytest.mark.slow  # Every route for one role, some 100 requests; nine roles.
@pytest.mark.parametrize("principal", PRINCIPALS)
def test_each_principal_gets_what_the_matrix_says(principal, estate, browser_for):
    caller = Caller(principal, browser_for(principal), estate)
    order = [r for r in sorted(GUARDS) if r not in LAST] + list(LAST)
    wrong = []
    for route in order:
        response = CALLS[route](caller)
        # Every answer, allowed or refused, page, API, file or error, also carries the security headers
        # and, when it is a page, no markup the CSP would block.
        problems = [verdict(principal, route, response)]
        problems += header_problems(response.request.url.path, response) + markup_problems(response)
        wrong += [f"{route[0]} {route[1]}: {p}" for p in problems if p]
    assert not wrong, f"{principal}:\n" + "\n".join(wrong)
