"""Supervisor review: deadlines at the boundary, decisions, immediate restriction, corrections as versions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from builders import valid_body
from fairengage.access.models import AuditEntry
from fairengage.access.principal import Principal
from fairengage.engagements.models import Engagement
from fairengage.engagements.schemas import EngagementIn
from fairengage.errors import Conflict, Forbidden, NotFound, RecordRefused
from fairengage.retention.models import Restriction
from fairengage.review import service
from fairengage.review.deadlines import due_on, is_overdue

TORONTO = ZoneInfo("America/Toronto")


def principal_of(sessions, username: str) -> Principal:
    from fairengage.access.models import User

    with sessions() as s:
        return Principal.of(s.scalars(select(User).where(User.username == username)).one())


@pytest.fixture
def team(world, client):
    """An officer with two records in D14, a trained reviewer of D14, and one of D52."""
    headers = world.officer_with_token("T1", "D14")
    world.officer("S1", "D14", trained_on=date(2025, 6, 1), name="Sgt One")
    world.user("sup14", "supervisor", badge="S1")
    world.officer("S2", "D52", trained_on=date(2025, 6, 1), name="Sgt Two")
    world.user("sup52", "supervisor", badge="S2")
    ids = [
        client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["id"] for _ in range(3)
    ]
    return headers, ids


def test_due_date_is_thirty_local_days_after_entry():
    entered = datetime(2025, 3, 1, 23, 30, tzinfo=TORONTO)  # 04:30 UTC on 2 March
    due = due_on(entered.astimezone(UTC), "on-reg-400-23", TORONTO)
    assert due == date(2025, 3, 31)
    assert not is_overdue(due, date(2025, 3, 31))  # day 30: still on time
    assert is_overdue(due, date(2025, 4, 1))  # day 31: overdue


def test_due_date_across_daylight_saving_change():
    entered = datetime(2025, 3, 9, 1, 30, tzinfo=TORONTO)  # the night clocks go forward
    assert due_on(entered.astimezone(UTC), "on-reg-400-23", TORONTO) == date(2025, 4, 8)


def test_queue_sorted_by_due_and_escalation_at_the_boundary(team, sessions, settings):
    _, ids = team
    with sessions.begin() as s:
        for rid, day in zip(
            ids,
            (
                datetime(2025, 5, 10, 12, tzinfo=UTC),
                datetime(2025, 5, 1, 12, tzinfo=UTC),
                datetime(2025, 5, 20, 12, tzinfo=UTC),
            ),
            strict=True,
        ):
            s.execute(update(Engagement).where(Engagement.id == rid).values(entered_at=day))
    sup = principal_of(sessions, "sup14")
    other = principal_of(sessions, "sup52")
    with sessions() as s:
        items, total = service.queue(session=s, principal=sup, settings=settings, today=date(2025, 6, 1))
        assert total == 3
        assert [i.engagement.id for i in items] == [ids[1], ids[0], ids[2]]
        assert [i.due for i in items] == [date(2025, 5, 31), date(2025, 6, 9), date(2025, 6, 19)]
        overdue = service.escalations(session=s, principal=sup, settings=settings, today=date(2025, 5, 31))
        assert overdue == []
        overdue = service.escalations(session=s, principal=sup, settings=settings, today=date(2025, 6, 1))
        assert [i.engagement.id for i in overdue] == [ids[1]]
        assert service.queue(session=s, principal=other, settings=settings, today=date(2025, 6, 1))[1] == 0


def test_approve_return_and_non_compliant(team, sessions, client):
    headers, ids = team
    sup = principal_of(sessions, "sup14")
    today = date(2026, 1, 5)
    with sessions.begin() as s:
        service.decide(
            session=s, principal=sup, engagement_id=ids[0], decision="approved", reason="", today=today
        )
        with pytest.raises(RecordRefused):
            service.decide(
                session=s, principal=sup, engagement_id=ids[1], decision="returned", reason=" ", today=today
            )
        service.decide(
            session=s,
            principal=sup,
            engagement_id=ids[1],
            decision="returned",
            reason="the reason is too vague",
            today=today,
        )
        service.decide(
            session=s,
            principal=sup,
            engagement_id=ids[2],
            decision="non_compliant",
            reason="receipt not offered",
            today=today,
        )
    with sessions() as s:
        statuses = {e.id: (e.status, e.restricted) for e in s.scalars(select(Engagement))}
        assert statuses[ids[0]] == ("approved", False)
        assert statuses[ids[1]] == ("returned", False)
        # RESTRICT-NONCOMPLIANT: restricted at once.
        assert statuses[ids[2]] == ("non_compliant", True)
        assert s.get(Restriction, ids[2]).reason == "non_compliant"
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.entity_id == ids[2]))]
        assert "review.non_compliant" in actions and "engagement.restrict" in actions
    # The restricted record has left every ordinary list and lookup.
    assert client.get(f"/api/v1/engagements/{ids[2]}", headers=headers).status_code == 404
    listed = {i["id"] for i in client.get("/api/v1/engagements", headers=headers).json()["items"]}
    assert ids[2] not in listed and ids[0] in listed
    with sessions.begin() as s, pytest.raises(Conflict):
        service.decide(
            session=s, principal=sup, engagement_id=ids[0], decision="approved", reason="", today=today
        )


def test_reviewer_needs_training_in_date(team, sessions, world):
    _, ids = team
    world.officer("S3", "D14", trained_on=date(2020, 1, 1))
    world.user("stale", "supervisor", badge="S3")
    stale = principal_of(sessions, "stale")
    with sessions.begin() as s, pytest.raises(RecordRefused) as exc:
        service.decide(
            session=s,
            principal=stale,
            engagement_id=ids[0],
            decision="approved",
            reason="",
            today=date(2026, 1, 5),
        )
    assert exc.value.errors[0].rule == "TRAINING-36M"


def test_other_division_and_other_roles_cannot_decide(team, sessions, world):
    _, ids = team
    with sessions.begin() as s, pytest.raises(NotFound):
        service.decide(
            session=s,
            principal=principal_of(sessions, "sup52"),
            engagement_id=ids[0],
            decision="approved",
            reason="",
            today=date(2026, 1, 5),
        )
    world.user("aud", "auditor")
    with sessions.begin() as s, pytest.raises(Forbidden):
        service.decide(
            session=s,
            principal=principal_of(sessions, "aud"),
            engagement_id=ids[0],
            decision="approved",
            reason="",
            today=date(2026, 1, 5),
        )


def test_correction_is_a_new_version_and_history_is_kept(team, sessions, settings):
    _, ids = team
    sup = principal_of(sessions, "sup14")
    officer = principal_of(sessions, "uT1")
    with sessions.begin() as s:
        service.decide(
            session=s,
            principal=sup,
            engagement_id=ids[0],
            decision="returned",
            reason="say more about what you saw",
            today=date(2026, 1, 5),
        )
    better = "He tried the handles of six parked cars in a row and looked into each with a flashlight."
    draft = EngagementIn.model_validate(valid_body(reason=better))
    with sessions.begin() as s:
        service.correct(session=s, principal=officer, engagement_id=ids[0], draft=draft, settings=settings)
    with sessions() as s:
        e = s.get(Engagement, ids[0])
        assert e.status == "pending_review" and e.reason == better
        versions, decisions = service.history(session=s, engagement_id=ids[0])
        assert [v.version for v in versions] == [1]
        assert versions[0].facts["reason"] != better and versions[0].facts["reason"].startswith("Person was")
        assert [d.decision for d in decisions] == ["returned"]
        assert service.current_version(session=s, engagement_id=ids[0]) == 2
    with sessions.begin() as s, pytest.raises(Conflict):
        service.correct(session=s, principal=officer, engagement_id=ids[0], draft=draft, settings=settings)


def test_a_correction_still_obeys_refusing_rules(team, sessions, settings):
    _, ids = team
    with sessions.begin() as s:
        service.decide(
            session=s,
            principal=principal_of(sessions, "sup14"),
            engagement_id=ids[0],
            decision="returned",
            reason="fix it",
            today=date(2026, 1, 5),
        )
    body = valid_body()
    del body["informed"]
    with sessions.begin() as s, pytest.raises(RecordRefused):
        service.correct(
            session=s,
            principal=principal_of(sessions, "uT1"),
            engagement_id=ids[0],
            draft=EngagementIn.model_validate(body),
            settings=settings,
        )
    with sessions() as s:
        assert s.get(Engagement, ids[0]).status == "returned"


def test_sample_is_reproducible(team, sessions, client, world):
    headers, _ = team
    for _ in range(12):
        client.post(
            "/api/v1/engagements", json=valid_body(occurred_at="2025-04-05T10:00:00-04:00"), headers=headers
        )
    with sessions.begin() as s:
        _, first = service.draw_sample(session=s, year=2025, size=5, seed=42, actor="t", tz="America/Toronto")
    with sessions.begin() as s:
        _, again = service.draw_sample(session=s, year=2025, size=5, seed=42, actor="t", tz="America/Toronto")
    with sessions.begin() as s:
        _, other = service.draw_sample(session=s, year=2025, size=5, seed=7, actor="t", tz="America/Toronto")
    with sessions.begin() as s:
        _, everything = service.draw_sample(
            session=s, year=2025, size=99, seed=1, actor="t", tz="America/Toronto"
        )
    assert first == again and first != other
    assert len(first) == 5 and len(everything) == 12
    assert service.sample_ids(sorted(everything), 5, 42) == first


def test_sample_ids_known_answer():
    ids = [f"id{i:02d}" for i in range(20)]
    import numpy as np

    expected = [ids[i] for i in sorted(np.random.default_rng(7).choice(20, size=4, replace=False))]
    assert service.sample_ids(ids, 4, 7) == expected
