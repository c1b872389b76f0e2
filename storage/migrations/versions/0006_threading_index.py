"""messages: the threading lookup's index covers Message-ID and mailbox

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_message_id")
        batch.create_index("ix_messages_message_id_mailbox", ["message_id", "mailbox"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_message_id_mailbox")
        batch.create_index("ix_messages_message_id", ["message_id"])
