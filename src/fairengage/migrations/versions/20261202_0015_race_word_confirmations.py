"""A record keeps the officer's confirmation that a race word in the reason describes something else.

Revision ID: 0015
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing records made no such confirmation: false, and no words.
    with op.batch_alter_table("engagements", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("race_word_not_about_person", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("race_words_confirmed", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("race_words_confirmed")
        batch_op.drop_column("race_word_not_about_person")
