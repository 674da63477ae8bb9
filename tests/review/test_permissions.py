"""Every governance page × every role, against the permission matrix (deny by default), and no quotas."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from builders import valid_body

PASSWORD = "a-long-enough-password"
ROLES = ("anonymous", "officer", "supervisor", "supervisor_elsewhere", "analyst", "auditor", "admin")


@pytest.fixture
def setup(app, world, client):
    headers = world.officer_with_token("T1", "D14")
    record = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["id"]
    world.user("officer", "officer", badge="T1", password=PASSWORD)
    world.officer("S1", "D14", trained_on=date(2025, 1, 1))
    world.user("supervisor", "supervisor", badge="S1", password=PASSWORD)
    world.user("supervisor_elsewhere", "supervisor", division="D52", password=PASSWORD)
    for role in ("analyst", "auditor", "admin"):
        world.user(role, role, password=PASSWORD)
    return record


def signed_in(app, username: str) -> TestClient:
    c = TestClient(app)
    if username != "anonymous":
        token = re.search(r'name="csrftoken" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrftoken": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, username
    return c


EXPECTED = {
    # path: statuses for anonymous, officer, supervisor, supervisor elsewhere, analyst, auditor, admin
    "/review": (303, 403, 200, 200, 403, 200, 403),
    "/review/escalations": (303, 403, 200, 200, 403, 200, 403),
    "/review/summary": (303, 403, 200, 200, 403, 200, 200),
    "/review/samples": (303, 403, 200, 200, 403, 200, 200),
    "/review/{record}": (303, 403, 200, 404, 403, 200, 403),
    "/restricted": (303, 403, 200, 200, 403, 200, 403),
}


def test_every_governance_page_for_every_role(app, setup):
    record = setup
    for role_index, role in enumerate(ROLES):
        c = signed_in(app, role)
        for path, statuses in EXPECTED.items():
            r = c.get(path.format(record=record), follow_redirects=False)
            assert r.status_code == statuses[role_index], (role, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login")


def test_decisions_only_by_the_divisions_reviewer(app, setup):
    record = setup
    for role in ("officer", "supervisor_elsewhere", "analyst", "auditor", "admin"):
        c = signed_in(app, role)
        token = re.search(r'name="csrftoken" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post(
            f"/review/{record}/decision",
            data={"decision": "approved", "csrftoken": token},
            follow_redirects=False,
        )
        assert r.status_code in (403, 404), role
    c = signed_in(app, "supervisor")
    token = re.search(r'name="csrftoken" value="([^"]+)"', c.get(f"/review/{record}").text).group(1)
    assert c.post(f"/review/{record}/decision", data={"decision": "approved"}).status_code == 403  # no CSRF
    r = c.post(
        f"/review/{record}/decision",
        data={"decision": "approved", "csrftoken": token},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_no_page_ranks_officers_by_engagement_count(app, setup, client, world):
    """NO-QUOTAS (s.10): counts of engagements never appear per officer on any staff page."""
    # A badge no random CSRF token will contain by chance (a short one once did).
    headers = world.officer_with_token("BUSY4242", "D14", name="Constable Busy")
    for _ in range(3):
        client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    pages = ["/review/summary", "/review", "/public"]
    for role in ("supervisor", "auditor", "admin"):
        c = signed_in(app, role)
        for path in pages:
            text = c.get(path).text
            # The supervisor's list of training about to lapse names officers, with a date and no count:
            # it is the one place an officer's name may appear, and it must carry nothing else.
            training = re.search(r'<h2 id="expiring-training">.*?</table>', text, re.S)
            if training:
                rows = re.findall(r"<tr>(.*?)</tr>", training.group(0), re.S)
                busy = [re.findall(r"<td>(.*?)</td>", row) for row in rows if "BUSY4242" in row]
                for cells in busy:
                    assert cells[:2] == ["Constable Busy", "BUSY4242"] and len(cells) == 3, cells
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}( <strong>lapsed</strong>)?", cells[2]), cells
                text = text.replace(training.group(0), "")
            assert "Constable Busy" not in text and "BUSY4242" not in text, (role, path)


def test_restricted_requests_only_by_roles_that_may_ask(app, setup):
    record = setup
    expected = {
        "anonymous": 303,
        "officer": 403,
        "analyst": 403,
        "admin": 403,
        "supervisor": 422,
        "auditor": 422,
    }
    for role, status in expected.items():
        c = signed_in(app, role)
        token = re.search(r'name="csrftoken" value="([^"]+)"', c.get("/login").text)
        data = {"record": record, "purpose": "", "details": ""}
        if token:
            data["csrftoken"] = token.group(1)
        r = c.post("/restricted/requests", data=data, follow_redirects=False)
        # Roles that may ask get the form back with the missing purpose named (422); others are refused.
        assert r.status_code == status, (role, r.status_code)
