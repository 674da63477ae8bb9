"""Import batches, and each engagement's neighbourhood and import batch.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_already_present", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_batches_sha256"), ["sha256"], unique=False)

    # recreate="never": nullable columns are added in place. Rebuilding `engagements` on SQLite would
    # drop the table with foreign keys on, and the drop would cascade to findings and persons.
    with op.batch_alter_table("engagements", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("neighbourhood", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("import_batch_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_engagements_import_batch_id"), ["import_batch_id"], unique=False)


def downgrade() -> None:
    # In place as well (SQLite 3.35+ drops columns with ALTER TABLE), for the reason given above.
    with op.batch_alter_table("engagements", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagements_import_batch_id"))
        batch_op.drop_column("import_batch_id")
        batch_op.drop_column("neighbourhood")

    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batches_sha256"))
    op.drop_table("import_batches")
