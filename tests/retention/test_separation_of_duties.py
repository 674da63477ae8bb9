"""Separation of duties on restricted reads, attacked through the real pages and the command line.

The attack: one administrator makes an account, asks to read a restricted record with it, approves the
request with the chief's delegation and reads the person's name, date of birth and address. No one may
approve a request filed from an account they created, last re-roled or reactivated, nor their own; and
user administration and the delegation are never held by one person.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from access.estate import csrf_of, sign_in
from builders import valid_body
from fairengage import cli
from fairengage.access.models import AuditEntry, User
from fairengage.config import get_settings
from fairengage.engagements.models import Engagement
from fairengage.retention import service
from fairengage.retention.models import ApproverDelegation, RestrictedAccessRequest

PASSWORD = "a-long-enough-password"
TEMPORARY = "a-temporary-password-set-by-an-admin"
# What valid_body() records about the person: none of it may reach a page without a clean approval.
PERSON_NAME = "Sam Example"


@pytest.fixture
def record(client, world, sessions) -> str:
    """A restricted D14 record holding a person's name, date of birth and address."""
    headers = world.officer_with_token("T9", "D14")
    response = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert response.status_code == 201, response.text
    rid = response.json()["id"]
    with sessions.begin() as s:
        engagement = s.get(Engagement, rid)
        assert engagement.person.name == PERSON_NAME
        service.restrict(session=s, engagement=engagement, reason="non_compliant", actor="t")
    return rid


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


class Browser:
    """One signed-in person's browser, sending the service's own forms."""

    def __init__(self, app, username: str) -> None:  # type: ignore[no-untyped-def]
        self.client = TestClient(app)
        assert sign_in(self.client, username, PASSWORD).status_code == 303, username

    def form(self, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
        page = "/restricted" if path.startswith("/restricted") else "/admin/users"
        token = csrf_of(self.client.get(page).text)
        return self.client.post(path, data={"csrftoken": token, **data}, follow_redirects=False)

    def add_user(self, username: str, role: str, division: str = "") -> None:
        data = {"username": username, "role": role, "division": division, "password": TEMPORARY}
        assert self.form("/admin/users", data).status_code == 303
        # Whoever knows the temporary password signs in first and must choose PASSWORD before anything.
        first = TestClient(self.client.app)
        assert sign_in(first, username, TEMPORARY).headers["location"] == "/account/password"
        token = csrf_of(first.get("/account/password").text)
        form = {"current": TEMPORARY, "password": PASSWORD, "confirm": PASSWORD, "csrftoken": token}
        assert first.post("/account/password", data=form, follow_redirects=False).status_code == 303

    def set_role(self, username: str, role: str):  # type: ignore[no-untyped-def]
        return self.form(f"/admin/users/{username}/role", {"role": role})

    def set_active(self, username: str, active: bool) -> None:
        response = self.form(f"/admin/users/{username}/active", {"active": "true" if active else "false"})
        assert response.status_code == 303

    def ask(self, record: str) -> int:
        data = {"record": record, "purpose": "legal_proceeding", "details": "disclosure in R. v. Example"}
        assert self.form("/restricted/requests", data).status_code == 303
        with self.client.app.state.sessions() as s:  # type: ignore[attr-defined]
            return s.scalars(
                select(RestrictedAccessRequest.id).order_by(RestrictedAccessRequest.id.desc())
            ).first()

    def decide(self, request_id: int, decision: str = "approve"):  # type: ignore[no-untyped-def]
        return self.form(f"/restricted/requests/{request_id}/decision", {"decision": decision})


def delegate(sessions, username: str) -> None:
    with sessions.begin() as s:
        service.delegate(session=s, username=username, granted_by="Chief of Police")


def status_of(sessions, request_id: int) -> str:
    with sessions() as s:
        return s.get(RestrictedAccessRequest, request_id).status


def approvals(sessions) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "restricted.approved")))


