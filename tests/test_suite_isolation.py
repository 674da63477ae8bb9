"""The suite's own machinery: a test that leaves a session open fails the next test, it never stalls CI."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from components import (
    create_postgres_database,
    drop_postgres_database,
    empty_postgres_database,
    postgres_server,
)
from fairengage import migrate
from fairengage.db import engine_for, session_factory


def test_a_session_left_open_fails_the_next_test_in_seconds_instead_of_stalling_the_pass():
    # As on 2026-12-07: a test read a release through a session it never closed, and the next test on
    # that worker waited for the session's lock until CI's time ran out.
    server = postgres_server()
    url = create_postgres_database(server)
    try:
        migrate.upgrade(url)
        left_open = session_factory(engine_for(url))()
        left_open.execute(text("SELECT count(*) FROM publication_releases"))
        with pytest.raises(pytest.fail.Exception, match="a session left open by an earlier test"):
            empty_postgres_database(url, lock_timeout="1s")
        left_open.close()
        # Once it is closed, the database empties.
        empty_postgres_database(url, lock_timeout="1s")
    finally:
        drop_postgres_database(server, url)
