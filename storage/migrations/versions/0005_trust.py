"""outbox: per-recipient VERP id and recipient domain; quarantine: hash of the raw bytes

Revision ID: 0005
Revises: 0004
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("recipient_domain", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("verp_id", sa.String(length=16), nullable=True))
        batch.create_index("ix_outbox_recent_domain", ["recipient_domain", "created_at"])
        batch.create_index("ix_outbox_verp_id", ["verp_id"], unique=True)
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("raw_sha256", sa.String(length=64), nullable=True))
        batch.create_index("ix_quarantine_held", ["mailbox", "raw_sha256"])
    connection = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("primary_recipient", sa.String),
        sa.column("recipient_domain", sa.String),
    )
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.primary_recipient).where(
            outbox.c.primary_recipient.is_not(None)
        )
    ).all()
    for row_id, recipient in rows:
        connection.execute(
            outbox.update()
            .where(outbox.c.id == row_id)
            .values(recipient_domain=str(recipient).rpartition("@")[2])
        )
    quarantine = sa.table(
        "quarantine",
        sa.column("id", sa.Integer),
        sa.column("raw", sa.LargeBinary),
        sa.column("raw_sha256", sa.String),
    )
    for row_id, raw in connection.execute(sa.select(quarantine.c.id, quarantine.c.raw)).all():
        connection.execute(
            quarantine.update()
            .where(quarantine.c.id == row_id)
            .values(raw_sha256=hashlib.sha256(bytes(raw or b"")).hexdigest())
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_index("ix_quarantine_held")
        batch.drop_column("raw_sha256")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_verp_id")
        batch.drop_index("ix_outbox_recent_domain")
        batch.drop_column("verp_id")
        batch.drop_column("recipient_domain")
