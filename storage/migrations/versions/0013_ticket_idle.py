"""tickets: when the last message came and the ticket.idle rules fired since, indexed by
status for the idle sweep; filled in from the messages already stored

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# A person's last mail on the ticket (automated mail, kind "system", starts no idle
# period), else the ticket's creation: what intake keeps up to date from now on.
BACKFILL = """
UPDATE tickets SET last_message_at = COALESCE(
    (
        SELECT MAX(messages.created_at) FROM messages
        WHERE messages.ticket_id = tickets.id AND messages.kind <> 'system'
    ),
    tickets.created_at
)
"""


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("last_message_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("idle_fired", sa.JSON(), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("tickets") as batch:
        batch.create_index("ix_tickets_status_last_message_at", ["status", "last_message_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_status_last_message_at")
        batch.drop_column("idle_fired")
        batch.drop_column("last_message_at")
