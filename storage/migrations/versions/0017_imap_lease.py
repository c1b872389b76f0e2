"""imap_leases: which instance reads an IMAP folder now (one at a time)

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imap_leases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("server", sa.String(length=300), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("folder", sa.String(length=500), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_leases")),
        sa.UniqueConstraint(
            "server", "username", "folder", name=op.f("uq_imap_leases_server_username_folder")
        ),
    )


def downgrade() -> None:
    op.drop_table("imap_leases")
