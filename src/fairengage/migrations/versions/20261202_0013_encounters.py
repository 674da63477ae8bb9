"""Several people, one encounter: each record may name the encounter it belongs to.

Revision ID: 0013
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No backfill: an empty encounter id means an encounter of one (the record alone), so existing
    # records keep their meaning without rewriting a large table.
    with op.batch_alter_table("engagements", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("encounter_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_engagements_encounter_id"), ["encounter_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagements_encounter_id"))
        batch_op.drop_column("encounter_id")
