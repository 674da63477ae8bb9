"""Dispatch and body-worn camera events to reconcile with engagements; a camera video id on the engagement.

Revision ID: 0018
Revises: 0001
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_engagement_id", sa.String(length=36), nullable=True),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name="fk_external_events_officer_id_officers"
        ),
        sa.ForeignKeyConstraint(
            ["division_code"], ["divisions.code"], name="fk_external_events_division_code_divisions"
        ),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name="fk_external_events_resolved_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_external_events"),
        sa.UniqueConstraint("event_id", name="uq_external_events_event_id"),
    )
    for column in ("occurred_at", "officer_id", "division_code", "matched_engagement_id", "status"):
        op.create_index(f"ix_external_events_{column}", "external_events", [column])
    # Nullable: most engagements have no camera video, and older records never had the question.
    with op.batch_alter_table("engagements", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("bwc_video_id", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("bwc_video_id")
    for column in ("occurred_at", "officer_id", "division_code", "matched_engagement_id", "status"):
        op.drop_index(f"ix_external_events_{column}", table_name="external_events")
    op.drop_table("external_events")
