"""Restriction on schedule, legal holds, destruction schedules, and governed reads of restricted records."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from builders import valid_body
from fairengage import policy
from fairengage.access.models import AuditEntry, User
from fairengage.access.principal import Principal
from fairengage.engagements.models import Engagement
from fairengage.errors import Forbidden, NotFound, RecordRefused
from fairengage.retention import service
from fairengage.retention.models import RestrictedRead, Restriction

TZ = "America/Toronto"


def make_records(client, world, entered: list[datetime]) -> list[str]:
    headers = world.officer_with_token("T9", "D14")
    ids = [
        client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["id"] for _ in entered
    ]
    return ids


def set_entered(sessions, ids, moments):
    with sessions.begin() as s:
        for rid, at in zip(ids, moments, strict=True):
            s.execute(update(Engagement).where(Engagement.id == rid).values(entered_at=at))


def restricted(sessions) -> set[str]:
    with sessions() as s:
        return set(s.scalars(select(Engagement.id).where(Engagement.restricted.is_(True))))


def test_years_before_handles_leap_days():
    assert service.years_before(date(2030, 6, 15), 5) == date(2025, 6, 15)
    assert service.years_before(date(2028, 2, 29), 5) == date(2023, 2, 28)


def test_five_years_as_of_a_date_at_the_boundary(client, world, sessions):
    # Local entry dates: 2020-06-15 (late evening: already 16 June in UTC) and 2020-06-16.
    moments = [datetime(2020, 6, 16, 3, 30, tzinfo=UTC), datetime(2020, 6, 16, 15, 0, tzinfo=UTC)]
    ids = make_records(client, world, moments)
    set_entered(sessions, ids, moments)
    with sessions.begin() as s:
        report = service.run(session=s, as_of=date(2025, 6, 14), tz=TZ, actor="t")
    assert report.restricted_by_age == 0 and restricted(sessions) == set()
    with sessions.begin() as s:
        report = service.run(session=s, as_of=date(2025, 6, 15), tz=TZ, actor="t")
    assert report.restricted_by_age == 1 and restricted(sessions) == {ids[0]}
    with sessions.begin() as s:
        service.run(session=s, as_of=date(2025, 6, 16), tz=TZ, actor="t")
    assert restricted(sessions) == set(ids)
    with sessions() as s:
        assert {r.reason for r in s.scalars(select(Restriction))} == {"age"}


def test_leap_day_entry_is_restricted_after_five_full_years(client, world, sessions):
    moments = [datetime(2020, 2, 29, 17, 0, tzinfo=UTC)]
    ids = make_records(client, world, moments)
    set_entered(sessions, ids, moments)
    with sessions.begin() as s:
        service.run(session=s, as_of=date(2025, 2, 28), tz=TZ, actor="t")
    assert restricted(sessions) == set()
    with sessions.begin() as s:
        service.run(session=s, as_of=date(2025, 3, 1), tz=TZ, actor="t")
    assert restricted(sessions) == set(ids)


def test_runs_are_idempotent_and_dry_runs_change_nothing(client, world, sessions):
    moments = [datetime(2019, 1, 10, 15, 0, tzinfo=UTC), datetime(2024, 1, 10, 15, 0, tzinfo=UTC)]
    ids = make_records(client, world, moments)
    set_entered(sessions, ids, moments)
    with sessions.begin() as s:
        dry = service.run(session=s, as_of=date(2025, 1, 1), tz=TZ, actor="t", dry_run=True)
    assert dry.restricted_by_age == 1 and restricted(sessions) == set()
    with sessions.begin() as s:
        first = service.run(session=s, as_of=date(2025, 1, 1), tz=TZ, actor="t")
    with sessions.begin() as s:
        second = service.run(session=s, as_of=date(2025, 1, 1), tz=TZ, actor="t")
    assert (first.restricted_by_age, second.restricted_by_age) == (1, 0)
    assert restricted(sessions) == {ids[0]}
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Restriction)) == 1


def test_destruction_schedule_skips_legal_holds(client, world, sessions, monkeypatch):
    moments = [datetime(2010, 5, 1, 15, 0, tzinfo=UTC)] * 2 + [datetime(2024, 5, 1, 15, 0, tzinfo=UTC)]
    ids = make_records(client, world, moments)
    set_entered(sessions, ids, moments)
    with sessions.begin() as s:
        service.set_legal_hold(session=s, engagement_id=ids[1], hold=True, actor="t", note="R. v. Example")
    scheduled = [
        dataclasses.replace(r, parameters={**r.parameters, "destruction_years": 10})
        for r in policy.load_rulesets()
    ]
    monkeypatch.setattr(service.policy, "load_rulesets", lambda: scheduled)
    with sessions.begin() as s:
        report = service.run(session=s, as_of=date(2025, 1, 1), tz=TZ, actor="t")
    assert (report.destroyed, report.held) == (1, 1)
    with sessions() as s:
        remaining = set(s.scalars(select(Engagement.id)))
        assert remaining == {ids[1], ids[2]}
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "engagement.destroy")).one()


def test_legacy_records_are_kept_apart(client, world, sessions):
    ids = make_records(client, world, [datetime(2024, 1, 1, tzinfo=UTC)] * 2)
    with sessions.begin() as s:
        s.execute(update(Engagement).where(Engagement.id == ids[0]).values(legacy=True))
    with sessions.begin() as s:
        report = service.run(session=s, as_of=date(2025, 1, 1), tz=TZ, actor="t")
    assert report.restricted_legacy == 1 and restricted(sessions) == {ids[0]}


@pytest.fixture
def governed(client, world, sessions):
    """A restricted record in D14, a D14 supervisor who may ask, and an analyst holding the delegation."""
    ids = make_records(client, world, [datetime(2019, 1, 1, tzinfo=UTC)])
    set_entered(sessions, ids, [datetime(2019, 1, 1, 15, tzinfo=UTC)])
    with sessions.begin() as s:
        service.run(session=s, as_of=date(2025, 1, 1), tz=TZ, actor="t")
    world.user("sup", "supervisor", division="D14")
    # Never an administrator: user administration and the delegation are not one person's.
    world.user("chiefs-designate", "analyst")
    world.user("sup52", "supervisor", division="D52")
    with sessions.begin() as s:
        service.delegate(session=s, username="chiefs-designate", granted_by="Chief")
    return ids[0]


def who(sessions, name: str) -> Principal:
    with sessions() as s:
        return Principal.of(s.scalars(select(User).where(User.username == name)).one())


def test_restricted_read_needs_purpose_and_approval_and_is_counted(governed, sessions):
    rid = governed
    sup, approver = who(sessions, "sup"), who(sessions, "chiefs-designate")
    today = date(2025, 1, 2)
    with sessions.begin() as s, pytest.raises(RecordRefused):
        service.request_access(
            session=s,
            principal=sup,
            engagement_id=rid,
            purpose="curiosity",
            details="just looking",
            today=today,
        )
    with sessions.begin() as s:
        req = service.request_access(
            session=s,
            principal=sup,
            engagement_id=rid,
            purpose="legal_proceeding",
            details="disclosure in R. v. Example",
            today=today,
        )
        req_id = req.id
    with sessions.begin() as s, pytest.raises(Forbidden):
        service.read_restricted(session=s, principal=sup, request_id=req_id)
    with sessions.begin() as s, pytest.raises(Forbidden):
        service.decide_request(session=s, principal=sup, request_id=req_id, approve=True)
    with sessions.begin() as s:
        service.decide_request(session=s, principal=approver, request_id=req_id, approve=True)
    with sessions.begin() as s:
        engagement, person = service.read_restricted(session=s, principal=sup, request_id=req_id)
        assert engagement.id == rid and person.name == "Sam Example"
    with sessions() as s:
        reads = service.reads_in(
            session=s, start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC)
        )
        assert [(r.engagement_id, r.reader) for r in reads] == [(rid, "sup")]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "restricted.read")).one()
        assert entry.purpose == "legal_proceeding" and entry.details["approver"] == "chiefs-designate"


def test_approver_cannot_approve_own_request_and_scope_holds(governed, sessions, world):
    rid = governed
    with sessions.begin() as s, pytest.raises(NotFound):
        service.request_access(
            session=s,
            principal=who(sessions, "sup52"),
            engagement_id=rid,
            purpose="legal_proceeding",
            details="x",
            today=date(2025, 1, 2),
        )
    world.user("aud", "auditor")
    with sessions.begin() as s:
        service.delegate(session=s, username="aud", granted_by="Chief")
    with sessions.begin() as s:
        req = service.request_access(
            session=s,
            principal=who(sessions, "aud"),
            engagement_id=rid,
            purpose="legal_requirement",
            details="audit",
            today=date(2025, 1, 2),
        )
        req_id = req.id
    with sessions.begin() as s, pytest.raises(Forbidden):
        service.decide_request(session=s, principal=who(sessions, "aud"), request_id=req_id, approve=True)


def test_expired_approval_cannot_be_used(governed, sessions):
    rid = governed
    with sessions.begin() as s:
        req_id = service.request_access(
            session=s,
            principal=who(sessions, "sup"),
            engagement_id=rid,
            purpose="ongoing_investigation",
            details="case 25-1",
            today=date(2025, 1, 2),
        ).id
    with sessions.begin() as s:
        row = service.decide_request(
            session=s, principal=who(sessions, "chiefs-designate"), request_id=req_id, approve=True
        )
        row.expires_at = datetime(2020, 1, 1, tzinfo=UTC)
    with sessions.begin() as s, pytest.raises(Forbidden):
        service.read_restricted(session=s, principal=who(sessions, "sup"), request_id=req_id)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RestrictedRead)) == 0


def test_quarter_bounds():
    start, end = service.quarter_bounds("2025-q4", TZ)
    assert (start.date(), end.date()) == (date(2025, 10, 1), date(2026, 1, 1))
    with pytest.raises(RecordRefused):
        service.quarter_bounds("2025-Q5", TZ)


def test_cli_run_prints_and_is_safe_twice(client, world, sessions, settings, monkeypatch):
    from fairengage import cli
    from fairengage.config import get_settings

    moments = [datetime(2018, 3, 3, 15, 0, tzinfo=UTC)]
    ids = make_records(client, world, moments)
    set_entered(sessions, ids, moments)
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    first = runner.invoke(cli.app, ["retention", "run", "--as-of", "2025-01-01"])
    second = runner.invoke(cli.app, ["retention", "run", "--as-of", "2025-01-01"])
    bad = runner.invoke(cli.app, ["retention", "run", "--as-of", "tomorrow"])
    get_settings.cache_clear()
    assert first.exit_code == 0 and "restricted 1 past" in first.output
    assert second.exit_code == 0 and "restricted 0 past" in second.output
    assert bad.exit_code == 1 and "--as-of" in bad.output


def test_legacy_record_pages_do_not_break(client, world, sessions):
    """A legacy record was judged by no rule set; its receipt and reads use today's rules for display."""
    headers = world.officer_with_token("T10", "D14")
    body = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()
    with sessions.begin() as s:
        s.execute(update(Engagement).where(Engagement.id == body["id"]).values(
            ruleset_id="none", ruleset_version="none", legacy=True, status="legacy"))
    assert client.get(f"/r/{body['receipt']['code']}").status_code == 200
    assert client.get(f"/api/v1/engagements/{body['id']}", headers=headers).status_code == 200
