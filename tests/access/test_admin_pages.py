"""The administrator's pages: users and roles, officers and training expiry, rule sets; no quotas."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import valid_body
from fairengage.access.models import ApiToken, AuditEntry, User
from fairengage.access.permissions import allowed
from fairengage.officers.models import Officer
from fairengage.policy import load_rulesets, ruleset_in_force
from fairengage.policy.checks import training_valid_until

PASSWORD = "correct horse battery staple"
STAFF = {
    "officer": "officer1",
    "supervisor": "super1",
    "analyst": "analyst1",
    "auditor": "auditor1",
    "admin": "admin1",
}
# Every route, the permission it needs, and what an allowed caller sending an empty form gets.
ROUTES = [
    ("GET", "/admin/users", "users:manage", 200),
    ("POST", "/admin/users", "users:manage", 422),
    ("POST", "/admin/users/target1/role", "users:manage", 422),
    ("POST", "/admin/users/target1/active", "users:manage", 422),
    ("GET", "/admin/officers", "officers:manage", 200),
    ("POST", "/admin/officers", "officers:manage", 422),
    ("POST", "/admin/officers/T777/training", "officers:manage", 422),
    ("GET", "/admin/rulesets", "rulesets:manage", 200),
]


def csrf_of(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrftoken": token},
        follow_redirects=False,
    )


def add_staff(world, *roles: str) -> None:
    for role in roles or STAFF:
        if role == "officer":
            world.officer("T100", "D14")
            world.user(STAFF[role], role, badge="T100")
        elif role == "supervisor":
            world.user(STAFF[role], role, division="D14")
        else:
            world.user(STAFF[role], role)


def as_admin(client, world) -> str:
    """Sign in as an administrator; the CSRF token for the forms."""
    add_staff(world, "admin")
    assert sign_in(client, "admin1").status_code == 303
    return csrf_of(client.get("/admin/users").text)


def audit_entries(sessions, action: str) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def get_user(sessions, username: str) -> User:
    with sessions() as s:
        return s.scalars(select(User).where(User.username == username)).one()


def local_today(settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


# ------------------------------------------------------------------------------------------- access


def test_anonymous_visitors_are_sent_to_sign_in(client):
    token = csrf_of(client.get("/login").text)
    for method, path, _permission, _ok in ROUTES:
        data = {"csrftoken": token} if method == "POST" else None
        r = client.request(method, path, data=data, follow_redirects=False)
        assert r.status_code == 303, (method, path)
        assert r.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", list(STAFF))
def test_each_role_gets_what_the_matrix_grants(client, world, role):
    add_staff(world, role)
    world.officer("T777", "D22")
    world.user("target1", "analyst", password=None)
    assert sign_in(client, STAFF[role]).status_code == 303
    token = csrf_of(client.get("/").text)
    for method, path, permission, ok in ROUTES:
        data = {"csrftoken": token} if method == "POST" else None
        r = client.request(method, path, data=data, follow_redirects=False)
        expected = ok if allowed(role, permission) else 403
        assert r.status_code == expected, (role, method, path, r.status_code)
    if role in ("officer", "supervisor", "analyst", "auditor"):
        assert not any(allowed(role, permission) for _m, _p, permission, _ok in ROUTES)


# --------------------------------------------------------------------------------------------- users


def test_add_user_links_the_badge_and_is_audited(client, world, sessions):
    token = as_admin(client, world)
    world.officer("T200", "D31", name="Jo Park")
    r = client.post(
        "/admin/users",
        data={
            "csrftoken": token,
            "username": "jpark",
            "role": "officer",
            "badge": "T200",
            "division": "",
            "password": "a long enough password",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/users"
    user = get_user(sessions, "jpark")
    assert user.role == "officer" and user.division_code == "D31" and user.officer.badge == "T200"
    added = audit_entries(sessions, "user.add")[-1]
    assert added.actor == "admin1" and added.entity_id == "jpark"
    page = client.get("/admin/users").text
    assert "User jpark added." in page
    assert '<a href="/admin/officers?q=T200#officer-T200">T200</a> (Jo Park)' in page
    # The notice is shown once.
    assert "User jpark added." not in client.get("/admin/users").text
    # The new user can sign in with the initial password.
    other = TestClient(client.app)
    assert sign_in(other, "jpark", "a long enough password").status_code == 303


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"username": "", "role": "analyst"}, "username", "Enter a username."),
        ({"username": "bad name!", "role": "analyst"}, "username", "Use only letters"),
        ({"username": "x1", "role": "chief"}, "role", "Choose a role."),
        ({"username": "x1", "role": "officer"}, "badge", "needs the badge of an officer"),
        ({"username": "x1", "role": "officer", "badge": "NOPE"}, "badge", "No officer has this badge"),
        ({"username": "x1", "role": "supervisor"}, "division", "A supervisor needs a division"),
        ({"username": "x1", "role": "analyst", "division": "D99"}, "division", "Choose one of the service"),
        ({"username": "x1", "role": "analyst", "password": "short"}, "password", "at least 12 characters"),
        ({"username": "admin1", "role": "analyst"}, "username", "already exists"),
    ],
)
def test_add_user_errors_are_shown_in_place(client, world, sessions, form, field, message):
    token = as_admin(client, world)
    data = {"csrftoken": token, "password": "a long enough password", "badge": "", "division": "", **form}
    r = client.post("/admin/users", data=data)
    assert r.status_code == 422
    error = re.search(rf'id="{field}-error-1">.*?</span>(.*?)</span>', r.text, re.S)
    assert error and message in error.group(1)
    assert f'aria-invalid="true" aria-describedby="{field}-error-1"' in r.text
    with sessions() as s:
        assert s.scalar(select(User).where(User.username == "x1")) is None
    # What was typed is kept, except the password.
    if form["username"]:
        assert f'value="{form["username"]}"' in r.text
    assert data["password"] not in r.text


def test_change_role_is_audited_and_checked(client, world, sessions):
    token = as_admin(client, world)
    world.user("analyst1", "analyst")
    # A form without its CSRF token is refused before it reaches the page.
    assert client.post("/admin/users/analyst1/role", data={"role": "auditor"}).status_code == 403
    assert get_user(sessions, "analyst1").role == "analyst"
    r = client.post("/admin/users/analyst1/role", data={"csrftoken": token, "role": "auditor"})
    assert r.status_code == 200 and "The role of analyst1 was changed." in r.text
    assert get_user(sessions, "analyst1").role == "auditor"
    change = audit_entries(sessions, "user.role")[-1]
    assert change.actor == "admin1" and change.details == {"from": "analyst", "to": "auditor"}
    # A supervisor needs a division: refused beside that user's role form, nothing changed.
    r = client.post("/admin/users/analyst1/role", data={"csrftoken": token, "role": "supervisor"})
    assert r.status_code == 422 and 'id="role-analyst1-error-1"' in r.text
    assert "Only a user with a division can be a supervisor." in r.text
    assert get_user(sessions, "analyst1").role == "auditor"
    # An administrator cannot demote themselves (and the page offers no form for it).
    r = client.post("/admin/users/admin1/role", data={"csrftoken": token, "role": "analyst"})
    assert r.status_code == 422 and get_user(sessions, "admin1").role == "admin"
    assert 'action="/admin/users/admin1/role"' not in client.get("/admin/users").text
    assert (
        client.post("/admin/users/nobody/role", data={"csrftoken": token, "role": "admin"}).status_code == 404
    )
    assert len(audit_entries(sessions, "user.role")) == 1


def test_deactivation_blocks_sign_in_sessions_and_tokens(client, world, sessions):
    token = as_admin(client, world)
    world.user("analyst1", "analyst")
    api_token = world.token("analyst1")
    bearer = {"Authorization": f"Bearer {api_token}"}
    analyst = TestClient(client.app)
    assert sign_in(analyst, "analyst1").status_code == 303
    assert client.get("/api/v1/rulesets/current", headers=bearer).status_code == 200
    assert client.get("/api/v1/engagements", headers=bearer).status_code != 401

    r = client.post("/admin/users/analyst1/active", data={"csrftoken": token, "active": "false"})
    assert r.status_code == 200 and "analyst1 was deactivated" in r.text
    assert get_user(sessions, "analyst1").active is False
    # No new sign-in, no API token, and the session already open ends.
    assert sign_in(TestClient(client.app), "analyst1").status_code == 401
    assert client.get("/api/v1/engagements", headers=bearer).status_code == 401
    r = analyst.get("/", follow_redirects=False)
    assert "Sign out (analyst1)" not in r.text
    off = audit_entries(sessions, "user.deactivate")[-1]
    assert off.actor == "admin1" and off.entity_id == "analyst1"
    # The analyst's one signed-in browser was ended on the server, not left to expire.
    assert off.details == {"tokens_revoked": 1, "sessions_ended": 1}

    r = client.post("/admin/users/analyst1/active", data={"csrftoken": token, "active": "true"})
    assert r.status_code == 200 and get_user(sessions, "analyst1").active is True
    assert sign_in(TestClient(client.app), "analyst1").status_code == 303
    # Tokens from before stay revoked: a reactivated account is given new ones.
    assert client.get("/api/v1/engagements", headers=bearer).status_code == 401
    fresh = {"Authorization": f"Bearer {world.token('analyst1')}"}
    assert client.get("/api/v1/engagements", headers=fresh).status_code != 401
    with sessions() as s:
        assert s.scalar(select(ApiToken).where(ApiToken.prefix == api_token[:10])).revoked_at is not None
    assert audit_entries(sessions, "user.reactivate")[-1].actor == "admin1"


def test_an_admin_cannot_deactivate_themselves(client, world, sessions):
    token = as_admin(client, world)
    r = client.post("/admin/users/admin1/active", data={"csrftoken": token, "active": "false"})
    assert r.status_code == 422 and 'id="active-admin1-error-1"' in r.text
    assert get_user(sessions, "admin1").active is True
    assert audit_entries(sessions, "user.deactivate") == []


def test_admin_changes_appear_in_the_audit_log(client, world, sessions):
    token = as_admin(client, world)
    world.user("auditor1", "auditor")
    client.post(
        "/admin/users",
        data={
            "csrftoken": token,
            "username": "newbie",
            "role": "analyst",
            "password": "another long password",
        },
    )
    client.post("/admin/users/newbie/role", data={"csrftoken": token, "role": "auditor"})
    client.post("/admin/users/newbie/active", data={"csrftoken": token, "active": "false"})
    client.post(
        "/admin/officers", data={"csrftoken": token, "badge": "T300", "name": "Ana Ruiz", "division": "D11"}
    )
    client.post("/admin/officers/T300/training", data={"csrftoken": token, "completed_on": "2026-01-05"})
    page = client.get("/audit?actor=admin1").text
    for action in ("user.add", "user.role", "user.deactivate", "officer.add", "officer.train"):
        assert f"<td>{action}</td>" in page, action
    with sessions() as s:
        logged = s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "admin1")).all()
    assert {"user.add", "user.role", "user.deactivate", "officer.add", "officer.train"} <= set(logged)


# ------------------------------------------------------------------------------------------ officers


def trained_on_for(valid_until: date, months: int) -> date:
    """A completion date whose training counts up to and including `valid_until`."""
    day = valid_until - timedelta(days=31 * months + 3)
    while training_valid_until(day, months) != valid_until:
        day += timedelta(days=1)
        assert day <= valid_until, "no completion date gives this expiry"
    return day


def officer_cards(page: str) -> list[tuple[str, bool, str]]:
    """(badge, warned, card html) in page order."""
    cards = re.findall(r'<li class="record( record-warn)?" id="officer-([^"]+)">(.*?)</li>', page, re.S)
    return [(badge, bool(warn), html) for warn, badge, html in cards]


def test_training_expiry_warning_at_the_sixty_day_boundary(client, world, settings):
    token = as_admin(client, world)
    assert token
    today = local_today(settings)
    months = int(ruleset_in_force(today).param("training_months"))
    for badge, days in (("B59", 59), ("B60", 60), ("B61", 61), ("B200", 200), ("BEXP", -1), ("B0", 0)):
        world.officer(badge, "D14", trained_on=trained_on_for(today + timedelta(days=days), months))
    world.officer("BNONE", "D14", trained_on=None)
    page = client.get("/admin/officers").text
    cards = {badge: (warned, html) for badge, warned, html in officer_cards(page)}
    assert cards["B59"][0] and "Training lapses in 59 days." in cards["B59"][1]
    assert cards["B60"][0] and "Training lapses in 60 days." in cards["B60"][1]
    assert not cards["B61"][0] and "lapses" not in cards["B61"][1]
    assert not cards["B200"][0]
    assert cards["B0"][0] and "Training lapses after today." in cards["B0"][1]
    assert cards["BEXP"][0] and "cannot record engagements until retrained" in cards["BEXP"][1]
    assert cards["BNONE"][0] and "No training recorded" in cards["BNONE"][1]
    expiry = (today + timedelta(days=61)).isoformat()
    assert f"<dt>Training counts until</dt><dd>{expiry}</dd>" in cards["B61"][1]
    # Those needing training come first: never trained, then soonest lapse; then the rest.
    order = [badge for badge, _warned, _html in officer_cards(page)]
    assert order == ["BNONE", "BEXP", "B0", "B59", "B60", "B61", "B200"]


def test_add_officer_and_record_training(client, world, sessions, settings):
    token = as_admin(client, world)
    r = client.post(
        "/admin/officers",
        data={"csrftoken": token, "badge": "T400", "name": "Sam Lee", "division": "D43", "trained_on": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/admin/officers").text
    assert "Officer T400 added." in page and "No training recorded" in page
    day = local_today(settings) - timedelta(days=10)
    r = client.post(
        "/admin/officers/T400/training", data={"csrftoken": token, "completed_on": day.isoformat()}
    )
    assert r.status_code == 200 and f"Training on {day.isoformat()} recorded for T400." in r.text
    with sessions() as s:
        officer = s.scalars(select(Officer).where(Officer.badge == "T400")).one()
        assert officer.division_code == "D43" and officer.last_trained_on == day
    assert audit_entries(sessions, "officer.add")[-1].actor == "admin1"
    trained = audit_entries(sessions, "officer.train")[-1]
    assert trained.actor == "admin1" and trained.details == {"completed_on": day.isoformat()}


def test_officer_form_errors_in_place(client, world, sessions, settings):
    token = as_admin(client, world)
    world.officer("T500", "D14")
    tomorrow = (local_today(settings) + timedelta(days=1)).isoformat()
    cases = [
        ({"badge": "T500", "name": "Dup", "division": "D14"}, "badge", "already exists"),
        ({"badge": "", "name": "No Badge", "division": "D14"}, "badge", "Enter the badge"),
        ({"badge": "T501", "name": "", "division": "D14"}, "name", "Enter the officer"),
        ({"badge": "T501", "name": "Who", "division": "D99"}, "division", "divisions"),
        ({"badge": "T501", "name": "Who", "division": "D14", "trained_on": tomorrow}, "trained_on", "future"),
        (
            {"badge": "T501", "name": "Who", "division": "D14", "trained_on": "last week"},
            "trained_on",
            "YYYY",
        ),
    ]
    for form, field, message in cases:
        r = client.post("/admin/officers", data={"csrftoken": token, **form})
        assert r.status_code == 422, form
        error = re.search(rf'id="{field}-error-1">.*?</span>(.*?)</span>', r.text, re.S)
        assert error and message in error.group(1), (form, r.text[:200])
    with sessions() as s:
        assert s.scalar(select(Officer).where(Officer.badge == "T501")) is None
    r = client.post("/admin/officers/T500/training", data={"csrftoken": token, "completed_on": tomorrow})
    assert r.status_code == 422 and 'id="completed_on-T500-error-1"' in r.text
    r = client.post("/admin/officers/T500/training", data={"csrftoken": token, "completed_on": ""})
    assert r.status_code == 422 and "Enter the date the training was completed." in r.text
    assert client.post("/admin/officers/NOPE/training", data={"csrftoken": token}).status_code == 404
    assert audit_entries(sessions, "officer.train") == []


def test_no_page_shows_engagement_counts_per_officer(client, world):
    """No quotas: what officers record changes nothing on the admin pages about them."""
    token = as_admin(client, world)
    assert token
    headers = world.officer_with_token("T900", "D14")
    world.officer("T901", "D14")
    before = {path: client.get(path).text for path in ("/admin/officers", "/admin/users")}
    for _ in range(3):
        r = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
        assert r.status_code == 201, r.text
    after = {path: client.get(path).text for path in ("/admin/officers", "/admin/users")}
    assert after == before
    for page in after.values():
        labels = re.findall(r"<(?:dt|th)[^>]*>(.*?)</(?:dt|th)>", page, re.S)
        assert labels and not [label for label in labels if re.search(r"engagement|record|stop", label, re.I)]


# ----------------------------------------------------------------------------------------- rule sets


def test_rulesets_page_lists_every_rule_set_read_only(client, world, settings):
    as_admin(client, world)
    page = client.get("/admin/rulesets").text
    current = ruleset_in_force(local_today(settings))
    for ruleset in load_rulesets():
        assert f'id="ruleset-{ruleset.id}"' in page
        assert f'href="/api/v1/rulesets/{ruleset.id}"' in page
        assert ruleset.effective_from.isoformat() in page
    assert page.count("In force today") == 1
    card = re.search(rf'id="ruleset-{current.id}">(.*?)</li>', page, re.S).group(1)
    assert "In force today" in card
    assert "read-only" in page and "<form" not in page.split("<main", 1)[1]
    assert client.get(f"/api/v1/rulesets/{current.id}").json()["id"] == current.id
