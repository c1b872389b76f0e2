"""participants by address (the bounce check), outbox by ticket (the customer thread)

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.create_index("ix_participants_address", ["address"])
    with op.batch_alter_table("outbox") as batch:
        batch.create_index("ix_outbox_ticket_id", ["ticket_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_ticket_id")
    with op.batch_alter_table("participants") as batch:
        batch.drop_index("ix_participants_address")
