"""Access rules: groups of people, the groups' time windows at the doors, each
door's policy (restricted or not, anti-passback; kiosk_id "*": every door);
access_event.decision widened for the new decisions ("outside_hours",
"anti_passback", "door_forced", "remote_unlock" are longer than 10 characters).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Going down, the decisions revision 0002 cannot hold (over 10 characters)
# become codes of at most 10 that 0002 never wrote (not "denied": there it is
# an unknown face, and these rows name a person), so going up again gives
# each row back its decision.
DOWNGRADED_DECISIONS = {"outside_hours": "outside_hr", "anti_passback": "passback", "door_forced": "forced",
                        "remote_unlock": "remote"}


def _rename_decisions(renames: dict[str, str]) -> None:
    event = sa.table("access_event", sa.column("decision", sa.String))
    for old, new in renames.items():
        op.execute(event.update().where(event.c.decision == old).values(decision=new))


def upgrade() -> None:
    op.create_table(
        "access_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "door_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kiosk_id", sa.String(length=100), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("anti_passback_s", sa.Integer(), nullable=True),
        sa.CheckConstraint("anti_passback_s BETWEEN 0 AND 86400", name="ck_door_policy_anti_passback"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kiosk_id"),
    )
    op.create_table(
        "access_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kiosk_id", sa.String(length=100), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("days BETWEEN 1 AND 127", name="ck_access_window_days"),
        sa.CheckConstraint("start_minute BETWEEN 0 AND 1439 AND end_minute BETWEEN 1 AND 1440 "
                           "AND start_minute <> end_minute", name="ck_access_window_minutes"),
        sa.ForeignKeyConstraint(["group_id"], ["access_group.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_window_group_id", "access_window", ["group_id"], unique=False)
    op.create_table(
        "person_group",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["access_group.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "group_id"),
    )
    op.create_index("ix_person_group_group_id", "person_group", ["group_id"], unique=False)
    # SQLite copies the table to change a column (its indexes are made again);
    # PostgreSQL alters it in place.
    with op.batch_alter_table("access_event") as batch:
        batch.alter_column("decision", existing_type=sa.String(length=10), type_=sa.String(length=20),
                           existing_nullable=False)
    # A log that went down to 0002 and back gets its decisions back.
    _rename_decisions({short: long for long, short in DOWNGRADED_DECISIONS.items()})


def downgrade() -> None:
    """Back to 0002: the log keeps every row (the decisions too long for 0002
    as DOWNGRADED_DECISIONS, which upgrade() maps back), but the access rules
    are dropped: every group, membership, window and door policy is gone, and
    upgrading again starts with none (every door open to everyone enrolled)."""
    _rename_decisions(DOWNGRADED_DECISIONS)
    with op.batch_alter_table("access_event") as batch:
        batch.alter_column("decision", existing_type=sa.String(length=20), type_=sa.String(length=10),
                           existing_nullable=False)
    op.drop_index("ix_person_group_group_id", table_name="person_group")
    op.drop_table("person_group")
    op.drop_index("ix_access_window_group_id", table_name="access_window")
    op.drop_table("access_window")
    op.drop_table("door_policy")
    op.drop_table("access_group")
