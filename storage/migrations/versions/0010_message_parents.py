"""message_parents: the parents stored messages name, to adopt a parent that arrives late

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_parents",
        sa.Column("message_row_id", sa.Integer(), nullable=False),
        sa.Column("parent_message_id", sa.String(length=1000), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_row_id"],
            ["messages.id"],
            name="fk_message_parents_message_row_id_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_row_id", "parent_message_id", name="pk_message_parents"),
    )
    op.create_index(
        "ix_message_parents_parent_mailbox", "message_parents", ["parent_message_id", "mailbox"]
    )


def downgrade() -> None:
    op.drop_index("ix_message_parents_parent_mailbox", table_name="message_parents")
    op.drop_table("message_parents")
