"""Backups that lose nothing, and restores that check every claim a backup makes before trusting it.

A backup is one tar file: `manifest.json` first, then the database. On SQLite the database is a copy
made with SQLite's online backup API, one consistent snapshot even while the service writes; on
PostgreSQL it is a `pg_dump --format=custom` archive taken in the very snapshot the manifest was counted
in. The manifest records the format version, when, the Alembic revision, the rows of every table, the
audit log's head and whether its chain verified, and the SHA-256 of the database bytes.

A restore reads the whole file and checks the checksum, the schema revision, SQLite's integrity check,
every table's count and the audit chain before it goes near the target; on SQLite it then swaps the
verified copy in with one atomic rename. PostgreSQL can only be checked once loaded, so there the
checksum and archive are checked first, pg_restore loads everything in one transaction, and the counts
and chain are checked in the result. A non-empty target is replaced only with `force`, and then only
after a backup of it has been written beside the file being restored.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess  # nosec B404 # runs pg_dump and pg_restore with argument lists, never a shell
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import fairengage
from fairengage import migrate
from fairengage.access import audit
from fairengage.access.models import AuditHead
from fairengage.db import engine_for, normalise_url, session_factory

FORMAT = "fairengage-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
MEMBERS = {"sqlite": SQLITE_MEMBER, "postgresql": POSTGRES_MEMBER}
MAX_MANIFEST_BYTES = 1 << 20
# Tables that migrations fill with reference data: a database holding rows only here is still empty.
REFERENCE_TABLES = frozenset({"alembic_version", "divisions"})
# gzip at level 6: a SQLite file shrinks several-fold for about a second per 20 MB (docs/backups.md).
COMPRESS_LEVEL = 6
CHUNK = 1 << 20
# URL query options that have a libpq environment variable; any other option is refused, not dropped.
LIBPQ_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
}


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is one line for the administrator."""


@dataclass(frozen=True)
class Facts:
    """What a database holds, counted in one snapshot."""

    tables: dict[str, int]
    revision: list[str]
    head_seq: int
    head_digest: str
    audit_ok: bool
    audit_problem: str | None = None


@dataclass(frozen=True)
class Manifest:
    """The claims a backup makes about itself, each checked again on restore."""

    engine: str
    created_at: str
    fairengage_version: str
    facts: Facts
    size: int
    sha256: str
    integrity: str = "ok"

    @property
    def member(self) -> str:
        """The archive member holding the database."""
        return MEMBERS[self.engine]

    def to_json(self) -> bytes:
        """The manifest as the UTF-8 JSON stored first in the archive."""
        body = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "fairengage_version": self.fairengage_version,
            "engine": self.engine,
            "alembic_revision": self.facts.revision,
            "tables": self.facts.tables,
            "audit": {
                "head_seq": self.facts.head_seq,
                "head_digest": self.facts.head_digest,
                "verified": self.facts.audit_ok,
                "problem": self.facts.audit_problem,
            },
            "integrity": self.integrity,
            "database": {"member": self.member, "bytes": self.size, "sha256": self.sha256},
        }
        return json.dumps(body, indent=2, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, source: Path) -> Manifest:
        """Read a manifest, refusing any other format or a newer version of this one."""
        try:
            body = json.loads(raw.decode("utf-8"))
            if body.get("format") != FORMAT:
                raise BackupError(f"{source} is not a FairEngage backup")
            if body["format_version"] != FORMAT_VERSION:
                raise BackupError(
                    f"{source} is backup format {body['format_version']}; "
                    f"this FairEngage reads format {FORMAT_VERSION}"
                )
            trail = body["audit"]
            database = body["database"]
            manifest = cls(
                engine=body["engine"],
                created_at=body["created_at"],
                fairengage_version=body["fairengage_version"],
                facts=Facts(
                    tables={str(k): int(v) for k, v in body["tables"].items()},
                    revision=[str(r) for r in body["alembic_revision"]],
                    head_seq=int(trail["head_seq"]),
                    head_digest=str(trail["head_digest"]),
                    audit_ok=bool(trail["verified"]),
                    audit_problem=trail["problem"],
                ),
                size=int(database["bytes"]),
                sha256=str(database["sha256"]),
                integrity=str(body["integrity"]),
            )
            if database["member"] != MEMBERS.get(manifest.engine):
                raise BackupError(f"{source}: its manifest names an unknown database {database['member']!r}")
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise BackupError(f"{source}: its manifest is unreadable") from None
        return manifest


