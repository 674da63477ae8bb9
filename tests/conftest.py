"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL in CI), the app, builders."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from argon2 import PasswordHasher, profiles
from fastapi.testclient import TestClient
from sqlalchemy import event

from builders import World
from components import (
    POSTGRES_URL,
    create_postgres_database,
    drop_postgres_database,
    empty_postgres_database,
    missing,
)
from fairengage import migrate
from fairengage.access import passwords
from fairengage.config import Settings
from fairengage.db import engine_for, session_factory
from live import CHROMIUM_ARGS, chromium_path

# Argon2id at the service's cost (64 MiB, 3 passes) takes over a second a hash on a busy machine, and a
# second-factor enrolment hashes ten recovery codes: tests hash with argon2's cheapest parameters, which
# check the same code paths. The service's own parameters are checked by tests/access/test_passwords.py,
# and every test that runs the service in a process of its own (the wheel, the drills) uses them.
passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")

# Typer builds the command line's whole tree (every command's signature, read through inspect) on each
# CliRunner.invoke: 60 ms a call here, over a hundred calls in the quick loop. A process of the service
# builds it once; the tests build it once per app too. (The name is Typer's own: if it goes, this fails.)
typer.testing._get_command = functools.cache(typer.testing._get_command)

# The suite reads no settings file: a fairengage.toml that `make demo` left in the checkout would otherwise
# point every test at the demo database (tests of the file itself set their own).
os.environ["FAIRENGAGE_CONFIG"] = os.devnull

SECRET = "test-secret-key-0123456789abcdef"
# Seconds each test module took in a whole run of the suite (`make durations`), longest scheduled first.
DURATIONS = Path(__file__).with_name("durations.json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--write-durations",
        action="store_true",
        help=f"write each test module's seconds (setup, call and teardown) into {DURATIONS.name}",
    )


@pytest.hookimpl(tryfirst=True)  # the marks must be on before `-m` selects by them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks the suite's tests, then puts the modules that took longest last time first.

    A browser test is a slow test: `make test-fast` (`-m "not slow"`) leaves every one out.

    A test on the `database_url` fixture opens the service's database, which is PostgreSQL in the second
    pass of `.ci/run`: it is marked `database`, and that pass runs only those (`-m database`). A test
    that builds a database of its own from POSTGRES_URL carries the mark by hand.

    `make test` hands each module whole to one worker (`--dist loadscope`), so a module fixture is built
    once, and in the order collected (`--no-loadscope-reorder`). Longest first: a 13-minute module
    collected last kept one worker busy while the other sat idle (CI ran out of time on 2026-12-07).
    The order only balances the workers; a stale or missing durations.json changes no result.
    """
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.slow)
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        first.setdefault(_module(item.nodeid), i)
    items.sort(key=lambda item: (-seconds.get(_module(item.nodeid), 0.0), first[_module(item.nodeid)]))


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


_spent: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _spent[_module(report.nodeid)] = _spent.get(_module(report.nodeid), 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Under xdist the controller hears every worker's reports; a worker writes nothing.
    if not session.config.getoption("--write-durations") or hasattr(session.config, "workerinput"):
        return
    # Merged into what is there: a run of a few folders keeps the other modules' seconds.
    kept = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    kept.update({module: round(s) for module, s in _spent.items()})
    kept = {module: s for module, s in sorted(kept.items()) if s >= 1}
    DURATIONS.write_text(json.dumps(kept, indent=1) + "\n")


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
        empty_postgres_database(_template_db)
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
def app(settings: Settings) -> Iterator[Any]:
    """The application on the test database; a test fails if any SQL ran on the event loop.

    A statement on the event loop stops every other request while it runs, and while it waits for
    SQLite's write lock it waits for a request that cannot finish without the loop: both stall for the
    busy timeout (a page that never loaded, in CI). Handlers are plain functions, run on worker threads.
    """
    from fairengage.app import create_app

    app = create_app(settings)
    on_the_loop: list[str] = []

    def _watch(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if threading.current_thread() is threading.main_thread():
            return  # the test's own code (Playwright's sync API runs a loop there)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread
        on_the_loop.append(statement.split("\n")[0][:120])

    event.listen(app.state.engine, "before_cursor_execute", _watch)
    yield app
    event.remove(app.state.engine, "before_cursor_execute", _watch)
    assert not on_the_loop, f"SQL ran on the event loop: {on_the_loop[:3]}"


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client for the app."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def world(sessions) -> World:  # type: ignore[no-untyped-def]
    """Builders on the test database."""
    return World(sessions)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    path = chromium_path()
    if path is None:
        missing("Chromium", "install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()
