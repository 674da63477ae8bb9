"""Journalled audit entries: they land with their change, and sealing chains them in commit order."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from fairengage.access import audit
from fairengage.access.models import AuditEntry, AuditPending
from fairengage.db import transaction


def _journal(sessions, n: int, actor: str = "officer") -> None:
    for i in range(n):
        with transaction(sessions) as s:
            audit.journal(
                s,
                actor=actor,
                action="engagement.create",
                entity="engagement",
                entity_id=f"e{i}",
                purpose="p",
            )


def _count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_journalled_entry_lands_only_with_its_change(sessions):
    with pytest.raises(RuntimeError), transaction(sessions) as s:
        audit.journal(
            s, actor="a", action="engagement.create", entity="engagement", entity_id="x", purpose="p"
        )
        raise RuntimeError("the change failed")
    assert _count(sessions, AuditPending) == 0


def test_sealing_chains_journalled_entries_between_appended_ones(sessions):
    with transaction(sessions) as s:
        audit.append(
            s, actor="admin", action="user.add", entity="user", entity_id="u", purpose="administration"
        )
    _journal(sessions, 5)
    with transaction(sessions) as s:
        # An entry appended while others wait in the journal takes the next place in the chain.
        audit.append(
            s, actor="admin", action="user.role", entity="user", entity_id="u", purpose="administration"
        )
    assert audit.seal_all(sessions) == 5
    assert _count(sessions, AuditPending) == 0
    with sessions() as s:
        report = audit.verify(s)
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert report.ok and report.checked == 7
    assert actions == ["user.add", "user.role"] + ["engagement.create"] * 5
    assert audit.seal_all(sessions) == 0


def test_sealing_in_batches_keeps_the_journal_order(sessions, monkeypatch):
    monkeypatch.setattr(audit, "SEAL_BATCH", 4)
    _journal(sessions, 10)
    assert audit.seal_all(sessions) == 10
    with sessions() as s:
        assert audit.verify(s).ok
        ids = list(s.scalars(select(AuditEntry.entity_id).order_by(AuditEntry.seq)))
    assert ids == [f"e{i}" for i in range(10)]


def test_an_entry_altered_after_sealing_is_caught(sessions):
    _journal(sessions, 3)
    audit.seal_all(sessions)
    with transaction(sessions) as s:
        s.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one().actor = "someone else"
    with sessions() as s:
        report = audit.verify(s)
    assert not report.ok and report.first_bad_seq == 2


def test_sealers_running_at_once_seal_each_entry_once(sessions):
    _journal(sessions, 60)
    errors: list[BaseException] = []

    def sealer() -> None:
        try:
            audit.seal_all(sessions)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sealer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(sessions, AuditEntry) == 60 and _count(sessions, AuditPending) == 0
    with sessions() as s:
        assert audit.verify(s).ok


def test_the_running_app_seals_the_journal_by_itself(app, world, sessions):
    from fastapi.testclient import TestClient

    from builders import valid_body

    app.state.settings.audit_seal_interval = 0.05
    with TestClient(app) as client:
        headers = world.officer_with_token("J100")
        assert client.post("/api/v1/engagements", json=valid_body(), headers=headers).status_code == 201
        import time

        deadline = time.monotonic() + 10
        while _count(sessions, AuditPending) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _count(sessions, AuditPending) == 0
    with sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "engagement.create")).one()
        assert audit.verify(s).ok
