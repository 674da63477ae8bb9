"""Shared fixtures: a real, migrated database per test (SQLite by default, PostgreSQL in CI), the app, factories."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from fairengage import migrate
from builders import World

from fairengage.config import Settings
from fairengage.db import engine_for, normalise_url, session_factory

REQUIRE_ALL = os.environ.get("FAIRENGAGE_REQUIRE_ALL") == "1"
# Set by .ci/run for the PostgreSQL pass: the server URL of a maintenance database.
POSTGRES_URL = os.environ.get("FAIRENGAGE_TEST_POSTGRES_URL")
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "test-secret-key-0123456789abcdef"
# Tables emptied between tests; divisions are reference data loaded by the first migration.
DATA_TABLES = ("idempotency_keys", "findings", "persons", "engagements", "api_tokens", "users",
               "training_records", "officers", "audit_log", "audit_head")


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


def create_postgres_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    name = f"fe_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return normalise_url(server_url).rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(server_url: str, url: str) -> None:
    """Drop a test database, closing our pooled connections first."""
    engine_for(url).dispose()
    name = url.rsplit("/", 1)[1]
    engine = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per test run: a SQLite file to copy, or a PostgreSQL database to empty."""
    if POSTGRES_URL:
        url = create_postgres_database(POSTGRES_URL)
        migrate.upgrade(url)
        yield url
        drop_postgres_database(POSTGRES_URL, url)
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    yield str(path)


@pytest.fixture
def database_url(_template_db: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if POSTGRES_URL:
        engine = engine_for(_template_db)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE"))
        return _template_db
    path = tmp_path / "fairengage.db"
    shutil.copyfile(_template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for a test app."""
    return Settings(database_url=database_url, secret_key=SECRET, debug=True, public_url="http://testserver")


@pytest.fixture
def sessions(settings: Settings):  # type: ignore[no-untyped-def]
    """A session factory on the test database."""
    return session_factory(engine_for(settings.database_url))


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    """The application on the test database."""
    from fairengage.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client for the app."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def world(sessions) -> World:  # type: ignore[no-untyped-def]
    """Builders on the test database."""
    return World(sessions)
