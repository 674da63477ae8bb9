"""Who created, last re-roled and last re-activated each account (separation of duties).

Revision ID: 0008
Revises: 0001
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None

# Each column and the audit action whose latest entry for the account fills it on upgrade.
BACKFILL = (
    ("created_by", "user.add"),
    ("role_changed_by", "user.role"),
    ("reactivated_by", "user.reactivate"),
)

LATEST_ACTOR = (
    "UPDATE users SET {column} = (SELECT a.actor FROM audit_log a "
    "WHERE a.action = :action AND a.entity = 'user' AND a.entity_id = users.username "
    "ORDER BY a.seq DESC LIMIT 1)"
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("created_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("role_changed_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("role_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reactivated_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("reactivated_at", sa.DateTime(timezone=True), nullable=True))
    # Accounts made before this revision: the audit log already says who acted on them, so the rule
    # that an approver may not decide requests of accounts they set up holds for them too.
    for column, action in BACKFILL:
        statement = sa.text(LATEST_ACTOR.format(column=column))  # nosec B608 # a column named in BACKFILL
        op.execute(statement.bindparams(action=action))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("reactivated_at")
        batch.drop_column("reactivated_by")
        batch.drop_column("role_changed_at")
        batch.drop_column("role_changed_by")
        batch.drop_column("created_by")
