"""Optional components of the test machine (PostgreSQL, Chromium): found, skipped, or required in CI."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from fairengage import db
from fairengage.db import normalise_url
from fairengage.models import Base

REQUIRE_ALL = os.environ.get("FAIRENGAGE_REQUIRE_ALL") == "1"
# Set by .ci/run for the PostgreSQL pass: the server URL of a maintenance database.
POSTGRES_URL = os.environ.get("FAIRENGAGE_TEST_POSTGRES_URL")
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "test-secret-key-0123456789abcdef"
# Tables a test's database keeps when it is emptied: reference data that migrations load.
REFERENCE_TABLES = frozenset({"divisions", "alembic_version"})


def missing(component: str, why: str) -> None:
    """Skip for want of a component, or fail when CI says every component must be present."""
    message = f"needs {component}: {why}"
    if REQUIRE_ALL:
        pytest.fail(message + " (FAIRENGAGE_REQUIRE_ALL=1)")
    pytest.skip(message)


def postgres_server_url() -> str | None:
    """A reachable PostgreSQL maintenance URL, or None."""
    url = POSTGRES_URL or DEFAULT_POSTGRES
    try:
        engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return url


def postgres_server() -> str:
    """The PostgreSQL server of the run, or a skip (a failure in CI) when none answers."""
    url = POSTGRES_URL or postgres_server_url()
    if url is None:
        missing("PostgreSQL", "no server answers on 127.0.0.1:5432")
    return url  # type: ignore[return-value]


def create_postgres_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    return db.create_postgres_database(server_url, prefix="fe_test")


def empty_postgres_database(
    url: str, *, keep: frozenset[str] = REFERENCE_TABLES, lock_timeout: str = "60s"
) -> None:
    """Empty every table but `keep`, failing the test if a lock is not had within `lock_timeout`.

    A session an earlier test left open keeps its locks until the garbage collector frees it, and
    TRUNCATE waits for them: on 2026-12-07 one such wait stalled CI's PostgreSQL pass until it was
    killed. A test that cannot empty its database fails instead, and says why.
    """
    with db.engine_for(url).begin() as conn:
        conn.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
        tables = [t.name for t in Base.metadata.sorted_tables if t.name not in keep]
        try:
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        except OperationalError as e:
            pytest.fail(f"a session left open by an earlier test holds a lock on the test database: {e.orig}")


def drop_postgres_database(server_url: str, url: str) -> None:
    """Drop a test database, closing our pooled connections first."""
    db.drop_postgres_database(server_url, url)
