"""The auditor's pages: who may see them, the filters, the chain check, and that reading is logged."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from fairengage.access import audit
from fairengage.access.models import AuditEntry
from fairengage.access.permissions import allowed
from fairengage.db import transaction

PASSWORD = "correct horse battery staple"
ROUTES = {
    "/audit": "audit:read",
    "/audit/verify": "audit:verify",
    "/audit/export.jsonl": "audit:export",
}
STAFF = {
    "officer": "officer1",
    "supervisor": "super1",
    "analyst": "analyst1",
    "auditor": "auditor1",
    "admin": "admin1",
}


def csrf_of(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def sign_in(client, username: str) -> None:
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrftoken": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def add_staff(world, *roles: str) -> None:
    for role in roles or STAFF:
        if role == "officer":
            world.officer("T100", "D14")
            world.user(STAFF[role], role, badge="T100")
        elif role == "supervisor":
            world.user(STAFF[role], role, division="D14")
        else:
            world.user(STAFF[role], role)


def seqs_shown(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', page)]


def entries(sessions, action: str) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for path in ROUTES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("role", list(STAFF))
def test_each_role_gets_what_the_matrix_grants(client, world, role):
    add_staff(world, role)
    sign_in(client, STAFF[role])
    for path, permission in ROUTES.items():
        r = client.get(path, follow_redirects=False)
        expected = 200 if allowed(role, permission) else 403
        assert r.status_code == expected, (role, path, r.status_code)
    # The brief's reading of the matrix, stated outright so that a change to it shows up here.
    if role in ("officer", "supervisor", "analyst"):
        assert not any(allowed(role, p) for p in ROUTES.values())
    if role == "admin":
        assert client.get("/audit/export.jsonl").status_code == 403


def fill(sessions) -> None:
    rows = [
        ("alice", "user.add", "u1", datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),
        ("bob", "officer.add", "T1", datetime(2026, 3, 10, 3, 30, tzinfo=UTC)),  # 23:30 on the 9th, local
        ("alice", "officer.train", "T1", datetime(2026, 3, 10, 14, 0, tzinfo=UTC)),
        ("carol", "user.add", "u2", datetime(2026, 3, 11, 14, 0, tzinfo=UTC)),
    ]
    with transaction(sessions) as s:
        for actor, action, entity_id, at in rows:
            audit.append(
                s,
                actor=actor,
                action=action,
                entity="thing",
                entity_id=entity_id,
                purpose="administration",
                details={"who": actor},
                at=at,
            )


def test_log_is_newest_first_with_every_column(client, world, sessions):
    fill(sessions)
    add_staff(world, "auditor")
    sign_in(client, "auditor1")
    page = client.get("/audit").text
    shown = seqs_shown(page)
    assert shown == sorted(shown, reverse=True) and {1, 2, 3, 4} <= set(shown)
    # Local time (Toronto, UTC-4 in March 2026), the purpose and the details are on the row.
    assert "2026-03-09 23:30:00" in page
    assert "administration" in page and "{&#34;who&#34;: &#34;bob&#34;}" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=alice", {1, 3}),
        ("entity_id=T1", {2, 3}),
        ("action=user.add", {1, 4}),
        ("actor=alice&action=user.add", {1}),
        # Local dates: the entry at 03:30 UTC on the 10th belongs to the 9th in Toronto.
        ("from=2026-03-10&to=2026-03-10", {3}),
        ("from=2026-03-09&to=2026-03-09", {1, 2}),
        ("from=2026-03-10", {3, 4}),
        ("to=2026-03-09", {1, 2}),
    ],
)
def test_filters(client, world, sessions, query, expected):
    fill(sessions)
    add_staff(world, "auditor")
    sign_in(client, "auditor1")
    r = client.get(f"/audit?{query}")
    assert r.status_code == 200
    # Signing in and earlier page views are logged too: keep to the entries made by fill().
    assert {seq for seq in seqs_shown(r.text) if seq <= 4} == expected


def test_bad_filter_dates_are_reported_in_place(client, world, sessions):
    fill(sessions)
    add_staff(world, "auditor")
    sign_in(client, "auditor1")
    r = client.get("/audit?from=tomorrow&actor=alice")
    assert r.status_code == 422
    assert 'id="from-error-1"' in r.text and "YYYY-MM-DD" in r.text
    assert {seq for seq in seqs_shown(r.text) if seq <= 4} == {1, 3}
    r = client.get("/audit?from=2026-03-11&to=2026-03-10")
    assert r.status_code == 422 and 'id="to-error-1"' in r.text


def test_pages_of_fifty(client, world, sessions):
    with transaction(sessions) as s:
        for i in range(70):
            audit.append(s, actor="bulk", action="test.write", entity="thing", entity_id=str(i), purpose="t")
    add_staff(world, "auditor")
    sign_in(client, "auditor1")
    first = client.get("/audit?actor=bulk").text
    assert seqs_shown(first) == list(range(70, 20, -1))
    assert "page 1 of 2" in first and "/audit?actor=bulk&amp;page=2" in first
    second = client.get("/audit?actor=bulk&page=2").text
    assert seqs_shown(second) == list(range(20, 0, -1))


def test_each_view_of_the_log_is_itself_logged(client, world, sessions):
    fill(sessions)
    add_staff(world, "auditor")
    sign_in(client, "auditor1")
    client.get("/audit?actor=alice&from=2026-03-01")
    reads = entries(sessions, "audit.read")
    assert len(reads) == 1
    assert reads[0].actor == "auditor1" and reads[0].purpose == "oversight"
    assert reads[0].details == {"filters": {"actor": "alice", "from": "2026-03-01"}, "page": 1}


def test_verify_page_says_the_log_is_intact(client, world, sessions):
    fill(sessions)
    add_staff(world, "auditor")
    sign_in(client, "auditor1")
    page = client.get("/audit/verify").text
    with sessions() as s:
        report = audit.verify(s)
    assert "The audit log is intact" in page
    # The count and head digest before this check appended its own entry.
    assert report.ok and f"All {report.checked - 1} entries were checked" in page
    assert entries(sessions, "audit.verify")[0].prev_digest in page


def test_verify_page_names_the_altered_entry(client, world, sessions):
    fill(sessions)
    add_staff(world, "admin")
    with transaction(sessions) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(purpose="something else"))
    sign_in(client, "admin1")
    page = client.get("/audit/verify").text
    assert "Entry 3 was altered" in page and "The audit log is intact" not in page
    logged = entries(sessions, "audit.verify")[-1]
    assert logged.details == {"ok": False, "checked": 2, "first_bad_seq": 3}


def test_verify_page_names_a_removed_entry(client, world, sessions):
    fill(sessions)
    add_staff(world, "auditor")
    from sqlalchemy import delete

    with transaction(sessions) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    sign_in(client, "auditor1")
    assert "Entry 2 is missing" in client.get("/audit/verify").text


def test_export_and_verify_links_follow_the_matrix(client, world, sessions):
    add_staff(world, "auditor", "admin")
    sign_in(client, "auditor1")
    page = client.get("/audit").text
    assert 'action="/audit/export.jsonl"' in page and 'href="/audit/verify"' in page
    client.post("/logout", data={"csrftoken": csrf_of(page)})
    sign_in(client, "admin1")
    page = client.get("/audit").text
    assert 'action="/audit/export.jsonl"' not in page and 'href="/audit/verify"' in page


def test_audit_pages_in_french(client, world, sessions):
    fill(sessions)
    add_staff(world, "auditor")
    sign_in(client, "auditor1")
    # The page renders with the French catalogue; untranslated strings fall back to English.
    r = client.get("/audit?lang=fr")
    assert r.status_code == 200 and '<html lang="fr">' in r.text
