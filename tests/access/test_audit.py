"""The audit log's hash chain: intact, altered, removed, inserted."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from builders import valid_body
from fairengage.access import audit
from fairengage.access.models import AuditEntry, AuditHead
from fairengage.db import transaction


def fill(sessions, n: int = 5) -> None:
    with transaction(sessions) as s:
        for i in range(n):
            audit.append(
                s,
                actor="tester",
                action="test.write",
                entity="thing",
                entity_id=str(i),
                purpose="testing",
                details={"i": i, "note": "é"},
            )


def test_intact_chain_verifies(sessions):
    fill(sessions)
    with sessions() as s:
        report = audit.verify(s)
    assert report.ok and report.checked == 5


def test_altered_entry_is_named(sessions):
    fill(sessions)
    with transaction(sessions) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(purpose="something else"))
    with sessions() as s:
        report = audit.verify(s)
    assert not report.ok and report.first_bad_seq == 3 and "altered" in report.problem


def test_altered_details_or_time_is_caught(sessions):
    fill(sessions)
    with transaction(sessions) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(details={"i": 99}))
    with sessions() as s:
        assert audit.verify(s).first_bad_seq == 2


def test_removed_middle_entry_is_named(sessions):
    fill(sessions)
    with transaction(sessions) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    with sessions() as s:
        report = audit.verify(s)
    assert not report.ok and report.first_bad_seq == 2 and "missing" in report.problem


def test_removed_last_entry_is_caught_by_the_head(sessions):
    fill(sessions)
    with transaction(sessions) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
    with sessions() as s:
        report = audit.verify(s)
    assert not report.ok and report.first_bad_seq == 5


def test_rewritten_chain_without_head_is_caught(sessions):
    """Someone who recomputes every digest after an edit still has to move the head."""
    fill(sessions)
    with transaction(sessions) as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        rows[1].purpose = "forged"
        prev = audit.GENESIS
        for row in rows:
            row.prev_digest = prev
            row.digest = audit.entry_digest(prev, row)
            prev = row.digest
    with sessions() as s:
        assert not audit.verify(s).ok
        head = s.get(AuditHead, 1)
        assert head.digest != prev


def test_cli_verify_exit_codes(sessions, settings, monkeypatch, client, world):
    from fairengage import cli
    from fairengage.config import get_settings

    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    headers = world.officer_with_token("T900")
    assert client.post("/api/v1/engagements", json=valid_body(), headers=headers).status_code == 201
    runner = CliRunner()
    ok = runner.invoke(cli.app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    with transaction(sessions) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="someone-else"))
    bad = runner.invoke(cli.app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "entry 2" in bad.output
    get_settings.cache_clear()


def test_refused_record_writes_no_audit_entry(client, world, sessions):
    headers = world.officer_with_token("T901")
    with sessions() as s:
        before = s.get(AuditHead, 1).seq
    body = valid_body()
    del body["informed"]
    assert client.post("/api/v1/engagements", json=body, headers=headers).status_code == 422
    with sessions() as s:
        assert s.get(AuditHead, 1).seq == before
