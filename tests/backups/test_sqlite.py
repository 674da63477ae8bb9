"""SQLite backups and restores: a faithful round trip, consistency under writes, and every refusal."""

from __future__ import annotations

import shutil
import sqlite3
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from backups.sample import Service, file_digest, populate, rewrite_backup, sql
from fairengage import cli
from fairengage.access import audit
from fairengage.access.models import AuditEntry
from fairengage.backups import service as backups
from fairengage.backups.service import BackupError
from fairengage.config import get_settings
from fairengage.db import engine_for, session_factory, transaction


def facts(url: str) -> backups.Facts:
    """Counts, revision and audit head of a database, read the way a backup reads them."""
    engine = backups._plain_engine(url)
    try:
        with engine.connect() as connection:
            return backups.facts_of(connection)
    finally:
        engine.dispose()


def test_round_trip_keeps_every_row_the_chain_and_a_readable_record(service: Service, tmp_path: Path):
    before = facts(service.url)
    assert before.tables["engagements"] == 5 and before.tables["persons"] == 5
    assert before.head_seq >= 7  # officer, user, token, five records, one read of a person
    made = backups.backup(database_url=service.url, out=tmp_path / "nightly.backup")
    assert made.manifest.facts == before
    assert made.warnings == []
    with tarfile.open(made.path) as tar:
        assert tar.getnames() == ["manifest.json", "database.sqlite3"]
    assert made.path.stat().st_mode & 0o077 == 0, "a backup holds personal information: owner only"

    target = f"sqlite:///{tmp_path / 'restored.db'}"
    done = backups.restore(database_url=target, backup_file=made.path)
    assert facts(target) == before
    with session_factory(backups._plain_engine(target))() as session:
        assert audit.verify(session).ok
    from fairengage.app import create_app

    with TestClient(create_app(service.settings(target))) as client:
        record = client.get(f"/api/v1/engagements/{service.ids[2]}", headers=service.headers)
    assert record.status_code == 200 and record.json()["person"]["name"] == "Sam Example"
    assert done.kept is None and done.notes == []
    engine_for(target).dispose()


def test_backup_taken_while_another_thread_writes_is_consistent(service: Service, tmp_path: Path):
    """Each backup is one snapshot: its audit head matches its last entry, and its counts its rows."""
    sessions = session_factory(engine_for(service.url))
    stop = threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                with transaction(sessions) as session:
                    entry = audit.append(
                        session,
                        actor="writer",
                        action="test.write",
                        entity="thing",
                        entity_id=str(len(written)),
                        purpose="concurrency",
                        details={"n": len(written), "padding": "x" * 2000},
                    )
                    written.append(entry["seq"])
        except BaseException as exc:  # the test must see a writer that died
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(written) < 20 and writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(written) >= 20, failures
        results = []
        for n in range(3):
            start = len(written)
            results.append(backups.backup(database_url=service.url, out=tmp_path / f"during-{n}.backup"))
            assert len(written) > start or not writer.is_alive()
    finally:
        stop.set()
        writer.join(timeout=30)
    assert not failures, failures
    assert len(written) >= 20 + len(results), "the writer kept writing while the backups ran"
    heads = [r.manifest.facts.head_seq for r in results]
    assert heads == sorted(heads) and heads[0] < heads[-1] < written[-1] + 1
    for n, result in enumerate(results):
        target = f"sqlite:///{tmp_path / f'restored-{n}.db'}"
        backups.restore(database_url=target, backup_file=result.path)
        restored = facts(target)
        assert restored.audit_ok and restored.head_seq == result.manifest.facts.head_seq
        assert restored.tables["audit_log"] == restored.head_seq


