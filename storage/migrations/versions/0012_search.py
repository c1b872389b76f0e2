"""ticket_text: full-text search (SQLite FTS5, PostgreSQL tsvector + GIN), built for the
messages already stored

Revision ID: 0012
Revises: 0011
"""

from alembic import op

from storage import search

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    search.create(connection)
    search.rebuild(connection)


def downgrade() -> None:
    search.drop(op.get_bind())
