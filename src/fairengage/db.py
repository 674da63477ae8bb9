"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    Insert,
    MetaData,
    Table,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names so that Alembic migrations can drop them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table."""

    metadata = MetaData(naming_convention=NAMING)

    if TYPE_CHECKING:
        # Each model here maps one Table; SQLAlchemy declares `__table__` as any FromClause (a model
        # may map a join or a select), which would hide the Table that insert() and update() want.
        __table__: ClassVar[Table]


def normalise_url(url: str) -> str:
    """Route plain postgresql:// URLs to psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN, so that writers can take the lock up front.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # BEGIN IMMEDIATE takes the write lock at the start of every transaction: the audit chain
        # reads its head and appends in one transaction, and a deferred BEGIN could fail midway
        # with SQLITE_BUSY when two writers race. Readers under WAL are not blocked by it.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# SQLite names its write-ahead log and shared-memory index after the database file.
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_sqlite_file(url: str) -> Path | None:
    """Make the database file of a SQLite URL owner-only (0600); its path, or None for memory/URI forms.

    SQLite creates a missing file as 0644 less the umask, readable by every local account, and gives its
    -wal and -shm files the database file's mode. So the file is created here first, empty (SQLite takes
    an empty file as an empty database) and owner-only; files left readable by an older version are
    tightened, so that no local account can read the records (docs/security.md).
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except FileNotFoundError:
        return path  # no such folder: SQLite reports it when it connects
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            if stat.S_IMODE(companion.stat().st_mode) & 0o077:
                companion.chmod(0o600)
        except FileNotFoundError:
            continue
    return path


def make_engine(url: str) -> Engine:
    """An engine for the URL, with SQLite's pragmas or PostgreSQL's pool settings."""
    # hide_parameters: bound values (names, addresses, contact details) stay out of SQL logging and of
    # the text of database errors, which end up in tracebacks in the server's log (docs/security.md).
    url = normalise_url(url)
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory that keeps objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def create_postgres_database(server_url: str, *, prefix: str) -> str:
    """A new, empty database named `prefix` and a random suffix on the server of `server_url`; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return normalise_url(server_url).rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(server_url: str, url: str) -> None:
    """Drop a database `create_postgres_database` made, closing this process's pooled connections first."""
    engine_for(url).dispose()
    name = url.rsplit("/", 1)[1]
    engine = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def insert_or_skip(connection: Connection, table: Table, conflict_columns: tuple[str, ...]) -> Insert:
    """An INSERT that skips a row clashing on a unique key; with RETURNING, no row comes back then."""
    return _insert_or_skip(connection.dialect.name, table, conflict_columns)


@cache
def _insert_or_skip(dialect: str, table: Table, conflict_columns: tuple[str, ...]) -> Insert:
    # Both databases speak ON CONFLICT DO NOTHING; only the statement class differs by dialect.
    # Cached: statements on the recording path are built once per process.
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every stored time must carry its offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
