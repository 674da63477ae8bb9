"""Migrations run up and down on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from components import create_postgres_database, drop_postgres_database, postgres_server
from fairengage import migrate
from fairengage.db import normalise_url
from fairengage.models import Base


def round_trip(url: str) -> None:
    migrate.upgrade(url)
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM divisions")).scalar() == 16
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], diff
    migrate.downgrade(url, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    engine.dispose()


def test_sqlite_up_down_up(tmp_path):
    round_trip(f"sqlite:///{tmp_path / 'm.db'}")


def test_postgres_up_down_up():
    server = postgres_server()
    url = create_postgres_database(server)
    try:
        round_trip(url)
    finally:
        drop_postgres_database(server, url)
