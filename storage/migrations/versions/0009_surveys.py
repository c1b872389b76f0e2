"""surveys: one satisfaction survey per ticket and its rating; tickets by resolved/closed time

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("scale", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("first_rated_at", UTCDateTime(), nullable=True),
        sa.Column("rated_at", UTCDateTime(), nullable=True),
        sa.Column("rated_via", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name="fk_surveys_ticket_id_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_surveys"),
        sa.UniqueConstraint("ticket_id", name="uq_surveys_ticket_id"),
    )
    with op.batch_alter_table("tickets") as batch:
        batch.create_index("ix_tickets_resolved_at", ["resolved_at"])
        batch.create_index("ix_tickets_closed_at", ["closed_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_closed_at")
        batch.drop_index("ix_tickets_resolved_at")
    op.drop_table("surveys")
