"""The audit log's Merkle tree (complete-subtree hashes, frontier in the head) and journal MACs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_tree",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tree")),
    )
    # An existing log gets its tree on the next append or seal (audit._grow_tree catches up).
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("tree_size", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("frontier", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("audit_pending") as batch:
        batch.add_column(sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_pending") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("frontier")
        batch.drop_column("tree_size")
    op.drop_table("audit_tree")
