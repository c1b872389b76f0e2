"""tickets: category, tags, team, tier, SLA pauses and fired keys, merge; round-robin cursors

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("category", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("team", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("tier", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("assigned_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("sla_paused", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("sla_fired", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("auto_close_warned_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_tickets_merged_into_id_tickets", "tickets", ["merged_into_id"], ["id"]
        )
        batch.create_index("ix_tickets_assignee", ["assignee"])
    op.create_table(
        "assignment_cursors",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team", name="pk_assignment_cursors"),
    )


def downgrade() -> None:
    op.drop_table("assignment_cursors")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_assignee")
        batch.drop_constraint("fk_tickets_merged_into_id_tickets", type_="foreignkey")
        for column in (
            "merged_into_id",
            "auto_close_warned_at",
            "sla_fired",
            "sla_paused",
            "assigned_at",
            "tier",
            "team",
            "tags",
            "category",
        ):
            batch.drop_column(column)