@dataclass(frozen=True)
class BackupResult:
    """A written backup: where, how large, how long it took, and anything the administrator must see."""

    path: Path
    manifest: Manifest
    bytes_written: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore: what now holds the data, the copy kept of what it replaced, any next step."""

    target: str
    manifest: Manifest
    seconds: float
    checked: list[str]
    kept: Path | None = None
    notes: list[str] = field(default_factory=list)


# --- shared: facts, archive, files ---------------------------------------------------------------------


def count_rows(connection: Connection) -> dict[str, int]:
    """Rows in every table of the database's default schema."""
    names = sorted(inspect(connection).get_table_names())
    return {
        name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
    }


def facts_of(connection: Connection) -> Facts:
    """Counts, revision and audit head of the database the connection sees, in its current snapshot."""
    counts = count_rows(connection)
    if "alembic_version" not in counts or "audit_log" not in counts:
        raise BackupError("the database has no FairEngage schema: run `fairengage db upgrade` first")
    revision = sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    # The session joins the connection's transaction, so the chain is read in the same snapshot.
    with Session(bind=connection) as session:
        report = audit.verify(session)
        head = session.get(AuditHead, 1)
    return Facts(
        tables=counts,
        revision=revision,
        head_seq=head.seq if head else 0,
        head_digest=head.digest if head else audit.GENESIS,
        audit_ok=report.ok,
        audit_problem=None if report.ok else f"entry {report.first_bad_seq}: {report.problem}",
    )


def compare(found: Facts, claimed: Facts) -> str | None:
    """The first way a database differs from what its manifest claims, or None."""
    for name in sorted(claimed.tables.keys() | found.tables.keys()):
        if name not in found.tables:
            return f"table {name} is missing"
        if name not in claimed.tables:
            return f"table {name} is not in the manifest"
        if found.tables[name] != claimed.tables[name]:
            return (
                f"table {name} holds {found.tables[name]:,} rows; the manifest says {claimed.tables[name]:,}"
            )
    if found.revision != claimed.revision:
        return f"schema revision {found.revision}; the manifest says {claimed.revision}"
    if not found.audit_ok:
        return f"the audit log does not verify: {found.audit_problem}"
    if (found.head_seq, found.head_digest) != (claimed.head_seq, claimed.head_digest):
        return f"the audit head is entry {found.head_seq}; the manifest says entry {claimed.head_seq}"
    return None


def known_revision(revision: list[str]) -> str | None:
    """None when this code knows the revision and it is the newest; else what the administrator must do."""
    try:
        script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    except RuntimeError as exc:  # installed without its migrations folder
        raise BackupError(str(exc)) from None
    for rev in revision:
        try:
            found = script.get_revision(rev)
        except (CommandError, RevisionError):
            found = None
        if found is None:
            raise BackupError(
                f"the backup is at schema revision {rev}, which this FairEngage does not know: "
                "restore it with the release that made it"
            )
    # A migration that depends on another branch's (0014 on 0019) stands for both in alembic_version, so
    # "newest" means every head is the backup's revision or below it, not that the two lists are equal.
    reached = {found.revision for found in script.iterate_revisions(tuple(revision), "base")}
    if not set(script.get_heads()) <= reached:
        return "the backup predates this release's schema: run `fairengage db upgrade` before serving"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _staging(near: Path) -> Iterator[Path]:
    """A private folder beside `near`, on its file system so that a rename into place is atomic."""
    if not near.is_dir():
        raise BackupError(f"folder {near} does not exist")
    work = Path(tempfile.mkdtemp(prefix=".fairengage-backup-", dir=near))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_archive(out: Path, manifest: Manifest, database: Path) -> int:
    """Write manifest and database as a gzipped tar, readable by the owner only; return its size."""
    partial = out.with_name(f".{out.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with (
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0) as packed,
                tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                body = manifest.to_json()
                tar.addfile(_member(MANIFEST, len(body)), io.BytesIO(body))
                with database.open("rb") as handle:
                    tar.addfile(_member(manifest.member, manifest.size), handle)
            raw.flush()
            os.fsync(raw.fileno())
        if out.exists():
            raise BackupError(f"{out} appeared while the backup was written; nothing was overwritten")
        os.replace(partial, out)
        _fsync_dir(out.parent)
    finally:
        partial.unlink(missing_ok=True)
    return out.stat().st_size


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    return info


