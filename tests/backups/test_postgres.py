"""PostgreSQL backups with pg_dump and restores with pg_restore, checked by counts and the audit chain."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from backups.sample import Service, populate, rewrite_backup
from components import create_postgres_database, drop_postgres_database, missing, postgres_server_url
from fairengage import migrate
from fairengage.backups import service as backups
from fairengage.backups.service import BackupError


def facts(url: str) -> backups.Facts:
    """Counts, revision and audit head of a database, read the way a backup reads them."""
    engine = backups._plain_engine(url)
    try:
        with engine.connect() as connection:
            return backups.facts_of(connection)
    finally:
        engine.dispose()


@pytest.fixture
def server() -> str:
    """A reachable PostgreSQL server with its client programs, or a skip (a failure in CI)."""
    url = postgres_server_url()
    if url is None:
        missing("PostgreSQL", "set FAIRENGAGE_TEST_POSTGRES_URL or run a server on 127.0.0.1:5432")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        missing("pg_dump and pg_restore", "install the PostgreSQL client programs (postgresql-client)")
    return url  # type: ignore[return-value]


@pytest.fixture
def databases(server: str) -> Iterator[list[str]]:
    """Databases made for one test on the server, dropped after it."""
    made: list[str] = []
    yield made
    for url in made:
        drop_postgres_database(server, url)


@pytest.fixture
def pg_service(server: str, databases: list[str]) -> Service:
    """A migrated PostgreSQL database with engagements, persons and audit entries."""
    url = create_postgres_database(server)
    databases.append(url)
    migrate.upgrade(url)
    return populate(url)


@pytest.mark.slow  # A real PostgreSQL database dumped and restored by pg_dump and psql.
def test_round_trip_into_a_fresh_database(
    pg_service: Service, server: str, databases: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    calls: list[tuple[list[str], dict[str, str]]] = []
    run = subprocess.run

    def spy(command, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((list(command), kwargs.get("env") or {}))
        return run(command, **kwargs)

    monkeypatch.setattr(backups.subprocess, "run", spy)
    before = facts(pg_service.url)
    made = backups.backup(database_url=pg_service.url, out=tmp_path / "pg.backup")
    assert made.manifest.engine == "postgresql" and made.manifest.facts == before
    assert before.tables["persons"] == 5 and before.audit_ok

    fresh = create_postgres_database(server)  # empty: no schema at all
    databases.append(fresh)
    done = backups.restore(database_url=fresh, backup_file=made.path)
    assert facts(fresh) == before and done.kept is None
    from fairengage.app import create_app

    with TestClient(create_app(pg_service.settings(fresh))) as client:
        record = client.get(f"/api/v1/engagements/{pg_service.ids[3]}", headers=pg_service.headers)
    assert record.status_code == 200 and record.json()["person"]["name"] == "Sam Example"

    # pg_dump, pg_restore --list, pg_restore; the database is named through libpq's environment.
    assert [Path(command[0]).name for command, _ in calls] == ["pg_dump", "pg_restore", "pg_restore"]
    for command, _env in calls:
        assert not any("postgresql:" in part or "@" in part for part in command), command
    assert calls[0][1]["PGDATABASE"] == make_url(pg_service.url).database


@pytest.mark.slow  # A real PostgreSQL database dumped and restored by pg_dump and psql.
def test_non_empty_target_and_altered_dump_are_refused(pg_service: Service, tmp_path: Path):
    made = backups.backup(database_url=pg_service.url, out=tmp_path / "pg.backup")
    populate(pg_service.url, records=1, badge="T703")
    after = facts(pg_service.url)
    with pytest.raises(BackupError, match="already holds records"):
        backups.restore(database_url=pg_service.url, backup_file=made.path)

    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))

    altered = tmp_path / "altered.backup"
    rewrite_backup(made.path, altered, flip, fix_checksum=False)
    with pytest.raises(BackupError, match="SHA-256"):
        backups.restore(database_url=pg_service.url, backup_file=altered, force=True)
    assert facts(pg_service.url) == after, "a refused backup leaves the database as it was"

    done = backups.restore(database_url=pg_service.url, backup_file=made.path, force=True)
    assert facts(pg_service.url) == made.manifest.facts
    assert done.kept is not None and backups.read_archive(done.kept, tmp_path)[0].facts == after


@pytest.mark.slow  # A real PostgreSQL database dumped and restored by pg_dump and psql.
def test_sqlite_backup_is_not_restored_into_postgres(
    pg_service: Service, empty_sqlite: Callable[[str], str], tmp_path: Path
):
    lite = populate(empty_sqlite("lite.db"), badge="T704")
    made = backups.backup(database_url=lite.url, out=tmp_path / "lite.backup")
    lite.release()
    with pytest.raises(BackupError, match="is a sqlite backup; the database here is postgresql"):
        backups.restore(database_url=pg_service.url, backup_file=made.path, force=True)


def test_missing_pg_dump_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump was not found on PATH"):
        backups.backup(database_url="postgresql://fe@127.0.0.1:1/nowhere", out=tmp_path / "x.backup")
    assert not (tmp_path / "x.backup").exists()


def test_connection_details_travel_in_libpq_variables():
    url = make_url("postgresql+psycopg://fe:s%40cret@db.example:6432/fairengage?sslmode=verify-full")
    env = backups._libpq_env(url)
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.example",
        "6432",
        "fe",
        "fairengage",
    )
    assert env["PGPASSWORD"] == "s@cret" and env["PGSSLMODE"] == "verify-full"
    with pytest.raises(BackupError, match="'weird' cannot be passed on to pg_dump"):
        backups._libpq_env(make_url("postgresql://fe@db/fairengage?weird=1"))
