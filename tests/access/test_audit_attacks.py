"""Attacks on the audit log by someone who controls the database, each caught against a checkpoint.

The attacker here is as strong as a database administrator: they rewrite entries and then redo the
hash chain, the Merkle tree and the head exactly as the service would (`rewrite`). Only the signed
checkpoint, kept outside the database, and the journal's MAC key, derived from the secret key, are
out of their reach. Every attack goes through the real `fairengage audit verify --checkpoint FILE`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from fairengage.access import audit, transparency
from fairengage.access.models import AuditEntry, AuditHead, AuditPending, AuditTreeNode
from fairengage.db import transaction

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def history() -> list[dict[str, Any]]:
    """A small day of work: records made, identities read, a restricted read approved."""
    out = []
    for i in range(12):
        kind = i % 3
        if kind == 0:
            out.append(dict(actor=f"officer{i}", action="engagement.create", entity="engagement",
                            entity_id=f"e{i}", purpose="recording", details={"division": "D14"}))
        elif kind == 1:
            out.append(dict(actor="analyst1", action="engagement.read_identity", entity="engagement",
                            entity_id=f"e{i - 1}", purpose="complaint investigation", details={}))
        else:
            out.append(dict(actor="chief", action="restricted.approve", entity="restricted_request",
                            entity_id=f"r{i}", purpose="oversight",
                            details={"approver": "chief", "requester": "analyst1"}))
    for i, record in enumerate(out):
        record["at"] = START + timedelta(minutes=i)
    return out


def write(sessions, records: list[dict[str, Any]]) -> None:
    """Append entries as the service does."""
    with transaction(sessions) as s:
        for record in records:
            audit.append(s, **record)


def rewrite(sessions, records: list[dict[str, Any]]) -> None:
    """The attacker's rewrite: empty the log, its tree and its head, and write `records` afresh."""
    engine = sessions.kw["bind"]
    saved = audit._GUARDS.get(engine)
    # The attacker's own process knows no checkpoint folder: no floor stops them.
    audit.set_guard(engine, audit.Guard(saved.mac_key if saved else b""))
    try:
        with transaction(sessions) as s:
            for table in (AuditEntry, AuditTreeNode, AuditHead):
                s.execute(delete(table))
        write(sessions, records)
    finally:
        if saved is not None:
            audit.set_guard(engine, saved)