def read_archive(backup_file: Path, work: Path) -> tuple[Manifest, Path]:
    """Unpack the database into `work` and check it against the manifest's size and SHA-256."""
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such file")
    try:
        with tarfile.open(backup_file, mode="r:*") as tar:
            first = tar.next()
            if (
                first is None
                or first.name != MANIFEST
                or not first.isfile()
                or first.size > MAX_MANIFEST_BYTES
            ):
                raise BackupError(
                    f"{backup_file} is not a FairEngage backup (it does not start with a manifest)"
                )
            manifest = Manifest.from_json(_read_member(tar, first).read(), backup_file)
            second = tar.next()
            if second is None or second.name != manifest.member or not second.isfile():
                raise BackupError(f"{backup_file} is truncated: it holds no {manifest.member}")
            if second.size != manifest.size:
                raise BackupError(
                    f"{backup_file}: its database has {second.size:,} bytes, its manifest {manifest.size:,}"
                )
            copy = work / manifest.member
            digest = hashlib.sha256()
            source = _read_member(tar, second)
            with copy.open("wb") as handle:
                while block := source.read(CHUNK):
                    digest.update(block)
                    handle.write(block)
            if tar.next() is not None:
                raise BackupError(f"{backup_file} holds more than a manifest and a database")
            # Read to the very end so that gzip checks its length and CRC: a cut-off tail is refused too.
            while tar.fileobj is not None and tar.fileobj.read(CHUNK):
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BackupError(f"{backup_file} is damaged or truncated ({exc or type(exc).__name__})") from None
    if digest.hexdigest() != manifest.sha256:
        raise BackupError(
            f"{backup_file}: its database's SHA-256 is not its manifest's: the file was altered or damaged"
        )
    return manifest, copy


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    handle = tar.extractfile(member)
    if handle is None:
        raise BackupError(f"{member.name} is not a file")
    return handle


def _engine_kind(database_url: str) -> tuple[str, URL]:
    url = make_url(normalise_url(database_url))
    backend = url.get_backend_name()
    if backend not in MEMBERS:
        raise BackupError(f"backups cover SQLite and PostgreSQL, not {backend}")
    return backend, url


def _plain_engine(url: URL | str):
    # No pool and none of the service's pragmas: a backup must not switch a file's journal mode by reading it.
    return create_engine(url, poolclass=NullPool)


def _created_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- backup ----------------------------------------------------------------------------------------------


def backup(*, database_url: str, out: Path) -> BackupResult:
    """Write a verified, consistent backup of the database to `out`, which must not exist yet."""
    started = time.monotonic()
    kind, url = _engine_kind(database_url)
    out = out.absolute()
    if out.exists():
        raise BackupError(f"{out} already exists: choose a new name (backups are never overwritten)")
    with _staging(out.parent) as work:
        if kind == "sqlite":
            copy, facts, integrity = _copy_sqlite(_sqlite_path(url), work)
        else:
            copy, facts = _dump_postgres(url, work)
            integrity = "ok"
        manifest = Manifest(
            engine=kind,
            created_at=_created_now(),
            fairengage_version=fairengage.__version__,
            facts=facts,
            size=copy.stat().st_size,
            sha256=_sha256(copy),
            integrity=integrity,
        )
        size = _write_archive(out, manifest, copy)
    warnings = []
    if not facts.audit_ok:
        warnings.append(
            f"the audit log does not verify ({facts.audit_problem}); the backup keeps it as found, "
            "and restore will refuse it"
        )
    if integrity != "ok":
        warnings.append(f"SQLite's integrity check failed on the copy: {integrity}")
    return BackupResult(out, manifest, size, time.monotonic() - started, warnings)


