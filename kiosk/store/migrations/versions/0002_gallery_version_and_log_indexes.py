"""gallery_state: one row whose version every gallery write increments, for the
doors' cheap "has the gallery changed?"; indexes for the access log's filters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    state = op.create_table(
        "gallery_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_gallery_state_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(state, [{"id": 1, "version": 0}])
    # Counting the log by its filters without reading the rows: by decision over
    # a time window, with or without a name; by a name alone.
    op.create_index("ix_access_event_decision_time_name", "access_event", ["decision", "time", "name"],
                    unique=False)
    op.create_index("ix_access_event_name", "access_event", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_access_event_name", table_name="access_event")
    op.drop_index("ix_access_event_decision_time_name", table_name="access_event")
    op.drop_table("gallery_state")