def test_edited_audit_entry_in_a_copy_is_refused_and_the_target_untouched(service: Service, tmp_path: Path):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    edit = sql("UPDATE audit_log SET details = '{\"forged\": true}' WHERE seq = 3")
    naive, careful = tmp_path / "naive.backup", tmp_path / "careful.backup"
    rewrite_backup(made.path, naive, edit, fix_checksum=False)
    rewrite_backup(made.path, careful, edit, fix_checksum=True)
    target_path = tmp_path / "target.db"
    target_path.write_bytes(b"")
    before = file_digest(target_path)
    target = f"sqlite:///{target_path}"

    with pytest.raises(BackupError, match="SHA-256"):
        backups.restore(database_url=target, backup_file=naive)
    # With the checksum recomputed to match, the hash chain still names the entry.
    with pytest.raises(BackupError, match=r"audit log does not verify: entry 3: its contents were altered"):
        backups.restore(database_url=target, backup_file=careful)
    assert file_digest(target_path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_removed_person_is_caught_by_the_counts(service: Service, tmp_path: Path):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    removed = tmp_path / "removed.backup"
    rewrite_backup(
        made.path,
        removed,
        sql(f"DELETE FROM persons WHERE engagement_id = '{service.ids[1]}'"),
        fix_checksum=True,
    )
    with pytest.raises(BackupError, match="table persons holds 4 rows; the manifest says 5"):
        backups.restore(database_url=f"sqlite:///{tmp_path / 'target.db'}", backup_file=removed)
    assert not (tmp_path / "target.db").exists()


def test_a_schema_this_release_does_not_know_is_refused(service: Service, tmp_path: Path):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    future = tmp_path / "future.backup"

    def newer(path: Path) -> None:
        sql("DELETE FROM alembic_version")(path)
        sql("INSERT INTO alembic_version VALUES ('9999')")(path)

    def claim(manifest: dict) -> None:
        manifest["alembic_revision"] = ["9999"]
        manifest["tables"]["alembic_version"] = 1

    rewrite_backup(made.path, future, newer, fix_checksum=True, claim=claim)
    with pytest.raises(BackupError, match="revision 9999, which this FairEngage does not know"):
        backups.restore(database_url=f"sqlite:///{tmp_path / 't.db'}", backup_file=future)


@pytest.mark.parametrize("keep", [0.0, 0.05, 0.5, 0.98, -1])
def test_truncated_backup_is_refused(service: Service, tmp_path: Path, keep: float):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    data = made.path.read_bytes()
    cut = tmp_path / "cut.backup"
    cut.write_bytes(data[: len(data) - 1] if keep == -1 else data[: int(len(data) * keep)])
    with pytest.raises(BackupError, match=r"damaged or truncated|is truncated"):
        backups.restore(database_url=f"sqlite:///{tmp_path / 'target.db'}", backup_file=cut)
    assert not (tmp_path / "target.db").exists()


def test_a_file_that_is_not_a_backup_is_refused(tmp_path: Path):
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        tar.add(__file__, arcname="manifest.json")
    with pytest.raises(BackupError, match="its manifest is unreadable"):
        backups.restore(database_url=f"sqlite:///{tmp_path / 't.db'}", backup_file=other)


def test_non_empty_target_needs_force_and_then_keeps_what_it_replaced(service: Service, tmp_path: Path):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    # The live database moves on after the backup: one more record.
    later = populate(service.url, records=1, badge="T701")
    after = facts(service.url)
    service.release()
    before_bytes = file_digest(service.path)
    with pytest.raises(BackupError, match=r"already holds records .*give --force"):
        backups.restore(database_url=service.url, backup_file=made.path)
    assert file_digest(service.path) == before_bytes

    done = backups.restore(database_url=service.url, backup_file=made.path, force=True)
    assert facts(service.url) == made.manifest.facts
    assert done.kept is not None and done.kept.parent == tmp_path
    # What was replaced is itself a verified backup, with the record made after the first one.
    back = f"sqlite:///{tmp_path / 'replaced.db'}"
    backups.restore(database_url=back, backup_file=done.kept)
    assert facts(back) == after and later.ids[0] not in service.ids
    assert not list(tmp_path.glob("live.db-*")), "no stale -wal or -shm beside the restored file"


@pytest.mark.parametrize("content", [b"not a database at all" * 100, None])
def test_force_over_something_that_cannot_be_kept_replaces_nothing(
    service: Service, tmp_path: Path, content: bytes | None
):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    target = tmp_path / "other.db"
    if content is None:  # a SQLite database, but someone else's
        sql("CREATE TABLE ledger (amount INTEGER)")(target)
        sql("INSERT INTO ledger VALUES (42)")(target)
    else:
        target.write_bytes(content)
    before = file_digest(target)
    with pytest.raises(BackupError, match=r"nothing was replaced: .*move it aside yourself"):
        backups.restore(database_url=f"sqlite:///{target}", backup_file=made.path, force=True)
    assert file_digest(target) == before


def test_a_stale_write_ahead_log_is_not_replayed_into_the_restored_file(service: Service, tmp_path: Path):
    """A -wal left by a crashed process beside a deleted database must not be applied to the new file."""
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    service.release()
    other = tmp_path / "other.db"
    other.write_bytes(service.path.read_bytes())
    crashed = sqlite3.connect(other, isolation_level=None)
    crashed.execute("PRAGMA journal_mode=WAL")
    crashed.execute("PRAGMA wal_autocheckpoint=0")
    crashed.execute("DELETE FROM persons")
    target = tmp_path / "restored.db"
    shutil.copyfile(tmp_path / "other.db-wal", tmp_path / "restored.db-wal")
    crashed.close()
    backups.restore(database_url=f"sqlite:///{target}", backup_file=made.path)
    # Opened as the service opens it (write-ahead logging on), it holds exactly what was backed up.
    with engine_for(f"sqlite:///{target}").connect() as connection:
        assert backups.facts_of(connection) == made.manifest.facts
    engine_for(f"sqlite:///{target}").dispose()


def test_a_database_in_use_is_not_replaced(service: Service, tmp_path: Path):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    populate(service.url, records=1, badge="T702")  # leaves the service's pooled connection open
    with engine_for(service.url).connect() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM engagements").scalar()
        with pytest.raises(BackupError, match="in use: stop the service"):
            backups.restore(database_url=service.url, backup_file=made.path, force=True)
    assert facts(service.url).tables["engagements"] == 6
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_a_freshly_migrated_database_needs_no_force(
    service: Service, empty_sqlite: Callable[[str], str], tmp_path: Path
):
    made = backups.backup(database_url=service.url, out=tmp_path / "b.backup")
    fresh = empty_sqlite("fresh.db")
    backups.restore(database_url=fresh, backup_file=made.path)
    assert facts(fresh) == made.manifest.facts


def test_backup_never_overwrites_a_file(service: Service, tmp_path: Path):
    existing = tmp_path / "b.backup"
    existing.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupError, match="already exists"):
        backups.backup(database_url=service.url, out=existing)
    assert existing.read_bytes() == b"yesterday's backup"


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_a_broken_chain_is_backed_up_as_found_but_not_restored(
    service: Service, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
):
    with transaction(session_factory(engine_for(service.url))) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="someone-else"))
    made = backups.backup(database_url=service.url, out=tmp_path / "evidence.backup")
    assert made.path.exists() and "entry 2" in made.warnings[0]
    with pytest.raises(BackupError, match="did not verify when taken"):
        backups.restore(database_url=f"sqlite:///{tmp_path / 't.db'}", backup_file=made.path)
    # From cron: the file is written, and the exit status says something is wrong.
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", service.url)
    flagged = runner.invoke(cli.app, ["backup", "--out", str(tmp_path / "cron.backup")])
    assert flagged.exit_code == 1 and "error: the audit log does not verify (entry 2" in flagged.output
    assert (tmp_path / "cron.backup").exists()