def record_backup(database_url: str, out: Path, actor: str) -> None:
    """Log the backup about to be taken, then seal the journal: the backup holds the entry of its making.

    A backup copies every table, the persons and complainants' contact details among them, so it is a
    read of all personal information and is logged like any other (docs/auditor.md).
    """
    engine = engine_for(database_url)
    if inspect(engine).has_table("audit_log"):
        with session_factory(engine).begin() as session:
            audit.append(
                session,
                actor=actor,
                action="backup.create",
                entity="database",
                entity_id=None,
                purpose="whole-database backup",
                details={"file": str(out)},
            )
    seal_journal(database_url)


def record_restore(database_url: str, result: RestoreResult, backup_file: Path, actor: str) -> None:
    """Log a finished restore in the database it made: every record in it was copied in from a file,
    and the database it replaced may be kept beside that file."""
    engine = engine_for(database_url)
    # Pooled connections may still hold the file the restore replaced; the entry belongs in the new one.
    engine.dispose()
    with session_factory(engine).begin() as session:
        audit.append(
            session,
            actor=actor,
            action="backup.restore",
            entity="database",
            entity_id=None,
            purpose="whole-database restore",
            details={
                "file": str(backup_file),
                "taken": result.manifest.created_at,
                "kept": str(result.kept) if result.kept else None,
            },
        )
    engine.dispose()


def seal_journal(database_url: str) -> None:
    """Chain the audit entries still in the service database's journal, so a backup's head covers them."""
    # The service's own engine: sealing writes, and on SQLite takes the write lock as the service does.
    # Only ever for the service's database: any other file is read, never opened with its pragmas.
    engine = engine_for(database_url)
    if inspect(engine).has_table("audit_pending"):
        audit.seal_all(session_factory(engine))


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("FAIRENGAGE_DATABASE_URL must name a SQLite file (sqlite:///path/to/file.db)")
    return Path(url.database).absolute()