def assert_refused_on_page(response, why: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert why in response.text.replace("&#39;", "'")


def test_the_one_administrator_attack_fails_at_every_step(app, world, sessions, record, runner):
    """The exact path: an administrator holding the delegation (granted before the rule) makes a
    supervisor, files a request with it, approves it and tries to read the person."""
    world.user("root", "admin", password=PASSWORD)
    # The chief can no longer grant it to an administrator; a grant from before the rule is inserted as
    # it stands in an upgraded database.
    refused = runner.invoke(cli.app, ["retention", "delegate", "root", "--by", "Chief of Police"])
    assert refused.exit_code == 1
    assert "root administers users, so cannot also approve reads of restricted records" in refused.output
    with sessions.begin() as s:
        root = s.scalars(select(User).where(User.username == "root")).one()
        s.add(ApproverDelegation(user_id=root.id, granted_by="Chief", granted_at=datetime.now(UTC), note=""))
    admin = Browser(app, "root")
    admin.add_user("sock", "supervisor", division="D14")
    with sessions() as s:
        assert s.scalars(select(User.created_by).where(User.username == "sock")).one() == "root"
    request_id = Browser(app, "sock").ask(record)
    # The approver's page says why before anyone clicks, and offers no Approve button for it.
    page = admin.client.get("/restricted").text.replace("&#39;", "'")
    assert "you administer users and hold the chief's delegation at once" in page
    assert f'/restricted/requests/{request_id}/decision' in page and 'value="approve"' not in page
    response = admin.decide(request_id)
    assert_refused_on_page(response, "you administer users and hold the chief's delegation at once")
    assert status_of(sessions, request_id) == "pending" and approvals(sessions) == []
    reading = Browser(app, "sock").client.get(f"/restricted/requests/{request_id}/record")
    assert reading.status_code == 403 and PERSON_NAME not in reading.text
    # Once the chief withdraws the overlapping delegation, the creator still cannot approve.
    assert runner.invoke(cli.app, ["retention", "revoke", "root", "--by", "Chief"]).exit_code == 0
    world.user("root2", "admin", password=PASSWORD)
    Browser(app, "root2").set_role("root", "analyst")
    delegate(sessions, "root")
    response = Browser(app, "root").decide(request_id)
    assert_refused_on_page(response, "you created the account of sock, who filed this request")
    assert status_of(sessions, request_id) == "pending" and approvals(sessions) == []


@pytest.mark.parametrize("shaping", ["created", "re-roled", "reactivated"])
def test_an_approver_cannot_approve_a_request_from_an_account_they_shaped(
    app, world, sessions, record, shaping
):
    world.user("first", "admin", password=PASSWORD)
    world.user("second", "admin", password=PASSWORD)
    first = Browser(app, "first")
    if shaping == "created":
        first.add_user("asker", "supervisor", division="D14")
        why = "you created the account of asker"
    else:
        world.user("asker", "analyst", division="D14", password=PASSWORD)
        if shaping == "re-roled":
            assert first.set_role("asker", "supervisor").status_code == 303
            why = "you last changed the role of asker"
        else:
            Browser(app, "second").set_role("asker", "supervisor")
            first.set_active("asker", False)
            first.set_active("asker", True)
            why = "you reactivated the account of asker"
    request_id = Browser(app, "asker").ask(record)
    # The administrator steps down from user administration and is given the delegation.
    assert Browser(app, "second").set_role("first", "auditor").status_code == 303
    delegate(sessions, "first")
    response = Browser(app, "first").decide(request_id)
    assert_refused_on_page(response, why)
    assert status_of(sessions, request_id) == "pending" and approvals(sessions) == []
    # Someone who did not shape the account approves, and the requester then reads the record.
    world.user("designate", "analyst", password=PASSWORD)
    delegate(sessions, "designate")
    assert Browser(app, "designate").decide(request_id).status_code == 303
    assert status_of(sessions, request_id) == "approved"
    page = Browser(app, "asker").client.get(f"/restricted/requests/{request_id}/record")
    assert page.status_code == 200 and PERSON_NAME in page.text


def test_no_one_decides_their_own_request(app, world, sessions, record):
    world.user("aud", "auditor", password=PASSWORD)
    delegate(sessions, "aud")
    auditor = Browser(app, "aud")
    request_id = auditor.ask(record)
    for decision in ("approve", "refuse"):
        response = auditor.decide(request_id, decision)
        assert_refused_on_page(response, "a request cannot be decided by the person who made it")
    assert status_of(sessions, request_id) == "pending"


def test_a_delegate_cannot_be_made_a_user_administrator(app, world, sessions):
    world.user("root", "admin", password=PASSWORD)
    world.user("designate", "analyst", password=PASSWORD)
    delegate(sessions, "designate")
    response = Browser(app, "root").set_role("designate", "admin")
    assert response.status_code == 422
    assert "an approver may not also administer users" in response.text.replace("&#39;", "'")
    with sessions() as s:
        assert s.scalars(select(User.role).where(User.username == "designate")).one() == "analyst"
    # Without the delegation the same change goes through.
    with sessions.begin() as s:
        service.revoke(session=s, username="designate", revoked_by="Chief")
    assert Browser(app, "root").set_role("designate", "admin").status_code == 303


def test_a_user_administrator_cannot_be_given_the_delegation(world, sessions, runner):
    world.user("root", "admin", password=PASSWORD)
    result = runner.invoke(cli.app, ["retention", "delegate", "root", "--by", "Chief of Police"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith("error: root administers users") and "delegate to someone else" in line
    with sessions() as s:
        assert s.scalars(select(ApproverDelegation)).all() == []
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "delegation.grant")).all() == []


def test_accounts_record_who_shaped_them(app, world, sessions):
    world.user("root", "admin", password=PASSWORD)
    root = Browser(app, "root")
    root.add_user("newbie", "analyst")
    root.set_role("newbie", "auditor")
    root.set_active("newbie", False)
    root.set_active("newbie", True)
    with sessions() as s:
        user = s.scalars(select(User).where(User.username == "newbie")).one()
        assert (user.created_by, user.role_changed_by, user.reactivated_by) == ("root", "root", "root")
        assert user.role_changed_at is not None and user.reactivated_at is not None
    # The Users page shows them, so an administrator can see why an approval was refused.
    page = root.client.get("/admin/users").text
    card = page[page.index('id="user-newbie"') :].split("</li>")[0]
    for label in ("Created by", "Role last changed by", "Last reactivated by"):
        assert f"<dt>{label}</dt><dd>root</dd>" in card
