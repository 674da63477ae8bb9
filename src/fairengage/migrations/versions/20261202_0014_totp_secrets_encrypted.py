"""Second-factor (TOTP) secrets are kept encrypted: the secrets stored in the clear are encrypted in place.

Revision ID: 0014
Revises: 0001
Depends on: 0019 (which added users.totp_secret)
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fairengage.access import totp_box
from fairengage.config import get_settings

revision = "0014"
down_revision = "0001"
branch_labels = None
depends_on = "0019"

USERS = sa.table("users", sa.column("id", sa.Integer()), sa.column("totp_secret", sa.String(64)))


def _key(count: int) -> bytes:
    # The key is the service's own: a secret encrypted under any other would never open again. Only asked
    # for when there is something to encrypt, so that a new database migrates without one.
    settings = get_settings()
    if settings.using_insecure_key:
        raise RuntimeError(
            f"FAIRENGAGE_SECRET_KEY is needed to encrypt {count} second-factor secret(s): run "
            "`fairengage db upgrade` with the settings the service runs with"
        )
    settings.require_strong_secret_key()
    return settings.secret


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(USERS.c.id, USERS.c.totp_secret).where(USERS.c.totp_secret.is_not(None)))
    clear = [(uid, secret) for uid, secret in rows if totp_box.is_clear(secret)]
    if not clear:
        return
    key = _key(len(clear))
    for uid, secret in clear:
        conn.execute(
            USERS.update().where(USERS.c.id == uid).values(totp_secret=totp_box.seal(key, uid, secret))
        )


def downgrade() -> None:
    # Back to the clear form the previous code reads; a secret that does not open is dropped (its owner
    # sets the second factor up again) rather than left unreadable to that code.
    conn = op.get_bind()
    rows = list(
        conn.execute(sa.select(USERS.c.id, USERS.c.totp_secret).where(USERS.c.totp_secret.is_not(None)))
    )
    sealed = [(uid, stored) for uid, stored in rows if not totp_box.is_clear(stored)]
    if not sealed:
        return
    key = _key(len(sealed))
    for uid, stored in sealed:
        try:
            secret: str | None = totp_box.open_sealed(key, uid, stored)
        except totp_box.UnreadableSecret:
            secret = None
        conn.execute(USERS.update().where(USERS.c.id == uid).values(totp_secret=secret))