def test_cli_prints_counts_and_head_and_refuses_in_one_line(
    service: Service, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", service.url)
    out = tmp_path / "cli.backup"
    made = runner.invoke(cli.app, ["backup", "--out", str(out)])
    assert made.exit_code == 0, made.output
    head = backups.read_archive(out, tmp_path)[0].facts
    assert f"head entry {head.head_seq}, digest {head.head_digest}" in made.output
    assert any(line.split() == ["persons", "5"] for line in made.output.splitlines())

    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    done = runner.invoke(cli.app, ["restore", str(out)])
    assert done.exit_code == 0, done.output
    assert "audit chain" in done.output and head.head_digest in done.output

    cut = tmp_path / "cut.backup"
    cut.write_bytes(out.read_bytes()[:-100])
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    get_settings.cache_clear()
    refused = runner.invoke(cli.app, ["restore", str(cut)])
    assert refused.exit_code == 1
    assert refused.output.startswith("error: ") and len(refused.output.strip().splitlines()) == 1
    assert not (tmp_path / "other.db").exists()


def test_journalled_audit_entries_are_sealed_into_the_backup(settings, sessions, tmp_path):
    from sqlalchemy import func, select

    from fairengage.access import audit
    from fairengage.access.models import AuditPending
    from fairengage.backups import service as backups
    from fairengage.db import transaction

    with transaction(sessions) as s:
        audit.journal(
            s, actor="o", action="engagement.create", entity="engagement", entity_id="e1", purpose="p"
        )
    backups.seal_journal(settings.database_url)
    result = backups.backup(database_url=settings.database_url, out=tmp_path / "b.tar.gz")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditPending)) == 0
        head = audit.verify(s)
    assert head.ok and head.checked >= 1
    assert result.manifest.facts.head_seq == head.checked
