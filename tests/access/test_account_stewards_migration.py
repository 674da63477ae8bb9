"""Migration 0008 fills who created, re-roled and reactivated each existing account from the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from components import POSTGRES_URL, create_postgres_database, drop_postgres_database
from fairengage import migrate
from fairengage.db import normalise_url

ENTRY = text(
    "INSERT INTO audit_log "
    "(seq, at, actor, action, entity, entity_id, purpose, details, prev_digest, digest) VALUES "
    "(:seq, '2026-01-01 00:00:00+00:00', :actor, :action, 'user', :username, 'administration', '{}', "
    "'0', '0')"
)


@pytest.mark.database  # on PostgreSQL in CI's second pass
def test_upgrade_takes_the_stewards_of_existing_accounts_from_the_audit_log(tmp_path):
    url = create_postgres_database(POSTGRES_URL) if POSTGRES_URL else f"sqlite:///{tmp_path / 'old.db'}"
    try:
        migrate.upgrade(url, "0001")
        engine = create_engine(normalise_url(url))
        with engine.begin() as conn:
            for username in ("sock", "plain"):
                conn.execute(
                    text(
                        "INSERT INTO users (username, role, active, created_at) "
                        "VALUES (:u, 'supervisor', true, '2026-01-01 00:00:00+00:00')"
                    ),
                    {"u": username},
                )
            entries = [
                ("root", "user.add", "sock"),
                ("other", "user.role", "sock"),
                ("root", "user.role", "sock"),  # the latest change of role is the one that counts
                ("helper", "user.reactivate", "sock"),
                ("root", "user.add", "someone-else"),
            ]
            for seq, (actor, action, username) in enumerate(entries, start=1):
                conn.execute(ENTRY, {"seq": seq, "actor": actor, "action": action, "username": username})
        migrate.upgrade(url)
        with engine.connect() as conn:
            rows = {
                r.username: (r.created_by, r.role_changed_by, r.reactivated_by)
                for r in conn.execute(
                    text("SELECT username, created_by, role_changed_by, reactivated_by FROM users")
                )
            }
        assert rows == {"sock": ("root", "root", "helper"), "plain": (None, None, None)}
        engine.dispose()
        migrate.downgrade(url, "0001")
    finally:
        if POSTGRES_URL:
            drop_postgres_database(POSTGRES_URL, url)
