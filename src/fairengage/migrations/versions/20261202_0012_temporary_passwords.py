"""A user's password may be temporary: set by someone else, to be replaced at the next sign-in.

Revision ID: 0012
Revises: 0001
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing passwords stay as they are (not temporary): forcing every current user to change at once
    # is an administrator's choice, made per user with `users reset-password`.
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("password_temporary", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_temporary")
