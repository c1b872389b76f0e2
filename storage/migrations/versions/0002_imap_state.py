"""imap_state: where each IMAP poller is in its folder (UIDVALIDITY and last stored UID)

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import storage.models


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imap_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("server", sa.String(length=300), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=500), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_state")),
        sa.UniqueConstraint(
            "server", "username", "folder", name=op.f("uq_imap_state_server_username_folder")
        ),
    )


def downgrade() -> None:
    op.drop_table("imap_state")
