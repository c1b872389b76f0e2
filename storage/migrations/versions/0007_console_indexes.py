"""tickets: indexes for the console's pages (status with number, created_at)

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_status")
        batch.create_index("ix_tickets_status_number", ["status", "number"])
        batch.create_index("ix_tickets_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_created_at")
        batch.drop_index("ix_tickets_status_number")
        batch.create_index("ix_tickets_status", ["status"])
