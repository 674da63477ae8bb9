"""Review decisions, record versions, detailed-review samples, restrictions and restricted access.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str | None = "CASCADE") -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{ref_table}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(80), nullable=False),
        sa.Column("decided_at", STAMP, nullable=False),
        _fk("review_decisions", "engagement_id", "engagements.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
    )
    op.create_index(op.f("ix_review_decisions_engagement_id"), "review_decisions", ["engagement_id"])
    op.create_table(
        "engagement_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("saved_at", STAMP, nullable=False),
        sa.Column("saved_by", sa.String(80), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        _fk("engagement_versions", "engagement_id", "engagements.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_versions")),
        sa.UniqueConstraint("engagement_id", "version", name="uq_engagement_versions_version"),
    )
    op.create_index(op.f("ix_engagement_versions_engagement_id"), "engagement_versions", ["engagement_id"])
    op.create_table(
        "review_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("drawn_at", STAMP, nullable=False),
        sa.Column("drawn_by", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_samples")),
    )
    op.create_table(
        "review_sample_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(80), nullable=True),
        sa.Column("reviewed_at", STAMP, nullable=True),
        _fk("review_sample_items", "sample_id", "review_samples.id"),
        _fk("review_sample_items", "engagement_id", "engagements.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_sample_items")),
        sa.UniqueConstraint("sample_id", "engagement_id", name="uq_review_sample_items_record"),
    )
    op.create_index(op.f("ix_review_sample_items_sample_id"), "review_sample_items", ["sample_id"])
    op.create_table(
        "restrictions",
        sa.Column("engagement_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("restricted_at", STAMP, nullable=False),
        sa.Column("restricted_by", sa.String(80), nullable=False),
        _fk("restrictions", "engagement_id", "engagements.id"),
        sa.PrimaryKeyConstraint("engagement_id", name=op.f("pk_restrictions")),
    )
    op.create_table(
        "approver_delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(120), nullable=False),
        sa.Column("granted_at", STAMP, nullable=False),
        sa.Column("revoked_at", STAMP, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _fk("approver_delegations", "user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approver_delegations")),
    )
    op.create_index(op.f("ix_approver_delegations_user_id"), "approver_delegations", ["user_id"])
    op.create_table(
        "restricted_access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.String(36), nullable=False),
        sa.Column("requested_by", sa.String(80), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("requested_at", STAMP, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("approver", sa.String(80), nullable=True),
        sa.Column("decided_at", STAMP, nullable=True),
        sa.Column("expires_at", STAMP, nullable=True),
        _fk("restricted_access_requests", "engagement_id", "engagements.id"),
        _fk("restricted_access_requests", "requester_id", "users.id", ondelete=None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restricted_access_requests")),
    )
    op.create_index(
        op.f("ix_restricted_access_requests_engagement_id"), "restricted_access_requests", ["engagement_id"]
    )
    op.create_table(
        "restricted_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.String(36), nullable=False),
        sa.Column("reader", sa.String(80), nullable=False),
        sa.Column("read_at", STAMP, nullable=False),
        sa.Column("legacy", sa.Boolean(), nullable=False),
        _fk("restricted_reads", "request_id", "restricted_access_requests.id"),
        _fk("restricted_reads", "engagement_id", "engagements.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restricted_reads")),
    )
    op.create_index(op.f("ix_restricted_reads_engagement_id"), "restricted_reads", ["engagement_id"])
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("run_at", STAMP, nullable=False),
        sa.Column("run_by", sa.String(80), nullable=False),
        sa.Column("restricted", sa.Integer(), nullable=False),
        sa.Column("destroyed", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )


def downgrade() -> None:
    for table in (
        "retention_runs",
        "restricted_reads",
        "restricted_access_requests",
        "approver_delegations",
        "restrictions",
        "review_sample_items",
        "review_samples",
        "engagement_versions",
        "review_decisions",
    ):
        op.drop_table(table)
