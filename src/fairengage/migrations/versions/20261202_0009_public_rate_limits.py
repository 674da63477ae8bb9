"""Requests to public receipt pages and complaint filings, counted for rate limits.

Revision ID: 0009
Revises: 0001
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("code_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_requests")),
    )
    with op.batch_alter_table("public_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_requests_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_public_requests_client_key"), ["client_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_public_requests_code_key"), ["code_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("public_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_requests_code_key"))
        batch_op.drop_index(batch_op.f("ix_public_requests_client_key"))
        batch_op.drop_index(batch_op.f("ix_public_requests_at"))
    op.drop_table("public_requests")
