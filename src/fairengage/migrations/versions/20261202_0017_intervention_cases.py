"""Intervention cases opened from analysis flags, their re-tests and supervisors' actions.

Revision ID: 0017
Revises: 0001
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intervention_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=16), nullable=False),
        sa.Column("measure", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_intervention_cases_officer_id", "intervention_cases", ["officer_id"])
    op.create_index("ix_intervention_cases_division_code", "intervention_cases", ["division_code"])
    op.create_table(
        "case_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("period_first", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_last", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("q_value", sa.Float(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("tested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["intervention_cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_tests_case_id", "case_tests", ["case_id"])
    op.create_table(
        "case_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agrees", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["intervention_cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_actions_case_id", "case_actions", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_actions_case_id", table_name="case_actions")
    op.drop_table("case_actions")
    op.drop_index("ix_case_tests_case_id", table_name="case_tests")
    op.drop_table("case_tests")
    op.drop_index("ix_intervention_cases_division_code", table_name="intervention_cases")
    op.drop_index("ix_intervention_cases_officer_id", table_name="intervention_cases")
    op.drop_table("intervention_cases")
