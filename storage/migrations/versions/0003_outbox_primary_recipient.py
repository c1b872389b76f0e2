"""outbox.primary_recipient for the per-address limit on automatic mail

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("primary_recipient", sa.String(length=320), nullable=True))
        batch.create_index("ix_outbox_recent_automatic", ["primary_recipient", "created_at"])
    # Rows written before this revision: their first recipient.
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("recipients", sa.JSON),
        sa.column("primary_recipient", sa.String),
    )
    connection = op.get_bind()
    for row_id, recipients in connection.execute(sa.select(outbox.c.id, outbox.c.recipients)):
        if recipients:
            connection.execute(
                outbox.update()
                .where(outbox.c.id == row_id)
                .values(primary_recipient=str(recipients[0]).lower())
            )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_recent_automatic")
        batch.drop_column("primary_recipient")
