"""watchers of tickets, the sender key the new-ticket limit counts, admin notices sent once

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BATCH = 1000


def _key(address: str) -> str:
    """The address as the limits count it: lower case, without the sub-address (as
    ``outbound.outbox.normalised_address`` at the time of this migration)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.partition('+')[0]}@{domain}"


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("requester_key", sa.String(length=320), nullable=True))
        batch.create_index("ix_tickets_requester_key_created_at", ["requester_key", "created_at"])
    # Requesters are stored in lower case: without a "+" the key is the address itself.
    op.execute("UPDATE tickets SET requester_key = requester WHERE requester NOT LIKE '%+%'")
    connection = op.get_bind()
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer),
        sa.column("requester", sa.String),
        sa.column("requester_key", sa.String),
    )
    rows = connection.execute(
        sa.select(tickets.c.id, tickets.c.requester).where(tickets.c.requester_key.is_(None))
    ).all()
    update = (
        sa.update(tickets)
        .where(tickets.c.id == sa.bindparam("ticket_id"))
        .values(requester_key=sa.bindparam("key"))
    )
    for start in range(0, len(rows), _BATCH):
        batch_rows = rows[start : start + _BATCH]
        connection.execute(
            update, [{"ticket_id": row.id, "key": _key(row.requester)} for row in batch_rows]
        )

    op.create_table(
        "watchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name="fk_watchers_ticket_id_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_watchers"),
        sa.UniqueConstraint("ticket_id", "address", name="uq_watchers_ticket_id_address"),
    )
    op.create_table(
        "admin_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_notices"),
        sa.UniqueConstraint("key", name="uq_admin_notices_key"),
    )


def downgrade() -> None:
    op.drop_table("admin_notices")
    op.drop_table("watchers")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_requester_key_created_at")
        batch.drop_column("requester_key")
