"""Fixtures for the backup tests: migrated SQLite databases and a populated service database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backups.sample import Service, populate
from fairengage import migrate


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # SQLite in both CI passes: the online copy, the atomic swap and the file checks are SQLite's own.
    path = tmp_path_factory.mktemp("backups") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def empty_sqlite(_sqlite_template: Path, tmp_path: Path) -> Callable[[str], str]:
    """Make a migrated, empty SQLite database under tmp_path; its URL."""

    def make(name: str) -> str:
        path = tmp_path / name
        path.write_bytes(_sqlite_template.read_bytes())
        return f"sqlite:///{path}"

    return make


@pytest.fixture
def service(empty_sqlite: Callable[[str], str]) -> Iterator[Service]:
    """A SQLite service database with five engagements, their persons and audit entries."""
    made = populate(empty_sqlite("live.db"))
    yield made
    made.release()
