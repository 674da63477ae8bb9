"""An engagement's position from the officer's phone: its accuracy, and the division it falls in.

Revision ID: 0016
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: records made before have no phone position, and none is invented for them.
    with op.batch_alter_table("engagements", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("location_accuracy_m", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("division_at_location", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("division_at_location")
        batch_op.drop_column("location_accuracy_m")