def _copy_sqlite(source: Path, work: Path) -> tuple[Path, Facts, str]:
    """Copy with SQLite's backup API in one step: one read transaction, so one consistent snapshot."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    copy = work / SQLITE_MEMBER
    # mode=rw: never create an empty database where the administrator mistyped a path.
    src = sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)
        # The copy inherits the source's WAL flag; a backup must be one self-contained file.
        dst.execute("PRAGMA journal_mode=DELETE")
        integrity = _integrity(dst)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} could not be copied: {exc}") from None
    finally:
        dst.close()
        src.close()
    return copy, _sqlite_facts(copy), integrity


def _integrity(connection: sqlite3.Connection) -> str:
    rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if rows != ["ok"]:
        return "; ".join(str(r) for r in rows[:3])
    broken = connection.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        return f"{len(broken)} rows refer to rows that do not exist (first in table {broken[0][0]})"
    return "ok"


def _sqlite_facts(path: Path) -> Facts:
    engine = _plain_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return facts_of(connection)
    except DBAPIError as exc:
        raise BackupError(f"{path.name} is not a readable SQLite database ({exc.orig})") from None
    finally:
        engine.dispose()


def _dump_postgres(url: URL, work: Path) -> tuple[Path, Facts]:
    """pg_dump in the snapshot the facts were counted in, so the manifest describes exactly the dump."""
    pg_dump = _client("pg_dump")
    dump = work / POSTGRES_MEMBER
    engine = _plain_engine(url)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                facts = facts_of(connection)
                # The exporting transaction stays open until pg_dump has finished with its snapshot.
                _run(
                    [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={dump}"],
                    _libpq_env(url),
                )
    except DBAPIError as exc:
        raise BackupError(f"cannot read the database: {_first_line(exc.orig)}") from None
    finally:
        engine.dispose()
    return dump, facts


def _client(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found on PATH: install the PostgreSQL client programs "
            "(Debian: postgresql-client) at the server's major version or newer"
        )
    return found


def _libpq_env(url: URL) -> dict[str, str]:
    """Connection details for pg_dump and pg_restore as libpq variables: no password on a command line."""
    env = dict(os.environ)
    for key, value in url.query.items():
        name = LIBPQ_OPTIONS.get(key)
        if name is None:
            raise BackupError(f"FAIRENGAGE_DATABASE_URL option {key!r} cannot be passed on to pg_dump")
        env[name] = value if isinstance(value, str) else value[-1]
    parts = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGDATABASE": url.database}
    env.update({name: str(value) for name, value in parts.items() if value})
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    # The executable was found with shutil.which; the values are this module's own.
    done = subprocess.run(  # noqa: S603  # nosec B603 # an argument list, never a shell
        command, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed (exit {done.returncode}): {_first_line(done.stderr, last=True)}")


def _first_line(message: object, *, last: bool = False) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    if not lines:
        return "no message"
    return lines[-1] if last else lines[0]


# --- restore ---------------------------------------------------------------------------------------------


def restore(*, database_url: str, backup_file: Path, force: bool = False) -> RestoreResult:
    """Verify the backup completely, then make it the database; refuse a non-empty target without force."""
    started = time.monotonic()
    kind, url = _engine_kind(database_url)
    backup_file = backup_file.absolute()
    if kind == "sqlite":
        target = _sqlite_path(url)
        staging_near = target.parent
    else:
        target = None
        staging_near = backup_file.parent
    with _staging(staging_near) as work:
        manifest, copy = read_archive(backup_file, work)
        if manifest.engine != kind:
            raise BackupError(f"{backup_file} is a {manifest.engine} backup; the database here is {kind}")
        if not manifest.facts.audit_ok:
            raise BackupError(
                f"{backup_file}: its audit log did not verify when taken ({manifest.facts.audit_problem})"
            )
        if manifest.integrity != "ok":
            raise BackupError(
                f"{backup_file}: its database failed SQLite's integrity check when it was taken"
            )
        note = known_revision(manifest.facts.revision)
        if target is not None:
            kept = _restore_sqlite(copy, manifest, target, backup_file, force)
            where = str(target)
            checked = ["SHA-256", "SQLite integrity and foreign keys", "schema", "row counts", "audit chain"]
        else:
            kept = _restore_postgres(copy, manifest, url, backup_file, force)
            where = f"PostgreSQL database {url.database}"
            checked = ["SHA-256", "pg_restore's table of contents", "schema", "row counts", "audit chain"]
    return RestoreResult(where, manifest, time.monotonic() - started, checked, kept, [note] if note else [])


def _keep_replaced(database_url: str, backup_file: Path, name: str) -> Path:
    """Back up the database about to be replaced, beside the file being restored; its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        return backup(
            database_url=database_url, out=backup_file.parent / f"{name}.before-restore-{stamp}.backup"
        ).path
    except (BackupError, OSError) as exc:
        raise BackupError(
            f"nothing was replaced: the database there could not be backed up first ({exc}); "
            "move it aside yourself, then restore again"
        ) from None


def _occupied(records: dict[str, int], where: str) -> BackupError:
    listed = ", ".join(f"{name} {n:,}" for name, n in sorted(records.items())[:4])
    more = ", …" if len(records) > 4 else ""
    return BackupError(f"{where} already holds records ({listed}{more}): give --force to replace it")


