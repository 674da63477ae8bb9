"""The publication ledger: every release of a period's reports, its approval, correction or withdrawal.

Revision ID: 0011
Revises: 0001
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publication_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("folder", sa.String(length=40), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_by", sa.String(length=80), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=80), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("data_to", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("disclosure_ok", sa.Boolean(), nullable=False),
        sa.Column("disclosure", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["publication_releases.id"],
            name=op.f("fk_publication_releases_supersedes_id_publication_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_releases")),
        sa.UniqueConstraint("period", "version", name="uq_publication_releases_period_version"),
    )
    with op.batch_alter_table("publication_releases") as batch:
        batch.create_index(batch.f("ix_publication_releases_period"), ["period"], unique=False)
        batch.create_index(batch.f("ix_publication_releases_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publication_releases") as batch:
        batch.drop_index(batch.f("ix_publication_releases_status"))
        batch.drop_index(batch.f("ix_publication_releases_period"))
    op.drop_table("publication_releases")