@pytest.fixture
def checkpointed(sessions, signing, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The history written and a checkpoint of it kept in a file outside the database."""
    records = history()
    write(sessions, records)
    kept = tmp_path / "kept.checkpoint"
    result = signing.cli("audit", "checkpoint", "--out", str(kept))
    assert result.exit_code == 0, result.output
    assert signing.cli("audit", "verify", "--checkpoint", str(kept)).exit_code == 0
    return records, kept


def refused(signing, kept: Path, *expected: str) -> str:
    """Run `audit verify --checkpoint`; it must fail and say each expected phrase."""
    result = signing.cli("audit", "verify", "--checkpoint", str(kept))
    assert result.exit_code == 1, result.output
    for phrase in expected:
        assert phrase in result.output, result.output
    return result.output


def test_a_log_that_grew_still_extends_the_checkpoint(sessions, signing, checkpointed):
    _records, kept = checkpointed
    write(sessions, history())
    result = signing.cli("audit", "verify", "--checkpoint", str(kept))
    assert result.exit_code == 0, result.output
    assert "24 entries" in result.output


def test_truncation_with_the_head_moved_back(sessions, signing, checkpointed):
    _records, kept = checkpointed
    with transaction(sessions) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq > 9))
        ninth = s.get(AuditEntry, 9)
        s.execute(update(AuditHead).values(seq=9, digest=ninth.digest))
    refused(signing, kept, "the log has 9 entries but checkpoint", "covers 12")


def test_truncation_with_chain_and_tree_redone(sessions, signing, checkpointed):
    records, kept = checkpointed
    rewrite(sessions, records[:-3])
    refused(signing, kept, "the log has 9 entries but checkpoint", "covers 12")


def test_reads_of_personal_information_deleted_and_the_chain_recomputed(sessions, signing, checkpointed):
    records, kept = checkpointed
    rewrite(sessions, [r for r in records if r["action"] != "engagement.read_identity"])
    refused(signing, kept, "the log has 8 entries but checkpoint")


def test_an_approver_changed_and_the_chain_recomputed(sessions, signing, checkpointed):
    records, kept = checkpointed
    forged = [dict(r) for r in records]
    forged[2] = {**forged[2], "details": {"approver": "deputy", "requester": "analyst1"}}
    rewrite(sessions, forged)
    with sessions() as s:
        assert audit.verify(s).ok  # the chain alone cannot tell
    refused(signing, kept, "root at size 12", "rewritten")


@pytest.mark.parametrize("keep_head", [True, False])
def test_the_log_emptied(sessions, signing, checkpointed, keep_head):
    _records, kept = checkpointed
    with transaction(sessions) as s:
        s.execute(delete(AuditEntry))
        s.execute(delete(AuditTreeNode))
        if not keep_head:
            s.execute(delete(AuditHead))
    refused(signing, kept, "the log is empty but checkpoint", "wiped")


def test_a_fork_history_rewritten_then_grown_past_the_checkpoint(sessions, signing, checkpointed):
    records, kept = checkpointed
    forged = [dict(r) for r in records]
    forged[0] = {**forged[0], "entity_id": "e-other"}
    rewrite(sessions, forged + history())
    refused(signing, kept, "root at size 12")


def test_a_reordered_log(sessions, signing, checkpointed):
    records, kept = checkpointed
    swapped = list(records)
    swapped[3], swapped[4] = swapped[4], swapped[3]
    rewrite(sessions, swapped)
    refused(signing, kept, "root at size 12")


def test_a_checkpoint_altered_after_signing(sessions, signing, checkpointed):
    _records, kept = checkpointed
    lines = kept.read_text(encoding="utf-8").split("\n")
    lines[1] = "9"  # claim a smaller tree, so that a truncated log would pass
    kept.write_text("\n".join(lines), encoding="utf-8")
    refused(signing, kept, "bad signature")


def test_a_checkpoint_signed_by_another_key(sessions, signing, checkpointed, tmp_path):
    _records, kept = checkpointed
    other = transparency.Signer(signing.signer.name, transparency.keygen(tmp_path / "other.pem"))
    with sessions() as s:
        _, note = transparency.current_checkpoint(s, other)
    kept.write_text(note, encoding="utf-8")
    refused(signing, kept, "unknown key")


def test_plain_verify_checks_the_folder_too(sessions, signing, checkpointed):
    records, _kept = checkpointed
    rewrite(sessions, records[:5])
    result = signing.cli("audit", "verify")
    assert result.exit_code == 1
    assert "the log has 5 entries but checkpoint" in result.output and str(signing.folder) in result.output


def test_the_head_never_moves_behind_the_folder(sessions, signing, checkpointed):
    records, _kept = checkpointed
    rewrite(sessions, records[:5])
    with pytest.raises(audit.AuditRolledBack, match="5 entries but a published checkpoint covers 12"):
        write(sessions, records[:1])
    result = signing.cli("audit", "checkpoint")
    assert result.exit_code == 1 and "covers 12" in result.output
    with sessions() as s:
        assert s.get(AuditHead, 1).seq == 5


def forge_pending(sessions, mac: str | None) -> None:
    with transaction(sessions) as s:
        s.execute(insert(AuditPending).values(
            at=START, actor="officer9", action="engagement.create", entity="engagement",
            entity_id="ghost", purpose="recording", details={"division": "D14"}, mac=mac,
        ))


@pytest.mark.parametrize("mac", [None, "0" * 64])
def test_a_forged_journal_row_is_refused_and_reported(sessions, signing, checkpointed, mac):
    _records, kept = checkpointed
    with transaction(sessions) as s:
        audit.journal(s, actor="officer1", action="engagement.create", entity="engagement",
                      entity_id="real", purpose="recording")
    forge_pending(sessions, mac)
    result = signing.cli("audit", "verify", "--checkpoint", str(kept))
    assert "entry 14 records a journalled row that the service did not write" in result.output
    with sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.seq > 12).order_by(AuditEntry.seq)).all()
        assert s.scalar(select(AuditPending.id)) is None
    assert [(e.action, e.entity_id) for e in entries] == [
        ("engagement.create", "real"),
        (audit.FORGERY_ACTION, entries[1].entity_id),
    ]
    forged = entries[1].details
    assert forged["entity_id"] == "ghost" and forged["actor"] == "officer9" and forged["mac"] == mac
    # Nothing claims the ghost record was created.
    with sessions() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.entity_id == "ghost")) is None


def test_a_journal_row_copied_with_another_rows_mac_is_refused(sessions, signing):
    with transaction(sessions) as s:
        audit.journal(s, actor="officer1", action="engagement.create", entity="engagement",
                      entity_id="real", purpose="recording")
    with sessions() as s:
        real = s.scalars(select(AuditPending)).one()
    forge_pending(sessions, real.mac)
    assert audit.seal_all(sessions) == 2
    with sessions() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions == ["engagement.create", audit.FORGERY_ACTION]