def _restore_sqlite(
    copy: Path, manifest: Manifest, target: Path, backup_file: Path, force: bool
) -> Path | None:
    try:
        check = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
        try:
            integrity = _integrity(check)
        finally:
            check.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup_file}: its database is not a readable SQLite file ({exc})") from None
    if integrity != "ok":
        raise BackupError(f"{backup_file}: SQLite's integrity check fails on its database: {integrity}")
    problem = compare(_sqlite_facts(copy), manifest.facts)
    if problem:
        raise BackupError(f"{backup_file} does not match its manifest: {problem}")
    records = _sqlite_records(target)
    if records and not force:
        raise _occupied(records, f"the database at {target}")
    _take_offline(target)
    kept = None
    if records:
        kept = _keep_replaced(f"sqlite:///{target}", backup_file, target.name)
    _swap_in(copy, target)
    return kept


def _sqlite_records(path: Path) -> dict[str, int]:
    """Rows outside the reference tables; a file that is not a FairEngage database counts as occupied."""
    if not path.exists():
        return {}
    if path.stat().st_size == 0:
        return {}
    engine = _plain_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            counts = count_rows(connection)
    except DBAPIError:
        return {"(a file that is not a SQLite database)": 1}
    finally:
        engine.dispose()
    return {name: n for name, n in counts.items() if n and name not in REFERENCE_TABLES}


def _take_offline(target: Path) -> None:
    """Fold any write-ahead log into the file and prove nobody else has it open.

    Leaving WAL mode needs the only connection to the database, so it fails while the service (or any
    other command) has it open, and it leaves no -wal or -shm file behind to be mistaken for the new one's.
    """
    if not target.exists():
        return
    connection = sqlite3.connect(f"{target.as_uri()}?mode=rw", uri=True, timeout=2, isolation_level=None)
    try:
        mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(
                f"the database at {target} is in use: stop the service and any other fairengage command first"
            ) from None
        mode = "delete"  # not a database at all (and --force was given): nothing to fold in.
    finally:
        connection.close()
    if str(mode).lower() != "delete":
        raise BackupError(f"the database at {target} is in use: stop the service first")


def _swap_in(copy: Path, target: Path) -> None:
    """Replace the target with the verified copy in one rename, durable before it returns."""
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o600
    os.chmod(copy, mode)
    with copy.open("rb+") as handle:
        os.fsync(handle.fileno())
    # Side files belong to the database being replaced (nobody has it open: see _take_offline). A stale
    # -wal beside the new file would be replayed into it on the next open.
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(copy, target)
    _fsync_dir(target.parent)


def _restore_postgres(
    dump: Path, manifest: Manifest, url: URL, backup_file: Path, force: bool
) -> Path | None:
    pg_restore = _client("pg_restore")
    env = _libpq_env(url)
    # The archive's table of contents must read back before anything is dropped.
    _run([pg_restore, "--list", f"--file={os.devnull}", str(dump)], env)
    records = _postgres_records(url)
    if records and not force:
        raise _occupied(records, f"PostgreSQL database {url.database}")
    kept = None
    if records:
        kept = _keep_replaced(url.render_as_string(hide_password=False), backup_file, str(url.database))
    _run(
        [
            pg_restore,
            "--no-password",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url.database}",
            str(dump),
        ],
        env,
    )
    engine = _plain_engine(url)
    try:
        with engine.connect() as connection:
            problem = compare(facts_of(connection), manifest.facts)
    finally:
        engine.dispose()
    if problem:
        saved = f"; the database it replaced is kept in {kept}" if kept else ""
        raise BackupError(f"restored, but the database does not match {backup_file.name}: {problem}{saved}")
    return kept


def _postgres_records(url: URL) -> dict[str, int]:
    engine = _plain_engine(url)
    try:
        with engine.connect() as connection:
            counts = count_rows(connection)
    except DBAPIError as exc:
        raise BackupError(f"cannot reach the target database: {_first_line(exc.orig)}") from None
    finally:
        engine.dispose()
    return {name: n for name, n in counts.items() if n and name not in REFERENCE_TABLES}
